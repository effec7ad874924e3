#!/usr/bin/env python3
"""Every process of a rank runs where the rank is placed (issue #12, design.md §5).

The plan's OpenMP binding (KMP_AFFINITY for LLVM OpenMP, which the library preloads as libiomp5;
OMP_PROC_BIND for libgomp) binds the rank's main thread to one CPU at its first parallel region.
A process forked or spawned after that must run on the rank's whole slice again, unless a wrapper
the user put in front of it (taskset -c, numactl -C) chose its CPUs.

Each case is one meson test: DRIVER --list | CASE. Expectations come from the affinity the test
runs under (tests/support/machine.py): the rank of XEONRUN_NINSTANCES=1 has one CPU per core of
it. With a one-CPU slice the runtime cannot narrow anything: the cases then check what can be
(every process on the slice, the wrapper's CPU kept) and say so in their output.

Environment (set by meson): XP_LIB, XP_CHILDREN_PROBE (children_probe.c built with -fopenmp,
libgomp), XP_SOURCE_ROOT."""
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from case_driver import Failure, Skip, cases_in, check, clean_env, main  # noqa: E402
from machine import cpu_ids, list_text, this_machine  # noqa: E402

LIB = os.environ.get("XP_LIB", "")
PROBE = os.environ.get("XP_CHILDREN_PROBE", "")
PY_PROBE = os.path.join(HERE, "children_probe.py")
PYTHON = "/usr/bin/python3"  # Debian's python3-torch
IOMP = "/usr/lib/x86_64-linux-gnu/libiomp5.so"
TIMEOUT = 120


def slice_cpus():
    return this_machine().plan(1)[0].cpus


def run(argv, **extra):
    """argv placed as the one rank over this affinity; its "name=cpus" lines as a dict."""
    env = dict(clean_env(), LD_PRELOAD=LIB, XEONRUN_NINSTANCES="1", **extra)
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=TIMEOUT,
                       stdin=subprocess.DEVNULL)
    check(r.returncode == 0, f"{argv} exited {r.returncode}: {r.stderr}")
    ours = [l for l in r.stderr.splitlines() if l.startswith("xeonplace")]
    check(not ours, f"{argv}: the library printed without being asked: {ours}")
    lines = {}
    for text in r.stdout.splitlines():
        name, _, cpus = text.partition("=")
        lines[name] = cpu_ids(cpus)
    return lines


def expect_on(lines, name, cpus, why):
    check(name in lines, f"no {name} line in {lines}")
    check(lines[name] == sorted(cpus),
          f"{name} runs on {list_text(lines[name])}, expected {list_text(cpus)} ({why})")


def narrowed_or_note(lines, runtime):
    """The case shows widening only when the runtime bound the parent to fewer CPUs than the
    slice: required whenever the slice has two CPUs or more."""
    slice_ = slice_cpus()
    if len(slice_) < 2:
        print(f"one-CPU slice {list_text(slice_)}: the {runtime} runtime cannot narrow the parent, "
              "so widening is not observable here; checking that every process stays on it")
        return
    parent = lines.get("parent", [])
    check(set(parent) < set(slice_),
          f"the {runtime} runtime left the parent on {list_text(parent)} (slice "
          f"{list_text(slice_)}): the case would not show a child being widened")


def preflight():
    for name, path in (("XP_LIB", LIB), ("XP_CHILDREN_PROBE", PROBE)):
        if not path or not os.path.exists(path):
            raise Failure(f"{name}={path!r} does not exist (run through meson test)")
    if not this_machine().slots:
        raise Failure(f"no usable core in this affinity ({this_machine().describe()})")


# ---- C: libgomp (OMP_PROC_BIND=close) and LLVM OpenMP (KMP_AFFINITY, libiomp5 preloaded) ----

GNU = dict(XEONRUN_OMP_RUNTIME="default", XEONRUN_ALLOCATOR="default")


def need_iomp():
    if not os.path.exists(IOMP):
        raise Skip(f"{IOMP} is missing (apt-get install libomp-14-dev)")
    return {}


def c_fork(runtime, extra):
    lines = run([PROBE, "fork"], **extra)
    narrowed_or_note(lines, runtime)
    expect_on(lines, "fork_child", slice_cpus(), "a fork child runs on the rank's slice")


def c_spawn(runtime, extra):
    lines = run([PROBE, "spawn"], **extra)
    narrowed_or_note(lines, runtime)
    expect_on(lines, "child", slice_cpus(), "a posix_spawn child runs on the rank's slice")


def c_wrapper(runtime, extra, wrapper):
    if shutil.which(wrapper[0]) is None:
        raise Failure(f"{wrapper[0]} is missing (apt-get install "
                      f"{'numactl' if wrapper[0] == 'numactl' else 'util-linux'})")
    cpu = slice_cpus()[-1]
    lines = run([PROBE, "spawn", *wrapper, str(cpu)], **extra)
    narrowed_or_note(lines, runtime)
    expect_on(lines, "child", [cpu], f"`{' '.join(wrapper)} {cpu}` chose the program's CPU")


def case_libgomp_fork_child_runs_on_the_slice():
    c_fork("libgomp", GNU)


def case_libgomp_spawned_child_runs_on_the_slice():
    c_spawn("libgomp", GNU)


def case_libgomp_taskset_child_keeps_its_cpu():
    c_wrapper("libgomp", GNU, ["taskset", "-c"])


def case_libgomp_numactl_child_keeps_its_cpu():
    c_wrapper("libgomp", GNU, ["numactl", "-C"])


def case_iomp_fork_child_runs_on_the_slice():
    c_fork("LLVM OpenMP", need_iomp())


def case_iomp_spawned_child_runs_on_the_slice():
    c_spawn("LLVM OpenMP", need_iomp())


def case_iomp_taskset_child_keeps_its_cpu():
    c_wrapper("LLVM OpenMP", need_iomp(), ["taskset", "-c"])


def case_iomp_numactl_child_keeps_its_cpu():
    c_wrapper("LLVM OpenMP", need_iomp(), ["numactl", "-C"])


def case_pin_none_leaves_children_alone():
    # XEONRUN_PIN=none (run_cpu's --disable-taskset): the library sets no affinity, children's too.
    # libgomp: LLVM OpenMP itself gives a fork child the full mask (its own fork handler).
    lines = run([PROBE, "fork"], XEONRUN_PIN="none", **GNU)
    expect_on(lines, "fork_child", lines.get("parent", []), "XEONRUN_PIN=none changes nothing")


# ---- python3 with torch ----

def python(mode, *args):
    if not os.path.exists(PYTHON):
        raise Skip(f"{PYTHON} is missing (apt-get install python3-torch)")
    probe = subprocess.run([PYTHON, "-c", "import torch"], capture_output=True, env=clean_env())
    if probe.returncode != 0:
        raise Skip(f"torch is missing from {PYTHON} (apt-get install python3-torch)")
    lines = run([PYTHON, PY_PROBE, mode, *args], **need_iomp())
    narrowed_or_note(lines, "LLVM OpenMP")
    return lines


def case_python_fork_child_runs_on_the_slice():
    expect_on(python("fork"), "fork_child", slice_cpus(), "os.fork runs atfork handlers")


def case_python_subprocess_runs_on_the_slice():
    expect_on(python("subprocess"), "child", slice_cpus(), "subprocess.run: vfork and exec")


def case_python_dataloader_workers_run_on_the_slice():
    lines = python("dataloader")
    workers = [name for name in lines if name.startswith("worker_item")]
    check(len(workers) == 4, f"expected 4 items from 2 workers, got {lines}")
    for name in workers:
        expect_on(lines, name, slice_cpus(), "DataLoader workers are forked")


def case_python_taskset_child_keeps_its_cpu():
    if shutil.which("taskset") is None:
        raise Failure("taskset is missing (apt-get install util-linux)")
    cpu = slice_cpus()[-1]
    expect_on(python("taskset", str(cpu)), "child", [cpu], f"`taskset -c {cpu}` chose it")


if __name__ == "__main__":
    sys.exit(main(cases_in(globals()), preflight))
