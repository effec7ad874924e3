#!/usr/bin/env python3
"""A placed program in a PID namespace whose /proc is still the outer one (`unshare -p -f` without
--mount-proc, issue #12): /proc/self/task lists the outer namespace's thread ids, so a thread
started before placement cannot be pinned. The library must say so once, with the cause and the
fix; with a /proc of its own namespace every thread is pinned and nothing is said.

Needs root (unshare -p). Environment (set by meson): XP_LIB, XP_PROBE_C (the integration probe,
linked with early_thread.c, whose constructor starts a thread before the library places)."""
import os
import shutil
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from case_driver import clean_env  # noqa: E402

LIB = os.environ["XP_LIB"]
PROBE_C = os.environ["XP_PROBE_C"]
FIX = "unshare -p -f --mount-proc"
# Rank 1 of 2: on a machine with two or more cores its CPUs are a strict part of the inherited
# ones, so an unpinned thread is told apart from a pinned one.
RANK_ENV = {"XEONRUN_RANK": "1", "XEONRUN_NINSTANCES": "2",
            "XEONRUN_ALLOCATOR": "default", "XEONRUN_OMP_RUNTIME": "default"}


def run(prefix, program):
    # The library goes to the program only: preloaded into unshare(1) too, it would place unshare,
    # and the program, a child of a placed process, would not place itself again.
    env = dict(clean_env(), **RANK_ENV)
    return subprocess.run(prefix + ["env", f"LD_PRELOAD={LIB}"] + program, env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def values(stdout):
    return dict(l.split("=", 1) for l in stdout.splitlines() if "=" in l)


def fix_warnings(stderr):
    return [l for l in stderr.splitlines() if "warning" in l and FIX in l]


class ForeignProc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0 or not shutil.which("unshare"):
            raise unittest.SkipTest("needs root and unshare(1) for a PID namespace")
        probe = subprocess.run(["unshare", "-p", "-f", "--mount-proc", "true"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            raise unittest.SkipTest(f"cannot create a PID namespace here: {probe.stderr}")
        # The plan, from the same rank placed outside any namespace.
        plain = run([], [PROBE_C])
        if plain.returncode != 0:
            raise AssertionError(f"the probe failed outside a namespace: {plain.stderr}")
        cls.planned = values(plain.stdout)["cpus"]
        inherited = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
        if cls.planned == inherited:
            raise unittest.SkipTest("one core: rank 1 of 2 gets every CPU, nothing to tell apart")
        cls.inherited = inherited

    def test_outer_proc_gives_one_warning_with_cause_and_fix_and_pins_the_main_thread(self):
        r = run(["unshare", "-p", "-f"], [PROBE_C])
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = fix_warnings(r.stderr)
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("PID namespace", lines[0])
        self.assertEqual(values(r.stdout)["cpus"], self.planned, r.stdout)

    def test_own_proc_pins_the_early_thread_without_a_warning(self):
        r = run(["unshare", "-p", "-f", "--mount-proc"], [PROBE_C])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(fix_warnings(r.stderr), [], r.stderr)
        v = values(r.stdout)
        self.assertEqual(v["early_thread_before_placement"], "1", r.stdout)
        self.assertEqual(v["early_thread_cpus"], self.planned, r.stdout)
        self.assertEqual(v["cpus"], self.planned, r.stdout)

    def test_single_threaded_program_under_outer_proc_is_placed_silently(self):
        # Nothing was left unpinned, so nothing is worth a warning.
        r = run(["unshare", "-p", "-f"], ["/bin/true"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")


if __name__ == "__main__":
    unittest.main(verbosity=2)
