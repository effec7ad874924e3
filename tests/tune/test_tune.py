#!/usr/bin/env python3
"""xeonrun-tune (issue #16) on a fake workload whose figure depends on its placement in a known
way (fake_workload.py): it finds the best layout, resumes from its JSON, stops cleanly on SIGINT,
refuses bad arguments with one line and exit 2.

The expected best layout is derived from what xeonrun-spawn plans under the affinity the test
runs in (so it holds under `taskset -c 1` and on a 2-socket machine): T cores per rank, T the
largest divisor of a NUMA node's cores that is at most half of them (1 when there is one core).

Environment: TUNE_TOOL (the build-tree xeonrun-tune), SPAWN (xeonrun-spawn); not XEONRUN_*
names, which xeonrun-spawn would refuse as unknown variables.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from runner_env import scrub_environ  # noqa: E402

TUNE = os.environ["TUNE_TOOL"]
SPAWN = os.environ["SPAWN"]
scrub_environ()  # every xeonrun-spawn this test starts plans from a clean slate
FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_workload.py")
METRIC = "figure: ([0-9.]+)"


def plan(*flags):
    out = subprocess.run([SPAWN, "--dry-run", "--json", *flags, "--no-python", "true"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def expected_best():
    """The key the tuner must rank first (see fake_workload.py), from xeonrun-spawn's plans."""
    cores = len(plan("--ninstances", "1")["ranks"][0]["cpus"])
    nodes = plan("--throughput-mode")
    per_node = min(len(r["cpus"]) for r in nodes["ranks"])
    t = max([d for d in range(1, per_node // 2 + 1) if per_node % d == 0] or [1])
    ninstances = per_node * nodes["nranks"] // t
    assert ninstances * t <= cores
    return t, f"{ninstances}x{t} logical=off alloc=jemalloc omp=own membind=bind"


class Tune(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.results = os.path.join(self.dir, "results.json")
        self.log = os.path.join(self.dir, "ranks.log")
        self.best_cores, self.best_key = expected_best()

    def tearDown(self):
        self.tmp.cleanup()

    def argv(self, *flags, fake=()):
        return [sys.executable, TUNE, "--spawn", SPAWN, "--metric", METRIC, "--results",
                self.results, *flags, "--", sys.executable, "-S", FAKE, "--best-cores",
                str(self.best_cores), "--log", self.log, *fake]

    def tune(self, *flags):
        return subprocess.run(self.argv(*flags), capture_output=True, text=True, timeout=120)

    def timed(self, program, *flags):
        """xeonrun-tune with its wall time as the figure, on `program`."""
        return subprocess.run([sys.executable, TUNE, "--spawn", SPAWN, "--time", "--results",
                               self.results, *flags, "--", program], capture_output=True,
                              text=True, timeout=60)

    def state(self):
        with open(self.results) as f:
            return json.load(f)

    def logged(self):
        with open(self.log) as f:
            return f.read().splitlines()

    def test_finds_the_known_best_layout_and_prints_its_command(self):
        r = self.tune("--budget-runs", "60", "--repeats", "2", "--top", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [line for line in r.stdout.splitlines() if line.strip().startswith("1 ")]
        self.assertEqual(len(rows), 1, r.stdout)
        self.assertTrue(rows[0].endswith(self.best_key), r.stdout)
        best = [line for line in r.stdout.splitlines() if line.startswith("best: ")]
        self.assertEqual(len(best), 1, r.stdout)
        self.assertIn(f"--ncores-per-instance {self.best_cores} --enable-jemalloc --disable-iomp",
                      best[0])
        # the best is repeated, and the command line printed for it runs and gives its figure
        runs = [run for run in self.state()["runs"] if run["key"] == self.best_key]
        self.assertEqual(len(runs), 2)
        rerun = subprocess.run(best[0][len("best: "):], shell=True, capture_output=True,
                               text=True, timeout=60)
        self.assertEqual(rerun.returncode, 0, rerun.stderr)
        figures = [float(line.split()[-1]) for line in rerun.stdout.splitlines()]
        self.assertAlmostEqual(sum(figures), runs[0]["figure"], places=3)

    def test_coordinate_search_finds_it_too(self):
        r = self.tune("--strategy", "coordinate", "--budget-runs", "60", "--repeats", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("(coordinate search, ", r.stdout)
        rows = [line for line in r.stdout.splitlines() if line.strip().startswith("1 ")]
        self.assertTrue(rows and rows[0].endswith(self.best_key), r.stdout)
        keys = [run["key"] for run in self.state()["runs"]]
        self.assertEqual(len(keys), len(set(keys)), "a candidate ran twice")

    def test_second_run_resumes_and_reruns_no_finished_candidate(self):
        first = self.tune("--budget-runs", "3", "--repeats", "1", "--omp", "own")
        self.assertEqual(first.returncode, 0, first.stderr)
        done = [run["key"] for run in self.state()["runs"]]
        self.assertEqual(len(done), min(3, len(done)))
        self.assertGreater(len(done), 0)
        second = self.tune("--budget-runs", "60", "--repeats", "1", "--omp", "own")
        self.assertEqual(second.returncode, 0, second.stderr)
        keys = [run["key"] for run in self.state()["runs"]]
        self.assertEqual(keys[:len(done)], done)
        self.assertEqual(len(keys), len(set(keys)), "a finished candidate ran again")
        lines = [line.rsplit(" pid=", 1)[0] for line in self.logged()]
        self.assertEqual(len(lines), len(set(lines)), "a rank of a finished candidate ran again")
        self.assertIn(f"{len(keys)} runs recorded, {len(keys) - len(done)} in this session",
                      second.stdout)

    def test_another_command_in_the_results_file_exits_2(self):
        self.assertEqual(self.tune("--budget-runs", "1", "--repeats", "1").returncode, 0)
        r = self.timed("true")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertIn("--results", r.stderr)

    def test_sigint_stops_the_running_candidate_and_keeps_a_valid_json_and_table(self):
        slow = os.path.join(self.dir, "slow")
        proc = subprocess.Popen(self.argv("--budget-runs", "60", fake=["--slow-file", slow]),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
                os.path.exists(self.results) and self.state()["runs"]):
            time.sleep(0.05)
        open(slow, "w").close()
        logged = len(self.logged())
        while time.monotonic() < deadline and len(self.logged()) == logged:
            time.sleep(0.05)  # a rank of the next candidate is now sleeping
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 130, err)
        state = self.state()
        self.assertGreaterEqual(len(state["runs"]), 1)
        self.assertTrue(all(run["figure"] is not None for run in state["runs"]), state["runs"])
        self.assertIn(f"{len(state['runs'])} runs recorded", out)
        self.assertTrue(any(line.startswith("best: ") for line in out.splitlines()), out)
        for line in self.logged()[logged:]:
            pid = int(line.rsplit("pid=", 1)[1])
            self.assertFalse(os.path.exists(f"/proc/{pid}"), f"rank {pid} outlived the tuner")

    def test_bad_arguments_exit_2_with_one_line(self):
        cases = [
            [],
            ["--metric", METRIC],
            ["--", "true"],
            ["--metric", "(", "--", "true"],
            ["--metric", "no group", "--", "true"],
            ["--metric", "(a)(b)", "--", "true"],
            ["--metric", METRIC, "--time", "--", "true"],
            ["--time", "--budget-runs", "0", "--", "true"],
            ["--time", "--budget-seconds", "-1", "--", "true"],
            ["--time", "--allocators", "tcmalloc,bogus", "--", "true"],
            ["--time", "--instances", "two", "--", "true"],
            ["--time", "--bogus", "--", "true"],
            ["--time", "--results", "/nonexistent/dir/r.json", "--", "true"],
            ["--time", "--strategy", "random", "--", "true"],
        ]
        for case in cases:
            with self.subTest(case=case):
                r = subprocess.run([sys.executable, TUNE, "--spawn", SPAWN, "--results",
                                    self.results, *case], capture_output=True, text=True)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
                self.assertTrue(r.stderr.startswith("xeonrun-tune: "), r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertFalse(os.path.exists(self.results))

    def test_time_is_a_figure_lower_is_better(self):
        r = self.timed("true", "--budget-runs", "2", "--repeats", "1", "--instances", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("wall time of the run in seconds (lower is better)", r.stdout)
        figures = [run["figure"] for run in self.state()["runs"]]
        self.assertEqual(len(figures), 2)
        self.assertTrue(all(0 < f < 60 for f in figures), figures)

    def test_a_failing_program_is_ranked_failed_and_exits_1(self):
        r = self.timed("false", "--budget-runs", "1", "--repeats", "1", "--instances", "1")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("failed", r.stdout)
        self.assertNotIn("best: ", r.stdout)
        self.assertEqual([run["figure"] for run in self.state()["runs"]], [None])


if __name__ == "__main__":
    unittest.main()
