#!/usr/bin/env python3
"""Helper cores and helper threads (issue #15, docs/design.md "Helper cores and helper threads"):
a real program (helper_threads.c) creates threads one after another under XEONRUN_PIN=thread and
reports the CPUs each got. Creations whose bit is set in XEONRUN_THREAD_SKIP (likwid-pin's skip
mask) take no CPU of the round robin and run on the rank's helper cores (XEONRUN_HELPER_CORES), or
on the whole rank when it keeps none; the rank's helper cores are also out of OMP_NUM_THREADS and
given to oneCCL. Expectations come from the affinity the test runs under (tests/support/machine.py):
on one CPU a helper core leaves no compute core, and that is refused with exit status 2.

    test_helper_threads.py CASE | --list
Environment (set by meson): XP_LIB, XP_HELPER_THREADS (the built helper_threads), XP_SPAWN."""
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from case_driver import cases_in, check, clean_env, main as run_case  # noqa: E402
from machine import comma_text, this_machine  # noqa: E402

LIB = os.environ.get("XP_LIB", "")
PROGRAM = os.environ.get("XP_HELPER_THREADS", "")
SPAWN = os.environ.get("XP_SPAWN", "")
MACHINE = this_machine()
WHOLE = MACHINE.plan(1)[0].cpus  # one rank over every core: what XEONRUN_NINSTANCES=1 plans
BASE = {"XEONRUN_NINSTANCES": "1", "XEONRUN_PIN": "thread", "XEONRUN_ALLOCATOR": "default",
        "XEONRUN_OMP_RUNTIME": "default"}


def run(threads, **extra):
    env = clean_env()
    env["LD_PRELOAD"] = LIB
    env.update(BASE)
    env.update(extra)
    return subprocess.run([PROGRAM, str(threads)], env=env, capture_output=True, text=True,
                          timeout=60)


def values_of(result):
    check(result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\n"
          f"stderr: {result.stderr}")
    values = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition("=")
        values.setdefault(key, value)
    return values


def expect(values, key, wanted, why=""):
    check(values.get(key) == wanted, f"{why}{key}={values.get(key)!r}, expected {wanted!r}; "
          f"all: {values}")


def case_skipped_creations_take_no_compute_cpu():
    # Bits 0 and 2: the 1st and 3rd creations are helpers; the 2nd and 4th take the round robin's
    # next CPUs (the main thread counts as the first, likwid-pin's order).
    values = values_of(run(4, XEONRUN_THREAD_SKIP="0x5"))
    expect(values, "cpus", comma_text(WHOLE), "the main thread keeps the rank: ")
    for skipped in (0, 2):
        expect(values, f"thread{skipped}_cpus", comma_text(WHOLE), "a skipped creation: ")
    for pinned, slot in ((1, 1), (3, 2)):
        expect(values, f"thread{pinned}_cpus", str(WHOLE[slot % len(WHOLE)]),
               "a compute thread after skipped ones: ")


def case_without_a_skip_mask_every_creation_takes_the_next_cpu():
    values = values_of(run(3))
    for index in range(3):
        expect(values, f"thread{index}_cpus", str(WHOLE[(index + 1) % len(WHOLE)]))


def case_helper_cores_hold_skipped_threads_and_leave_openmp():
    result = run(2, XEONRUN_HELPER_CORES="1", XEONRUN_THREAD_SKIP="1")
    if len(WHOLE) < 2:
        # One core: keeping it for helpers would leave the rank nothing to compute on.
        check(result.returncode == 2, f"exit {result.returncode}, expected 2: {result.stderr}")
        lines = result.stderr.strip().splitlines()
        check(len(lines) == 1 and "XEONRUN_HELPER_CORES=1" in lines[0]
              and "accepted: 0..0" in lines[0], f"stderr: {result.stderr!r}")
        return
    values = values_of(result)
    helper, compute = WHOLE[-1:], WHOLE[:-1]
    expect(values, "OMP_NUM_THREADS", str(len(compute)))
    expect(values, "CCL_WORKER_COUNT", "1")
    expect(values, "CCL_WORKER_AFFINITY", str(helper[0]))
    expect(values, "api_helper_cpus", comma_text(helper))
    expect(values, "thread0_cpus", comma_text(helper), "a skipped creation: ")
    expect(values, "thread1_cpus", str(compute[1 % len(compute)]), "a compute thread: ")


def case_a_bad_skip_mask_exits_2_naming_it():
    result = run(0, XEONRUN_THREAD_SKIP="0xzz")
    check(result.returncode == 2, f"exit {result.returncode}, expected 2")
    lines = result.stderr.strip().splitlines()
    check(len(lines) == 1 and "XEONRUN_THREAD_SKIP=0xzz" in lines[0]
          and "hexadecimal" in lines[0], f"stderr: {result.stderr!r}")


def case_a_spawned_rank_is_handed_its_helper_cpus():
    # xeonrun-spawn plans, the rank's library applies the handed placement (helpers=LIST).
    env = clean_env()
    result = subprocess.run([SPAWN, "--no-python", "--ninstances", "1", "--helper-cores", "1",
                             "--use-default-allocator", "--disable-iomp", "--library", LIB, "--",
                             PROGRAM, "0"], env=env, capture_output=True, text=True, timeout=60)
    if len(WHOLE) < 2:
        check(result.returncode == 2 and "--helper-cores" in result.stderr,
              f"exit {result.returncode}, expected 2: {result.stderr!r}")
        return
    values = values_of(subprocess.CompletedProcess(
        result.args, result.returncode,
        "\n".join(line.partition("] ")[2] for line in result.stdout.splitlines()), result.stderr))
    expect(values, "XEONRUN_PLACED_HELPER_CPUS", str(WHOLE[-1]))
    expect(values, "api_helper_cpus", comma_text(WHOLE[-1:]))
    expect(values, "OMP_NUM_THREADS", str(len(WHOLE) - 1))


def case_unplaced_program_has_no_helper_cpus():
    env = clean_env()
    env["LD_PRELOAD"] = LIB
    values = values_of(subprocess.run([PROGRAM, "1"], env=env, capture_output=True, text=True,
                                      timeout=60))
    expect(values, "api_helper_cpus", "none")
    expect(values, "thread0_cpus", comma_text(MACHINE.allowed))


if __name__ == "__main__":
    sys.exit(run_case(cases_in(globals())))
