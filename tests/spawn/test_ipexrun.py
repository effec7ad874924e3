#!/usr/bin/env python3
"""xeonrun-spawn as ipexrun with real processes: where ipexrun is wrong, the spawner is right.

Each test names the ipexrun behaviour it pins down (README "From ipexrun"). The tool is invoked
through a symlink named ipexrun, as the install provides it. Ranks run with `--library ''` on a
fixture's topology unless the test is about this machine, whose expected CPUs then come from the
affinity the test runs under (so it also passes under `taskset -c 1`).

Environment (set by meson): XEONRUN_SPAWN, XEONPLACE_FIXTURES, XEONPLACE_SHIM (the built
libxeonplace.so)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True

SPAWN = os.path.abspath(os.environ["XEONRUN_SPAWN"])
FIXTURES = os.environ["XEONPLACE_FIXTURES"]
SHIM = os.environ["XEONPLACE_SHIM"]
PYTORCH_FIXTURE = "lscpu:" + os.path.join(FIXTURES, "pytorch_test_2s4c_ht.lscpu")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XEONRUN_", "OMP_", "KMP_", "GOMP_", "MALLOC_CONF"))}
    for k in ("LOCAL_RANK", "LOCAL_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
              "OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS",
              "SLURM_LOCALID", "LD_PRELOAD", "VIRTUAL_ENV", "CONDA_PREFIX"):
        env.pop(k, None)
    env.update(extra)
    return env


class IpexrunTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ipexrun-test-")
        self.ipexrun = os.path.join(self.tmp, "ipexrun")
        os.symlink(SPAWN, self.ipexrun)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_ipexrun(self, args, env=None, prefix=(), timeout=60):
        return subprocess.run(list(prefix) + [self.ipexrun] + args, capture_output=True, text=True,
                              timeout=timeout, env=env if env is not None else clean_env())

    def dry_plan(self, args, env=None, prefix=()):
        proc = self.run_ipexrun(["--dry-run", "--json"] + args + ["--no-python", "/bin/true"],
                                env=env, prefix=prefix)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return json.loads(proc.stdout)

    def test_plans_inside_the_affinity_and_cgroup_not_lscpu(self):
        # ipexrun reads lscpu only: in a container or under taskset it plans CPUs it may not use.
        allowed = sorted(os.sched_getaffinity(0))
        doc = self.dry_plan([])
        planned = [c for r in doc["ranks"] for c in r["cpus"]]
        self.assertTrue(planned)
        self.assertTrue(set(planned) <= set(allowed), f"{planned} outside {allowed}")
        one = allowed[-1]
        doc = self.dry_plan([], prefix=["taskset", "-c", str(one)])
        self.assertEqual([r["cpus"] for r in doc["ranks"]], [[one]])
        self.assertEqual(doc["ranks"][0]["env"]["OMP_NUM_THREADS"], "1")

    def test_a_failing_instance_with_log_dir_fails_the_run(self):
        # ipexrun runs `CMD 2>&1 | tee LOG` through a shell: the status is tee's, so it exits 0.
        logs = os.path.join(self.tmp, "logs")
        proc = self.run_ipexrun(
            ["--library", "", "--topology", PYTORCH_FIXTURE, "--ninstances", "2", "--log-dir",
             logs, "--no-python", "/bin/sh", "-c", 'echo out-$XEONRUN_RANK; exit 3'])
        self.assertEqual(proc.returncode, 3, proc.stderr)
        names = sorted(os.listdir(logs))
        self.assertEqual(len([n for n in names if n.endswith(".log")]), 2, names)
        with open(os.path.join(logs, [n for n in names if n.endswith(".log")][0])) as f:
            self.assertIn("out-", f.read())

    def test_log_dir_that_cannot_be_made_is_an_error(self):
        blocker = os.path.join(self.tmp, "file")
        open(blocker, "w").close()
        proc = self.run_ipexrun(["--library", "", "--topology", PYTORCH_FIXTURE, "--log-dir",
                                 os.path.join(blocker, "sub"), "--no-python", "/bin/true"])
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(blocker, proc.stderr)

    def test_arguments_reach_the_program_unchanged(self):
        # ipexrun joins the command with spaces and runs it with shell=True.
        args = ["a b", ";echo injected", "$HOME", "'q'", "*"]
        proc = self.run_ipexrun(["--library", "", "--topology", PYTORCH_FIXTURE, "--no-python",
                                 "/usr/bin/printf", "<%s>\\n"] + args)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        got = [line.split("] ", 1)[1] for line in proc.stdout.splitlines() if "] <" in line]
        self.assertEqual(got, [f"<{a}>" for a in args])

    def test_module_form_runs_the_module_with_its_arguments(self):
        # `python -m intel_extension_for_pytorch.cpu.launch` is ipexrun's module form; here -m
        # runs the user's module as `python3 -u -m MODULE ARGS`.
        with open(os.path.join(self.tmp, "probe_module.py"), "w") as f:
            f.write("import sys\nprint('module-args', sys.argv[1:])\n")
        env = clean_env(PYTHONPATH=self.tmp, PYTHON=sys.executable)
        proc = self.run_ipexrun(["--library", "", "--topology", PYTORCH_FIXTURE, "-m",
                                 "probe_module", "x y", "--flag"], env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("module-args ['x y', '--flag']", proc.stdout)

    def test_versioned_libraries_are_found(self):
        # ipexrun globs lib<X>.so only, which Debian ships in -dev packages: `auto` finds nothing.
        venv = os.path.join(self.tmp, "venv")
        os.makedirs(os.path.join(venv, "lib"))
        versioned = os.path.join(venv, "lib", "libjemalloc.so.2")
        open(versioned, "w").close()
        env = clean_env(VIRTUAL_ENV=venv)
        doc = self.dry_plan(["--topology", PYTORCH_FIXTURE, "--memory-allocator", "jemalloc"],
                            env=env)
        rank_env = doc["ranks"][0]["env"]
        self.assertEqual(rank_env["LD_PRELOAD"].split(":")[0], versioned)
        self.assertEqual(rank_env["MALLOC_CONF"],
                         "oversize_threshold:1,background_thread:true,metadata_thp:auto")
        doc = self.dry_plan(["--topology", PYTORCH_FIXTURE, "--memory-allocator", "jemalloc",
                             "--benchmark"], env=env)
        self.assertIn("dirty_decay_ms:-1", doc["ranks"][0]["env"]["MALLOC_CONF"])

    def test_too_large_ncores_per_instance_starts_nothing_and_says_so(self):
        # ipexrun: nothing fits, nothing starts, exit 0.
        proc = self.run_ipexrun(["--library", "", "--topology", PYTORCH_FIXTURE,
                                 "--ncores-per-instance", "9", "--no-python", "/bin/true"])
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--ncores-per-instance", proc.stderr)
        self.assertNotIn("[run0]", proc.stdout)

    def test_instance_idx_starts_only_those_ranks(self):
        proc = self.run_ipexrun(["--library", "", "--topology", PYTORCH_FIXTURE, "--ninstances",
                                 "4", "--instance-idx", "1,3", "--no-python", "/bin/sh", "-c",
                                 "echo rank=$XEONRUN_RANK"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(sorted(l.split("] ")[1] for l in proc.stdout.splitlines()),
                         ["rank=1", "rank=3"])

    def test_the_library_alone_plans_the_same_from_the_variables(self):
        # Every ipexrun flag is XEONRUN_* variables: the preloaded library, given the variables the
        # flags set, places each rank where the spawner's plan puts it.
        fixture = "lscpu:" + os.path.join(FIXTURES, "xeon_2s8c.lscpu")
        doc = self.dry_plan(["--topology", fixture, "--ninstances", "5", "--ncores-per-instance",
                             "2", "--instance-idx", "1-4"])
        self.assertEqual(len(doc["ranks"]), 4)
        for rank in doc["ranks"]:
            env = clean_env(XEONRUN_COMPAT="ipexrun", XEONRUN_TOPOLOGY=fixture,
                            XEONRUN_NINSTANCES="5", XEONRUN_NCORES_PER_INSTANCE="2",
                            XEONRUN_INSTANCE_IDX="1-4", XEONRUN_RANK=str(rank["rank"]),
                            XEONRUN_DRY_RUN="1", XEONRUN_LOG_LEVEL="info", LD_PRELOAD=SHIM)
            proc = subprocess.run(["/bin/true"], capture_output=True, text=True, env=env,
                                  timeout=30)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            lo, hi = rank["cpus"]  # two neighbouring cores: the library logs them as LO-HI
            self.assertEqual(hi, lo + 1)
            wanted = f"rank {rank['rank']} of 5 (XEONRUN_RANK): CPUs {lo}-{hi},"
            self.assertIn(wanted, proc.stderr)

    def test_help_lists_ipexruns_flags(self):
        proc = self.run_ipexrun(["--help"])
        self.assertEqual(proc.returncode, 0)
        for flag in ("--ncores-per-instance", "--instance-idx", "--multi-task-manager",
                     "--strategy", "--nnodes"):
            self.assertIn(flag, proc.stdout)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
