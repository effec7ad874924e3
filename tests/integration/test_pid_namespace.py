#!/usr/bin/env python3
"""A placed program in a PID namespace whose /proc is still the outer one (`unshare -p -f` without
--mount-proc, issue #12): /proc/self/task lists the outer namespace's thread ids, so a thread
started before placement cannot be pinned. The library must say so once, with the cause and the
fix; with a /proc of its own namespace every thread is pinned and nothing is said.

The rank placed is the last of an even split over the cores of the affinity the test runs under
(tests/support/machine.py): rank 1 of 2 where there are two cores, rank 0 of 1 on one core. Its
CPUs, and the warnings its plan may print, are computed from that affinity.

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
from machine import comma_text, this_machine  # noqa: E402

LIB = os.environ["XP_LIB"]
PROBE_C = os.environ["XP_PROBE_C"]
FIX = "unshare -p -f --mount-proc"
MACHINE = this_machine()
PLAN = MACHINE.plan(MACHINE.ranks_up_to(2))
# The last rank: with two or more cores its CPUs are a strict part of the inherited ones, so an
# unpinned thread is told apart from a pinned one; with one core it holds every CPU.
RANK = PLAN[len(PLAN) - 1]
PLANNED = comma_text(RANK.cpus)  # as the probe prints an affinity mask
RANK_ENV = {"XEONRUN_RANK": str(RANK.index), "XEONRUN_NINSTANCES": str(RANK.nranks),
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
        # The same rank placed outside any namespace gets the computed plan.
        plain = run([], [PROBE_C])
        if plain.returncode != 0 or values(plain.stdout).get("cpus") != PLANNED:
            raise AssertionError(f"outside a namespace, {RANK} ({MACHINE.describe()}) is not "
                                 f"placed on {PLANNED}: {plain.stdout}{plain.stderr}")

    def test_outer_proc_gives_one_warning_with_cause_and_fix_and_pins_the_main_thread(self):
        r = run(["unshare", "-p", "-f"], [PROBE_C])
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = fix_warnings(r.stderr)
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("PID namespace", lines[0])
        self.assertEqual(values(r.stdout)["cpus"], PLANNED, r.stdout)

    def test_own_proc_pins_the_early_thread_without_a_warning(self):
        # On one core the planned CPUs are the inherited ones: the early thread's pin cannot be
        # told from no pin there, and the rest (no warning, the thread predates placement) holds.
        r = run(["unshare", "-p", "-f", "--mount-proc"], [PROBE_C])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(fix_warnings(r.stderr), [], r.stderr)
        v = values(r.stdout)
        self.assertEqual(v["early_thread_before_placement"], "1", r.stdout)
        self.assertEqual(v["early_thread_cpus"], PLANNED, r.stdout)
        self.assertEqual(v["cpus"], PLANNED, r.stdout)

    def test_single_threaded_program_under_outer_proc_is_placed_silently(self):
        # Nothing was left unpinned, so nothing is worth a warning: at most the plan's own ones
        # (cores an uneven split leaves over), none where the split is even.
        r = run(["unshare", "-p", "-f"], ["/bin/true"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNone(PLAN.expected_stderr_problems(r.stderr))


if __name__ == "__main__":
    unittest.main(verbosity=2)
