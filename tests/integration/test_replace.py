#!/usr/bin/env python3
"""The rank's process tree, and what is reported is true (issue #12): real processes under the
built library, expectations derived from the affinity this test runs under (tests/support).

- A child that asks for its own rank (a container's shell entrypoint starting XEONRUN_RANK=0 app &
  XEONRUN_RANK=1 app) is placed as asked, over what its parent planned over (the allowed CPUs
  within the affinity this test runs under), not inside its parent's slice.
- xeonrun-spawn under a placed parent does the same and gives each rank its own OMP_NUM_THREADS,
  not the parent's plan's.
- A wrapper between the library and the program (taskset -c, numactl -C, chrt, nice, env, time):
  what the program is told (XEONRUN_PLACED_CPUS, OMP_NUM_THREADS) is what it has.
- A refused set_mempolicy or sched_setaffinity (a seccomp filter, as Docker's default profile
  refuses the memory-policy calls without CAP_SYS_NICE): exported and answered as refused, one
  warning naming the cause and the fix.

Environment (set by meson): XP_LIB, XP_TELL (tell.c), XP_SPAWN, XP_REFUSE (refuse_syscalls.c)."""
import os
import shutil
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from case_driver import clean_env  # noqa: E402
from machine import cgroup_machine, cpu_ids, this_machine  # noqa: E402

LIB = os.environ["XP_LIB"]
TELL = os.environ["XP_TELL"]
SPAWN = os.environ["XP_SPAWN"]
REFUSE = os.environ["XP_REFUSE"]
NO_CHAINLOAD = {"XEONRUN_ALLOCATOR": "default", "XEONRUN_OMP_RUNTIME": "default"}
TIMEOUT = 60


def run(argv, **env):
    return subprocess.run(argv, env=dict(clean_env(), **env), capture_output=True, text=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def tells(result):
    """The lines tell printed, as dicts (a spawner's tag before "tell:" is dropped)."""
    out = []
    for line in result.stdout.splitlines():
        if "tell: " in line:
            fields = line[line.index("tell: ") + len("tell: "):].split()
            out.append(dict(field.split("=", 1) for field in fields))
    return out


def cores_of(cpus):
    """How many of the machine's cores the CPUs cover (the plan's OMP_NUM_THREADS for a slice)."""
    return sum(1 for core in cgroup_machine().cores if set(core) & set(cpus))


def warnings(result, word):
    return [l for l in result.stderr.splitlines() if "warning" in l and word in l]


class Replace(unittest.TestCase):
    def assert_told_what_it_has(self, tell, context):
        has = cpu_ids(tell["affinity"])
        self.assertEqual(cpu_ids(tell["placed_cpus"]), has, f"{context}: {tell}")
        self.assertEqual(cpu_ids(tell["api_cpus"]), has, f"{context}: {tell}")
        self.assertEqual(tell["omp"], str(cores_of(has)), f"{context}: {tell}")

    def test_children_asking_for_their_own_rank_are_placed_as_asked(self):
        # The container: ENV LD_PRELOAD=... XEONRUN_NINSTANCES=n, a shell entrypoint.
        n = this_machine().ranks_up_to(2)
        apps = " & ".join(f"XEONRUN_RANK={r} {TELL}" for r in range(n))
        script = f'echo "tell: shell={this_machine().allowed_text} placed=$XEONRUN_PLACED_CPUS"; ' \
                 f"{apps}; wait"
        r = run(["sh", "-c", script], LD_PRELOAD=LIB, XEONRUN_NINSTANCES=str(n), **NO_CHAINLOAD)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = tells(r)
        self.assertEqual(len(lines), n + 1, r.stdout)
        # The shell is placed first, as rank 0 of its own plan.
        self.assertEqual(cpu_ids(lines[0]["placed"]), this_machine().plan(n)[0].cpus, r.stdout)
        # Each app is the rank it asked for, of the plan over the CPUs the shell planned over.
        self.assertEqual(sorted(int(tell["rank"]) for tell in lines[1:]), list(range(n)), r.stdout)
        plan = this_machine().plan(n)
        for tell in lines[1:]:
            rank = int(tell["rank"])
            self.assertEqual(cpu_ids(tell["affinity"]), plan[rank].cpus, f"rank {rank}: {tell}")
            self.assert_told_what_it_has(tell, f"rank {rank}")

    def test_spawn_under_a_placed_parent_plans_each_rank_afresh(self):
        n = this_machine().ranks_up_to(2)
        r = run(["sh", "-c", f"{SPAWN} --ninstances {n} --no-python {TELL}"], LD_PRELOAD=LIB,
                XEONRUN_NINSTANCES=str(n), **NO_CHAINLOAD)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = tells(r)
        self.assertEqual(len(lines), n, r.stdout + r.stderr)
        self.assertEqual(sorted(int(tell["rank"]) for tell in lines), list(range(n)), r.stdout)
        plan = this_machine().plan(n)
        for tell in lines:
            rank = int(tell["rank"])
            self.assertEqual(cpu_ids(tell["affinity"]), plan[rank].cpus, f"rank {rank}: {tell}")
            self.assert_told_what_it_has(tell, f"rank {rank}")
        self.assertEqual(warnings(r, "kept from the environment"), [], r.stderr)

    def test_a_wrapper_that_narrows_the_affinity_is_reported_as_narrowed(self):
        slice_ = this_machine().plan(1)[0].cpus
        cpu = str(slice_[-1])
        wrappers = [["taskset", "-c", cpu], ["numactl", "-C", cpu], ["chrt", "-o", "0"],
                    ["nice", "-n", "1"], ["env"], ["time", "-f", ""]]
        ran = 0
        for wrapper in wrappers:
            path = shutil.which(wrapper[0])
            if path is None:
                continue
            ran += 1
            r = run([path] + wrapper[1:] + [TELL], LD_PRELOAD=LIB, XEONRUN_NINSTANCES="1",
                    **NO_CHAINLOAD)
            self.assertEqual(r.returncode, 0, f"{wrapper}: {r.stderr}")
            (tell,) = tells(r)
            narrows = wrapper[0] in ("taskset", "numactl")
            self.assertEqual(cpu_ids(tell["affinity"]), [int(cpu)] if narrows else slice_,
                             f"{wrapper}: {tell}")
            self.assert_told_what_it_has(tell, " ".join(wrapper))
        self.assertGreater(ran, 0, "no wrapper found")

    def refused(self, calls, program, **env):
        r = run([REFUSE, calls, "env", f"LD_PRELOAD={LIB}", program], **env)
        if r.returncode == 125:
            self.skipTest(f"cannot install a seccomp filter here: {r.stderr.strip()}")
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_a_refused_memory_policy_is_reported_once_with_its_fix(self):
        # The default chain-load (a re-exec when tcmalloc or libomp is installed): the re-executed
        # image must neither claim the policy nor warn a second time.
        r = self.refused("set_mempolicy,mbind", TELL, XEONRUN_NINSTANCES="1")
        (tell,) = tells(r)
        self.assertEqual(tell["membind"], "none", tell)
        self.assertEqual(tell["api_membind"], "none", tell)
        lines = warnings(r, "set_mempolicy")
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("--cap-add SYS_NICE", lines[0])
        self.assertIn("seccomp", lines[0])

    def test_a_refused_affinity_exports_the_affinity_in_force(self):
        n = this_machine().ranks_up_to(2)
        r = self.refused("sched_setaffinity", TELL, XEONRUN_NINSTANCES=str(n),
                         XEONRUN_RANK=str(n - 1))
        (tell,) = tells(r)
        self.assertEqual(cpu_ids(tell["affinity"]), this_machine().allowed, tell)
        self.assertEqual(cpu_ids(tell["placed_cpus"]), this_machine().allowed, tell)
        self.assertEqual(cpu_ids(tell["api_cpus"]), this_machine().allowed, tell)
        self.assertEqual(len(warnings(r, "sched_setaffinity")), 1, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
