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
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from runner_env import placement_free_env  # noqa: E402

SPAWN = os.path.abspath(os.environ["XEONRUN_SPAWN"])
FIXTURES = os.environ["XEONPLACE_FIXTURES"]
SHIM = os.environ["XEONPLACE_SHIM"]
PYTORCH_FIXTURE = "lscpu:" + os.path.join(FIXTURES, "pytorch_test_2s4c_ht.lscpu")


def clean_env(**extra):
    return placement_free_env(drop=("VIRTUAL_ENV", "CONDA_PREFIX"), **extra)


def cpu_text(cpus):
    """The launcher's CPU list: runs of consecutive ids as LO-HI, a lone id as itself."""
    runs = []
    for cpu in cpus:
        if runs and cpu == runs[-1][1] + 1:
            runs[-1][1] = cpu
        else:
            runs.append([cpu, cpu])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def ipex_cores(cpus):
    """ipexrun's CPU list in its log file names: the ids when no two are consecutive, else every
    run written FIRST-LAST, a lone id included."""
    runs = cpu_text(cpus).split(",")
    if all("-" not in r for r in runs):
        return ",".join(map(str, cpus))
    return ",".join(r if "-" in r else f"{r}-{r}" for r in runs)


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
        names = sorted(n for n in os.listdir(logs) if "_instance_" in n)
        self.assertEqual(len(names), 2, names)
        # The first rank to exit 3 stops the other, which may not have printed yet: at least one
        # log holds its own rank's line, and no log holds another rank's.
        texts = {}
        for name in names:
            with open(os.path.join(logs, name)) as f:
                texts[int(name.split("_instance_")[1].split("_")[0])] = f.read()
        self.assertTrue(any(f"out-{i}" in text for i, text in texts.items()), texts)
        for i, text in texts.items():
            self.assertNotIn(f"out-{1 - i}", text, texts)

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

    def test_every_launcher_line_names_the_program_as_invoked(self):
        # argparse's "PROG: error: ..." under ipexrun's name; a bad flag still exits exactly 2.
        proc = self.run_ipexrun(["--no-such-flag", "/bin/true"])
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(proc.stderr.splitlines()[0][:len("ipexrun: error: unknown flag")],
                         "ipexrun: error: unknown flag")
        self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
        proc = self.run_ipexrun(["cpu", "--ninstances", "x", "/bin/true"])
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertTrue(proc.stderr.startswith("ipexrun: error: --ninstances: invalid value 'x'"),
                        proc.stderr)
        # The backend word chose ipexrun's meaning: the name says so, as argparse names a
        # subcommand.
        proc = subprocess.run([SPAWN, "cpu", "--no-such-flag", "/bin/true"], capture_output=True,
                              text=True, timeout=60, env=clean_env())
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertTrue(proc.stderr.startswith("xeonrun-spawn cpu: error: unknown flag"),
                        proc.stderr)
        # run_cpu's command line is unchanged.
        proc = subprocess.run([SPAWN, "--no-such-flag", "/bin/true"], capture_output=True,
                              text=True, timeout=60, env=clean_env())
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertTrue(proc.stderr.startswith("xeonrun-spawn: unknown flag"), proc.stderr)
        proc = self.run_ipexrun(["--library", "", "no-such-program-here.sh"])
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("(ipexrun --no-python ... no-such-program-here.sh)", proc.stderr)
        self.assertTrue(proc.stderr.startswith("ipexrun: error: "), proc.stderr)
        proc = self.run_ipexrun(["--library", "", "--no-python", "no-such-program-here"])
        self.assertEqual(proc.returncode, 127, proc.stderr)
        self.assertTrue(proc.stderr.startswith("ipexrun: error: program 'no-such-program-here'"),
                        proc.stderr)
        # A rank that cannot be exec'd says so from inside the rank, under the rank's tag.
        bad = os.path.join(self.tmp, "not-a-program")
        with open(bad, "wb") as f:
            f.write(b"\x7fELF not really")
        os.chmod(bad, 0o755)
        proc = self.run_ipexrun(["--library", "", "--ninstances", "1", "--no-python", bad])
        self.assertEqual(proc.returncode, 127, proc.stderr)
        self.assertIn(f"[run0] ipexrun: error: cannot run '{bad}': ", proc.stderr)
        self.assertRegex(proc.stderr, r"(?m)^ipexrun: rank 0  cpus \S+  exit 127  wall ")
        self.assertTrue(self.run_ipexrun(["--help"]).stdout.startswith("usage: ipexrun [cpu] "))
        self.assertTrue(self.run_ipexrun(["--version"]).stdout.startswith("ipexrun "))

    def test_a_run_names_ipexrun_in_its_warnings_and_rank_lines(self):
        # Three ranks on 16 cores leave one unused: a plan warning, then one line per rank.
        fixture = "lscpu:" + os.path.join(FIXTURES, "xeon_2s8c.lscpu")
        args = ["--topology", fixture, "--ninstances", "3"]
        plan = self.dry_plan(args)
        proc = self.run_ipexrun(["--library", ""] + args + ["--no-python", "/bin/true"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = proc.stderr.splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertTrue(line.startswith("ipexrun: "), line)
        self.assertTrue(any(l.startswith("ipexrun: warning: ") for l in lines), lines)
        ranks = [l for l in lines if l.startswith("ipexrun: rank ")]
        self.assertEqual(len(ranks), len(plan["ranks"]))
        for line, rank in zip(ranks, plan["ranks"]):
            self.assertRegex(line, rf"^ipexrun: rank {rank['rank']}  cpus {cpu_text(rank['cpus'])}"
                                   r"  exit 0  wall \d+\.\d{3}s$")

    def test_log_dir_files_have_ipexruns_names(self):
        # launch.py stamps --log-file-prefix with the start's local time; each instance's stdout
        # and stderr go to PREFIX_STAMP_instance_I_cores_CPUS.log (I the index in the whole plan,
        # CPUS as cpu_info.py's get_pool_txt writes them, ',' made '_'); the launcher's own lines
        # to PREFIX_STAMP_instances.log.
        logs = os.path.join(self.tmp, "logs")
        fixture = "lscpu:" + os.path.join(FIXTURES, "xeon_2s8c.lscpu")
        args = ["--topology", fixture, "--ninstances", "4", "--ncores-per-instance", "3",
                "--instance-idx", "1,3"]
        plan = self.dry_plan(args)
        before = time.time()
        proc = self.run_ipexrun(
            ["--library", ""] + args + ["--log-dir", logs + "/", "--log-file-prefix", "bench",
                                        "--no-python", "/bin/sh", "-c",
                                        "echo out-$XEONRUN_RANK; echo err-$XEONRUN_RANK >&2"])
        after = time.time()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        names = sorted(os.listdir(logs))
        stamps = {re.match(r"bench_(\d{14})_", n).group(1) for n in names}
        self.assertEqual(len(stamps), 1, names)
        stamp = stamps.pop()
        allowed = {time.strftime("%Y%m%d%H%M%S", time.localtime(t))
                   for t in range(int(before), int(after) + 1)}
        self.assertIn(stamp, allowed)
        def instance_log(r):
            cores = ipex_cores(r["cpus"]).replace(",", "_")
            return f"bench_{stamp}_instance_{r['rank']}_cores_{cores}.log"

        expected = sorted([f"bench_{stamp}_instances.log"] +
                          [instance_log(r) for r in plan["ranks"]])
        self.assertEqual([r["rank"] for r in plan["ranks"]], [1, 3])
        self.assertEqual(names, expected)
        for r in plan["ranks"]:
            with open(os.path.join(logs, instance_log(r))) as f:
                self.assertEqual(sorted(f.read().splitlines()),
                                 [f"err-{r['rank']}", f"out-{r['rank']}"])
        # The launcher's lines in IPEX's logger format (utils/_logger.py format_str): asctime -
        # filename - name - levelname - message; the name as invoked stands for the file name.
        with open(os.path.join(logs, f"bench_{stamp}_instances.log")) as f:
            launcher = f.read().splitlines()
        line_format = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d{3} - ipexrun - xeonplace - "
                                 r"(INFO|WARNING|ERROR) - (.*)$")
        parsed = [line_format.match(l) for l in launcher]
        self.assertTrue(parsed and all(parsed), launcher)
        for match in parsed:
            written = time.mktime(time.strptime(match.group(1), "%Y-%m-%d %H:%M:%S"))
            self.assertTrue(int(before) <= written <= after + 1, match.group(0))
        rank_lines = [l for l in proc.stderr.splitlines() if l.startswith("ipexrun: rank ")]
        self.assertEqual(len(rank_lines), 2)
        self.assertEqual([m.group(3) for m in parsed if m.group(2) == "INFO"],
                         [l[len("ipexrun: "):] for l in rank_lines])
        warnings = [l[len("ipexrun: warning: "):] for l in proc.stderr.splitlines()
                    if l.startswith("ipexrun: warning: ")]
        self.assertTrue(warnings, proc.stderr)  # CPUs 12-15 of the fixture are left unused
        self.assertEqual([m.group(3) for m in parsed if m.group(2) == "WARNING"], warnings)

    def test_ccl_worker_count_keeps_helper_cores_on_top_of_the_core_count(self):
        # ipexrun's distributed launcher: `ncores_per_instance += ccl_worker_count`,
        # OMP_NUM_THREADS the cores less the workers, CCL_WORKER_AFFINITY every rank's workers.
        fixture = "lscpu:" + os.path.join(FIXTURES, "xeon_2s8c.lscpu")
        doc = self.dry_plan(["--topology", fixture, "--ninstances", "2", "--ncores-per-instance",
                             "3", "--ccl-worker-count", "1"])
        self.assertEqual(len(doc["ranks"]), 2)
        workers = []
        for rank in doc["ranks"]:
            self.assertEqual(len(rank["cpus"]), 4)
            self.assertEqual(rank["helper_cpus"], rank["cpus"][-1:])
            self.assertEqual(rank["env"]["OMP_NUM_THREADS"], "3")
            self.assertEqual(rank["env"]["CCL_WORKER_COUNT"], "1")
            workers += rank["helper_cpus"]
        for rank in doc["ranks"]:
            self.assertEqual(rank["env"]["CCL_WORKER_AFFINITY"], ",".join(map(str, workers)))
        # Evenly split ranks give the workers out of their own cores; a rank keeps one to compute.
        doc = self.dry_plan(["--topology", fixture, "--ninstances", "4", "--ccl-worker-count",
                             "3"])
        for rank in doc["ranks"]:
            self.assertEqual(len(rank["cpus"]), 4)
            self.assertEqual(rank["env"]["OMP_NUM_THREADS"], "1")
        proc = self.run_ipexrun(["--dry-run", "--topology", fixture, "--ninstances", "4",
                                 "--ccl-worker-count", "4", "--no-python", "/bin/true"])
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertTrue(proc.stderr.startswith("ipexrun: error: XEONRUN_HELPER_CORES=4"),
                        proc.stderr)
        self.assertIn("--ccl-worker-count", proc.stderr)

    def test_help_lists_ipexruns_flags(self):
        proc = self.run_ipexrun(["--help"])
        self.assertEqual(proc.returncode, 0)
        for flag in ("--ncores-per-instance", "--instance-idx", "--multi-task-manager",
                     "--strategy", "--nnodes"):
            self.assertIn(flag, proc.stdout)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
