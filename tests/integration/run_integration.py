#!/usr/bin/env python3
"""Integration tests of libxeonplace.so: real programs (C, C++ with libgomp, python3) run with the
built library preloaded, and report from inside what placement they got.

    run_integration.py CASE     run one case (meson registers each as a test of suite integration)
    run_integration.py --list   print the case names

Paths come from the environment meson sets: XP_LIB, XP_ENGINE, XP_PROBE_C, XP_PROBE_OMP,
XP_PROBE_PY, XP_SOURCE_ROOT. Expected CPUs, memory nodes and thread counts come from the machine
and the affinity the driver runs under (tests/support/machine.py): cases run two ranks where this
process has two cores and one rank where it has one; a case that cannot mean anything with fewer
CPUs exits 77 (skipped, never counted as passed) and says why.

Most cases set XEONRUN_ALLOCATOR=default and XEONRUN_OMP_RUNTIME=default so that no re-exec
(issue #4) happens and the constructor's own work is what is observed; `intel_runtime_*` cases
leave the defaults on.
"""
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from case_driver import (Failure, Skip, cases_in, check,  # noqa: E402
                         clean_env as placement_free_env, main as run_case)
from machine import cgroup_machine, comma_text, cpu_ids, this_machine  # noqa: E402

MPOL_DEFAULT, MPOL_PREFERRED, MPOL_BIND, MPOL_INTERLEAVE = 0, 1, 2, 3
MPOL_PREFERRED_MANY = 5
NO_CHAINLOAD = {"XEONRUN_ALLOCATOR": "default", "XEONRUN_OMP_RUNTIME": "default"}

LIB = os.environ.get("XP_LIB", "")
ENGINE = os.environ.get("XP_ENGINE", "")
PROBE_C = os.environ.get("XP_PROBE_C", "")
PROBE_OMP = os.environ.get("XP_PROBE_OMP", "")
PROBE_PY = os.environ.get("XP_PROBE_PY", "")
SOURCE_ROOT = os.environ.get("XP_SOURCE_ROOT", "")

MACHINE = this_machine()
NRANKS = MACHINE.ranks_up_to(2)  # two ranks where there are two cores, else one
PLAN = MACHINE.plan(NRANKS)
LAST = PLAN[NRANKS - 1]  # the rank cases place when one rank is enough
ALL = MACHINE.allowed_text  # an unplaced process's CPUs, as the probes print them


def sanitizer_runtimes():
    """In a -Db_sanitize build the library needs libasan/libubsan, which must come first in the
    process: preload them ahead of it (the probes and python are not always instrumented)."""
    if not LIB:
        return []
    out = subprocess.run(["ldd", LIB], capture_output=True, text=True).stdout
    return re.findall(r"=> (\S*lib(?:asan|ubsan|tsan|lsan)\.so\S*)", out)


SANITIZERS = sanitizer_runtimes()
if SANITIZERS:
    # Leaks of python or of the test programs are not this library's; the runtime's own checks stay.
    os.environ["ASAN_OPTIONS"] = "detect_leaks=0:" + os.environ.get("ASAN_OPTIONS", "")


def preload_value(lib=None):
    return " ".join(SANITIZERS + [lib or LIB])


clean_env = placement_free_env


def run(argv, extra=None, preload=True, lib=None, **kwargs):
    env = clean_env()
    if preload:
        env["LD_PRELOAD"] = preload_value(lib)
    elif SANITIZERS:
        env["LD_PRELOAD"] = " ".join(SANITIZERS)
    env.update(extra or {})
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, **kwargs)


def parse(stdout):
    values = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep and key not in values:
            values[key] = value
    return values


def probe(argv, extra=None, expect_rc=0, **kwargs):
    result = run(argv, extra, **kwargs)
    check(result.returncode == expect_rc,
          f"{argv[0]} {extra}: exit {result.returncode}, expected {expect_rc}\n"
          f"stdout: {result.stdout}\nstderr: {result.stderr}")
    return parse(result.stdout), result


def placed(rank, nranks=NRANKS, **more):
    env = {"XEONRUN_RANK": str(rank), "XEONRUN_NINSTANCES": str(nranks)}
    env.update(NO_CHAINLOAD)
    env.update(more)
    return env


def expect(values, key, wanted, context=""):
    check(values.get(key) == wanted,
          f"{context}{key}={values.get(key)!r}, expected {wanted!r}; all: {values}")


def expect_api_matches_env(values):
    expect(values, "api_placed", "1")
    expect(values, "api_rank", values["XEONRUN_PLACED_RANK"])
    expect(values, "api_nranks", values["XEONRUN_PLACED_NRANKS"])
    expect(values, "api_cpus", expand(values["XEONRUN_PLACED_CPUS"]))
    expect(values, "api_mems", expand(values["XEONRUN_PLACED_MEMS"]))
    expect(values, "api_membind", values["XEONRUN_PLACED_MEMBIND"])


def expand(text):
    return comma_text(cpu_ids(text))


def expect_quiet(result, context=""):
    """Nothing on stderr but the warnings this machine's plan itself gives."""
    problem = PLAN.expected_stderr_problems(result.stderr)
    check(problem is None, f"{context}{problem}")


def need_two_cpus(cpus, what):
    if len(cpus) < 2:
        raise Skip(f"{what} needs two CPUs; this process may use {MACHINE.describe()}")


# ---- cases ----

def case_c_each_rank_gets_its_cpus():
    for rank in PLAN:
        values, result = probe([PROBE_C], placed(rank.index))
        expect(values, "cpus", comma_text(rank.cpus), f"{rank}: ")
        expect(values, "XEONRUN_PLACED_RANK", str(rank.index))
        expect(values, "XEONRUN_PLACED_NRANKS", str(NRANKS))
        expect(values, "XEONRUN_PLACED_CPUS", rank.cpus_text)
        expect(values, "XEONRUN_PLACED_MEMS", rank.mems_text)
        expect(values, "XEONRUN_PLACED_MEMBIND", "bind")
        expect(values, "mempolicy_mode", str(MPOL_BIND))
        expect(values, "mempolicy_nodes", comma_text(rank.mems))
        expect(values, "OMP_NUM_THREADS", str(rank.threads))
        expect(values, "OMP_PROC_BIND", "close")
        expect(values, "OMP_PLACES", "cores")
        expect(values, "KMP_AFFINITY", "<unset>")
        expect_api_matches_env(values)
        expect_quiet(result)
        # Placed, the engine and hwloc are unmapped again: the program keeps only the front.
        expect(values, "engine_loaded", "0", "after placing: ")
        expect(values, "hwloc_loaded", "0", "after placing: ")
    check(engine_was_loaded(placed(0)), "LD_DEBUG=files shows no engine: the check is blind")


def case_thread_of_an_earlier_constructor_is_pinned_too():
    for rank in PLAN:
        values, _ = probe([PROBE_C], placed(rank.index))
        expect(values, "early_thread_before_placement", "1")
        expect(values, "early_thread_cpus", comma_text(rank.cpus), f"{rank}: ")


def case_cpp_openmp_rank_gets_its_cpu_and_variables():
    for rank in PLAN:
        values, _ = probe([PROBE_OMP], placed(rank.index))
        expect(values, "cpus", comma_text(rank.cpus), f"{rank}: ")
        expect(values, "OMP_NUM_THREADS", str(rank.threads))
        expect(values, "OMP_PROC_BIND", "close")
        expect(values, "OMP_PLACES", "cores")
        expect(values, "XEONRUN_PLACED_CPUS", rank.cpus_text)
        # libgomp read its variables before the constructor (design.md §6-§7; issue #4 re-execs for
        # that), but every thread it starts inherits the rank's CPUs.
        threads = [v for k, v in values.items() if k.startswith("omp_thread")]
        check(threads and all(cpus == comma_text(rank.cpus) for cpus in threads),
              f"{rank}: OpenMP threads on {threads}")
    # That it came too late for the linked libgomp is said at debug level.
    _, result = probe([PROBE_OMP], placed(0, XEONRUN_LOG_LEVEL="debug"))
    check(re.search(r"debug: \S*libgomp\.so\S* was loaded before this constructor", result.stderr),
          f"no debug line about libgomp: {result.stderr!r}")
    _, result = probe([PROBE_OMP], placed(0))
    expect_quiet(result)


def case_python_rank_gets_its_cpu_and_the_c_api_answers():
    for rank in PLAN:
        values, _ = probe([sys.executable, PROBE_PY], placed(rank.index))
        expect(values, "cpus", comma_text(rank.cpus), f"{rank}: ")
        expect(values, "OMP_NUM_THREADS", str(rank.threads))
        expect_api_matches_env(values)


def case_python_loading_the_library_late_places_the_process_then():
    script = ("import ctypes, os\n"
              "before = sorted(os.sched_getaffinity(0))\n"
              f"lib = ctypes.CDLL({LIB!r})\n"
              "print('before=' + ','.join(map(str, before)))\n"
              "print('after=' + ','.join(map(str, sorted(os.sched_getaffinity(0)))))\n"
              "print(f'api_rank={lib.xeonplace_rank()}')\n")
    values, _ = probe([sys.executable, "-c", script], placed(LAST.index), preload=False)
    expect(values, "before", ALL)
    expect(values, "after", comma_text(LAST.cpus))
    expect(values, "api_rank", str(LAST.index))


def case_intel_runtime_variables_are_exported():
    # The defaults: Intel/LLVM OpenMP (a re-exec may load it; the variables are the same).
    extra = placed(LAST.index)
    del extra["XEONRUN_OMP_RUNTIME"]
    values, _ = probe([PROBE_C], extra)
    expect(values, "cpus", comma_text(LAST.cpus))
    expect(values, "OMP_NUM_THREADS", str(LAST.threads))
    expect(values, "KMP_AFFINITY", "granularity=fine,compact,1,0")
    expect(values, "KMP_BLOCKTIME", "1")
    expect(values, "OMP_PROC_BIND", "<unset>")


def case_user_openmp_values_are_kept_with_a_warning():
    mine = str(PLAN[0].threads + 6)  # not the plan's
    values, result = probe([PROBE_C], placed(0, OMP_NUM_THREADS=mine))
    expect(values, "OMP_NUM_THREADS", mine)
    check(f"OMP_NUM_THREADS={mine}" in result.stderr and "warning" in result.stderr,
          f"expected a warning about OMP_NUM_THREADS, got {result.stderr!r}")


def case_membind_modes_reach_get_mempolicy():
    mems = comma_text(PLAN[0].mems)
    # preferred over several nodes is MPOL_PREFERRED_MANY, or the first node on a kernel without
    # it (src/sys/mempolicy.cpp); over one node both are MPOL_PREFERRED.
    preferred = {(MPOL_PREFERRED, str(PLAN[0].mems[0]))}
    if len(PLAN[0].mems) > 1:
        preferred.add((MPOL_PREFERRED_MANY, mems))
    wanted = {"bind": {(MPOL_BIND, mems)}, "preferred": preferred,
              "interleave": {(MPOL_INTERLEAVE, mems)}, "none": {(MPOL_DEFAULT, "")}}
    for membind, accepted in wanted.items():
        values, _ = probe([PROBE_C], placed(0, XEONRUN_MEMBIND=membind))
        seen = (int(values["mempolicy_mode"]), values["mempolicy_nodes"])
        check(seen in accepted, f"{membind}: mode and nodes {seen}, expected one of {accepted}")
        expect(values, "XEONRUN_PLACED_MEMBIND", membind)
        expect(values, "api_membind", membind)


PIN_THREAD = {"XEONRUN_NINSTANCES": "1", "XEONRUN_PIN": "thread", **NO_CHAINLOAD}


def case_pin_thread_gives_each_new_thread_its_own_cpu():
    whole = MACHINE.plan(1)[0]
    values, _ = probe([PROBE_C, "threads", "2"], PIN_THREAD)
    expect(values, "XEONRUN_PLACED_CPUS", whole.cpus_text)
    expect(values, "cpus", comma_text(whole.cpus),
           "the main thread keeps the slice (OpenMP places come from it): ")
    # Round robin over the slice: the two threads on consecutive CPUs of it.
    threads = [values[k] for k in ("thread1_cpus", "thread2_cpus")]
    slots = [str(cpu) for cpu in whole.cpus]
    check(threads[0] in slots, f"thread 1 on {threads[0]}, expected one CPU of {slots}")
    following = slots[(slots.index(threads[0]) + 1) % len(slots)]
    check(threads[1] == following, f"new threads on {threads}, expected one CPU each, "
          f"round robin over {slots}")
    expect(values, "early_thread_cpus", comma_text(whole.cpus), "a thread older than the placement: ")
    expect(values, "stack_kept", "1", "the thread's own attributes survive: ")
    expect(values, "own_stack_kept", "1", "a stack the creator gave: ")


def case_pin_thread_keeps_an_affinity_the_creator_gave():
    whole = MACHINE.plan(1)[0]
    if len(whole.cpus) >= 2:
        # The probe gives its last thread the CPU of the thread before it; the round robin would
        # give it the next CPU of the slice.
        values, _ = probe([PROBE_C, "threads", "2"], PIN_THREAD)
        given = values["own_stack_thread_cpus"]
        check(given in [str(cpu) for cpu in whole.cpus], f"the thread before it ran on {given}")
    else:
        # A one-CPU slice: the round robin can only give that CPU, so the creator asks for another
        # CPU of the cgroup (a thread may leave the process's affinity, not its cpuset).
        others = [cpu for cpu in cgroup_machine().allowed if cpu not in whole.cpus]
        if not others:
            raise Skip(f"telling a kept thread affinity from the round robin's needs a second CPU "
                       f"in the affinity or the cgroup; this process may use {MACHINE.describe()}")
        given = str(others[-1])
        values, _ = probe([PROBE_C, "threads", "2"], {**PIN_THREAD, "PROBE_ATTR_CPU": given})
    expect(values, "attr_affinity_thread_cpus", given, "an affinity the creator gave: ")


def case_pin_process_puts_new_threads_on_the_rank_cpus():
    values, _ = probe([PROBE_C, "threads", "2"], placed(LAST.index))
    for key in ("thread1_cpus", "thread2_cpus"):
        expect(values, key, comma_text(LAST.cpus))


def case_pin_none_keeps_affinity_but_sets_memory_policy():
    values, _ = probe([PROBE_C], placed(LAST.index, XEONRUN_PIN="none"))
    expect(values, "cpus", ALL)
    expect(values, "mempolicy_mode", str(MPOL_BIND))
    expect(values, "XEONRUN_PLACED_CPUS", LAST.cpus_text)


def engine_was_loaded(extra):
    """Whether the dynamic linker opened the engine (it is unloaded again after placing, so the
    process's own maps cannot tell)."""
    result = run([PROBE_C], {**extra, "LD_DEBUG": "files"})
    return "libxeonplace-engine.so" in result.stderr


def untouched(values, context):
    expect(values, "cpus", ALL, context)
    expect(values, "early_thread_cpus", ALL, context)
    expect(values, "mempolicy_mode", str(MPOL_DEFAULT), context)
    for name in ("OMP_NUM_THREADS", "OMP_PROC_BIND", "XEONRUN_PLACED_RANK", "KMP_AFFINITY"):
        expect(values, name, "<unset>", context)
    expect(values, "api_placed", "0", context)
    expect(values, "api_rank", "-1", context)
    expect(values, "api_cpus", "-1", context)


def case_do_nothing_path_leaves_the_process_untouched():
    for context, extra in (("no input: ", {}),
                           ("XEONRUN_DISABLE=1: ", {"XEONRUN_DISABLE": "1", **placed(LAST.index)}),
                           ("XEONRUN_DISABLE=on: ", {"XEONRUN_DISABLE": "on",
                                                     **placed(LAST.index)})):
        values, result = probe([PROBE_C, "env"], extra)
        untouched(values, context)
        check(not engine_was_loaded(extra), f"{context}the engine must not even be loaded")
        check(result.stderr == "", f"{context}stderr {result.stderr!r}")
        # The environment the program sees is exactly the one it was given.
        given = clean_env()
        given.update(extra)
        given["LD_PRELOAD"] = preload_value()
        seen = dict(line[4:].split("=", 1) for line in result.stdout.splitlines()
                    if line.startswith("env="))
        check(seen == given, f"{context}environment changed: "
              f"{set(seen.items()) ^ set(given.items())}")


def case_child_of_a_placed_process_is_not_placed_again():
    # XEONRUN_PLACED_RANK is what a placed parent exports; the child inherits its placement.
    extra = placed(LAST.index, XEONRUN_PLACED_RANK="0", XEONRUN_PLACED_NRANKS=str(NRANKS),
                   XEONRUN_PLACED_CPUS=PLAN[0].cpus_text)
    values, _ = probe([PROBE_C], extra)
    expect(values, "cpus", ALL)
    expect(values, "XEONRUN_PLACED_CPUS", PLAN[0].cpus_text)
    check(not engine_was_loaded(extra), "a placed parent's child loaded the engine")
    # A real parent: python placed as a rank starts the C probe.
    script = f"import subprocess; subprocess.run([{PROBE_C!r}], check=True)"
    values, result = probe([sys.executable, "-c", script],
                           placed(LAST.index, XEONRUN_LOG_LEVEL="debug"))
    expect(values, "cpus", comma_text(LAST.cpus))
    expect(values, "XEONRUN_PLACED_RANK", str(LAST.index))
    check(result.stderr.count("xeonplace: info: rank") == 1,
          f"only the parent may run the engine: {result.stderr!r}")


def case_launcher_local_rank_places_without_xeonrun_variables():
    rank, size = str(LAST.index), str(NRANKS)
    for launcher in ({"LOCAL_RANK": rank, "LOCAL_WORLD_SIZE": size},
                     {"MPI_LOCALRANKID": rank, "MPI_LOCALNRANKS": size}):
        values, _ = probe([PROBE_C], {**launcher, **NO_CHAINLOAD})
        expect(values, "cpus", comma_text(LAST.cpus), f"{launcher}: ")
        expect(values, "XEONRUN_PLACED_RANK", rank)


def launcher_rank_variables():
    """kLauncherLocalRankVariables of src/core/launcher.h: the C++ side's list."""
    with open(os.path.join(SOURCE_ROOT, "src", "core", "launcher.h")) as f:
        text = f.read()
    body = text[text.index("kLauncherLocalRankVariables"):]
    return re.findall(r'"([A-Z_]+)"', body[:body.index("};")])


def case_front_acts_on_every_launcher_rank_variable_of_the_core():
    names = launcher_rank_variables()
    check(len(names) >= 4, f"could not read the launcher list: {names}")
    for name in names:
        values, _ = probe([PROBE_C], {name: "0", **NO_CHAINLOAD})
        expect(values, "XEONRUN_PLACED_RANK", "0", f"{name}=0 alone: ")
    # A global rank alone is not a local rank: nothing happens.
    values, _ = probe([PROBE_C], {"RANK": "1", "PMI_RANK": "1", "SLURM_PROCID": "1"})
    expect(values, "XEONRUN_PLACED_RANK", "<unset>")
    check(not engine_was_loaded({"RANK": "1", "PMI_RANK": "1"}), "the engine was loaded")


def case_bound_launcher_rank_is_replanned_but_taskset_is_respected():
    taskset = shutil.which("taskset")
    if taskset is None:
        raise Failure("taskset (util-linux) is needed")
    # A replaced binding is replanned over the cgroup's CPUs, not this process's affinity: the
    # case binds a rank of two to a CPU of this affinity outside that rank's slice.
    cgroup = cgroup_machine()
    need_two_cpus(cgroup.slots, "a launcher's binding outside the rank's slice")
    choices = [(rank, MACHINE.other_cpus(rank.cpus)) for rank in cgroup.plan(2)]
    rank, outside = next(((r, o) for r, o in choices if o), (None, None))
    if rank is None:
        raise Skip(f"no CPU of this process's affinity lies outside a rank's slice: "
                   f"{MACHINE.describe()}")
    cpu = str(outside[-1])
    # Open MPI's default binding of that rank could be that CPU (it says so with
    # OMPI_MCA_orte_bound_at_launch=1): replaced by the rank's slice.
    ompi = {"OMPI_COMM_WORLD_LOCAL_RANK": str(rank.index), "OMPI_COMM_WORLD_LOCAL_SIZE": "2",
            "OMPI_MCA_orte_bound_at_launch": "1", **NO_CHAINLOAD}
    # Only the probe is preloaded, not taskset (it would place itself first).
    bound = [taskset, "-c", cpu, "env", "LD_PRELOAD=" + preload_value(), PROBE_C]
    values, _ = probe(bound, ompi, preload=False)
    expect(values, "cpus", comma_text(rank.cpus),
           f"Open MPI rank {rank.index} bound to CPU {cpu}: ")
    expect(values, "early_thread_before_placement", "1")
    # The user's own taskset without a binding launcher: the plan stays inside it.
    values, _ = probe(bound, {"XEONRUN_RANK": "0", **NO_CHAINLOAD}, preload=False)
    expect(values, "cpus", cpu, f"taskset -c {cpu} with XEONRUN_RANK=0: ")
    # XEONRUN_BIND_POLICY=respect keeps the launcher's binding: the rank stays inside it.
    values, _ = probe(bound, {**ompi, "XEONRUN_BIND_POLICY": "respect"}, preload=False)
    expect(values, "cpus", cpu, "XEONRUN_BIND_POLICY=respect: ")
    expect(values, "XEONRUN_PLACED_CPUS", cpu)


# Every input variable with values its parser or the planner must refuse on this machine (the
# cases run NRANKS ranks); the last values of the first six are bad only for this machine.
TOO_MANY_CORES = str(len(MACHINE.slots) + 1)
BAD_VALUES = {
    "XEONRUN_RANK": ["-1", "x", "1.5", "", "99999999999", str(NRANKS)],  # out of range
    "XEONRUN_NINSTANCES": ["0", "abc", "", TOO_MANY_CORES],  # more ranks than cores
    "XEONRUN_NCORES_PER_INSTANCE": ["0", "two", "1,,1", "", TOO_MANY_CORES],
    "XEONRUN_CORE_LIST": ["3-1", "a", "1,", str(MACHINE.absent_cpu())],  # no such CPU
    "XEONRUN_NODE_ID": ["-1", "x", str(MACHINE.absent_node())],  # no such node
    "XEONRUN_MEM_NODES": ["x", "2-1", str(MACHINE.absent_node())],
    "XEONRUN_USE_LOGICAL_CORE": ["maybe", "2", ""],
    "XEONRUN_SKIP_CROSS_NODE_CORES": ["maybe"],
    "XEONRUN_USE_EFFICIENT_CORES": ["nope"],
    "XEONRUN_MODE": ["fast", "LATENCYY", ""],
    "XEONRUN_ALLOCATOR": ["glibc", "relative/libjemalloc.so.2"],
    "XEONRUN_OMP_RUNTIME": ["gnu", "libomp.so"],
    "XEONRUN_MEMBIND": ["bound", ""],
    "XEONRUN_PIN": ["threads", "core"],
    "XEONRUN_BIND_POLICY": ["ignore"],
    "XEONRUN_LOG_LEVEL": ["verbose", "3"],
    "XEONRUN_LOG_FILE": ["/tmp/"],
    "XEONRUN_TOPOLOGY": ["file.lscpu", "lscpu:", "lscpu:/nonexistent/x.lscpu", "synthetic:bogus"],
    "XEONRUN_DRY_RUN": ["sure"],
    "XEONRUN_ON_ERROR": ["ignore"],
    "XEONRUN_DISABLE": ["maybe"],
    "XEONRUN_NO_SUCH_VARIABLE": ["1"],  # unknown names are errors too
}


def table_variables():
    """The input variables of the options table (src/core/options.cpp), so that a new variable
    without bad-value cases here fails this test."""
    with open(os.path.join(SOURCE_ROOT, "src", "core", "options.cpp")) as f:
        return set(re.findall(r'\{"(XEONRUN_[A-Z_]+)", T::', f.read()))


def case_every_bad_value_is_one_error_line_and_exit_2():
    missing = table_variables() - set(BAD_VALUES)
    check(not missing, f"no bad-value cases for {sorted(missing)}")
    failures = []
    for variable, values in BAD_VALUES.items():
        for value in values:
            extra = {"XEONRUN_NINSTANCES": str(NRANKS), "XEONRUN_RANK": "0", **NO_CHAINLOAD,
                     variable: value}
            result = run([PROBE_C], extra)
            lines = result.stderr.splitlines()
            ok = (result.returncode == 2 and result.stdout == "" and len(lines) == 1 and
                  lines[0].startswith("xeonplace: error: ") and variable in lines[0])
            if not ok:
                failures.append(f"{variable}={value!r}: exit {result.returncode}, "
                                f"stderr {result.stderr!r}")
    check(not failures, "\n".join(failures))


def case_on_error_warn_runs_the_program_unplaced():
    for variable, value in (("XEONRUN_PIN", "threads"), ("XEONRUN_RANK", "5"),
                            ("XEONRUN_TOPOLOGY", "lscpu:/nonexistent")):
        extra = {**placed(LAST.index), variable: value, "XEONRUN_ON_ERROR": "warn"}
        values, result = probe([PROBE_C], extra)
        lines = result.stderr.splitlines()
        check(len(lines) == 1 and lines[0].startswith("xeonplace: warning: ") and
              lines[0].endswith("(running unplaced)") and variable in lines[0],
              f"{variable}={value}: stderr {result.stderr!r}")
        expect(values, "cpus", ALL)
        expect(values, "XEONRUN_PLACED_RANK", "<unset>")


def case_log_level_info_prints_one_line_per_rank():
    for rank in PLAN:
        values, result = probe([PROBE_C], placed(rank.index, XEONRUN_LOG_LEVEL="info"))
        lines = PLAN.without_own_warnings(result.stderr)
        check(len(lines) == 1, f"expected one line, got {lines}")
        line = lines[0]
        for part in ("xeonplace: info: ", f"rank {rank.index} of {NRANKS}",
                     f"CPUs {rank.cpus_text}", f"memory nodes {rank.mems_text}", "bind",
                     f"OMP_NUM_THREADS={rank.threads}", "OMP_PROC_BIND=close"):
            check(part in line, f"{part!r} not in {line!r}")
        check("xeonplace" not in result.stdout, "log lines must never reach stdout")


def case_log_file_gets_the_lines_instead_of_stderr():
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "ranks.log")
        # A thread count no rank is planned with, so that every rank warns about it.
        threads = str(max(rank.threads for rank in PLAN) + 1)
        for rank in PLAN:
            _, result = probe([PROBE_C],
                              placed(rank.index, XEONRUN_LOG_LEVEL="info", XEONRUN_LOG_FILE=log,
                                     OMP_NUM_THREADS=threads))
            check(result.stderr == "", f"stderr must stay empty, got {result.stderr!r}")
        with open(log) as f:
            lines = PLAN.without_own_warnings(f.read())
        check(len(lines) == 2 * NRANKS, f"{NRANKS} ranks x (warning + info) appended, got {lines}")
        check(sum("info: rank" in line for line in lines) == NRANKS, lines)
        mode = stat.S_IMODE(os.stat(log).st_mode)
        check(mode & 0o022 == 0, f"log file mode {oct(mode)} is group/world writable")
        # A symlink is never followed: the log goes to stderr with a warning.
        target = os.path.join(tmp, "target")
        link = os.path.join(tmp, "link.log")
        os.symlink(target, link)
        _, result = probe([PROBE_C], placed(0, XEONRUN_LOG_LEVEL="info", XEONRUN_LOG_FILE=link))
        check(not os.path.exists(target), "the symlink was followed")
        check("XEONRUN_LOG_FILE" in result.stderr and "info: rank 0" in result.stderr,
              result.stderr)


def case_log_file_errors_are_still_reported_on_stderr():
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "errors.log")
        result = run([PROBE_C], placed(0, XEONRUN_PIN="threads", XEONRUN_LOG_FILE=log))
        check(result.returncode == 2, f"exit {result.returncode}")
        check(result.stderr.startswith("xeonplace: error: XEONRUN_PIN=threads"), result.stderr)
        with open(log) as f:
            check("XEONRUN_PIN=threads" in f.read(), "the error is in the log file too")


def case_dry_run_logs_the_plan_and_changes_nothing():
    values, result = probe([PROBE_C], placed(LAST.index, XEONRUN_DRY_RUN="1"))
    untouched_but_loaded = dict(values, engine_loaded="0")
    untouched(untouched_but_loaded, "dry run: ")
    lines = PLAN.without_own_warnings(result.stderr)
    check(len(lines) == 1 and "dry run" in lines[0] and f"CPUs {LAST.cpus_text}" in lines[0],
          lines)


def case_topology_fixture_plans_another_machine_without_applying():
    fixture = os.path.join(SOURCE_ROOT, "tests", "fixtures", "pytorch_test_2s4c_ht.lscpu")
    # The fixture's rank 1 of 2, whatever this machine has.
    values, result = probe([PROBE_C], placed(1, 2, XEONRUN_TOPOLOGY="lscpu:" + fixture))
    expect(values, "cpus", ALL)
    expect(values, "XEONRUN_PLACED_RANK", "<unset>")
    check("CPUs 4-7" in result.stderr and "memory nodes 1" in result.stderr, result.stderr)


def case_xml_fixture_with_a_cpuless_node_is_planned_too():
    fixture = os.path.join(SOURCE_ROOT, "tests", "fixtures", "cpuless_hbm_node.xml")
    values, result = probe([PROBE_C], placed(1, 2, XEONRUN_TOPOLOGY="xml:" + fixture))
    expect(values, "XEONRUN_PLACED_RANK", "<unset>")
    check("rank 1 of 2" in result.stderr and "CPUs 4-7" in result.stderr and
          "memory nodes 1," in result.stderr, result.stderr)
    _, result = probe([PROBE_C], placed(1, 2, XEONRUN_TOPOLOGY="xml:" + fixture,
                                        XEONRUN_MEM_NODES="2"))
    check("memory nodes 2," in result.stderr, f"HBM node 2 asked for: {result.stderr!r}")


def case_missing_engine_warns_and_runs_unplaced():
    with tempfile.TemporaryDirectory() as tmp:
        lonely = os.path.join(tmp, "libxeonplace.so")
        shutil.copy(LIB, lonely)
        # A relative LD_PRELOAD: the engine is still looked for next to the front, not in ".".
        shutil.copy(ENGINE, os.path.join(tmp, "engine-decoy"))
        values, result = probe([PROBE_C], placed(LAST.index), lib=lonely)
        lines = result.stderr.splitlines()
        check(len(lines) == 1 and lines[0].startswith("xeonplace: warning: cannot load") and
              os.path.join(tmp, "libxeonplace-engine.so") in lines[0], lines)
        expect(values, "cpus", ALL)
        os.makedirs(os.path.join(tmp, "lib"))
        shutil.copy(LIB, os.path.join(tmp, "lib", "libxeonplace.so"))
        shutil.copy(ENGINE, os.path.join(tmp, "lib", "libxeonplace-engine.so"))
        values, result = probe([PROBE_C], placed(LAST.index), lib="./lib/libxeonplace.so",
                               cwd=tmp)
        expect(values, "cpus", comma_text(LAST.cpus), "relative LD_PRELOAD: ")


def exported_symbols(path):
    out = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def case_libraries_export_only_their_interface():
    front = exported_symbols(LIB)
    wanted = {"xeonplace_placed", "xeonplace_rank", "xeonplace_nranks", "xeonplace_cpus",
              "xeonplace_mems", "xeonplace_membind", "xeonplace_helper_cpus", "pthread_create",
              "fork", "execve", "execv", "posix_spawn", "posix_spawnp"}
    check(front == wanted, f"libxeonplace.so exports {sorted(front ^ wanted)} unexpectedly")
    engine = exported_symbols(ENGINE)
    check(engine == {"xeonplace_engine_run"}, f"engine exports {sorted(engine)}")
    needed = subprocess.run(["readelf", "-d", LIB], capture_output=True, text=True,
                            check=True).stdout
    libs = set(re.findall(r"Shared library: \[(.+?)\]", needed))
    libs = {lib for lib in libs if not re.match(r"lib(asan|ubsan|tsan|lsan)\.so", lib)}
    check(libs <= {"libc.so.6", "libdl.so.2", "libpthread.so.0"},
          f"the front must need only libc, needs {libs}")
    needed = subprocess.run(["readelf", "-d", ENGINE], capture_output=True, text=True,
                            check=True).stdout
    check("libstdc++" not in needed, "the engine must carry its own hidden libstdc++")


CASES = cases_in(globals())


def require_test_inputs():
    for path in (LIB, ENGINE, PROBE_C, PROBE_OMP, PROBE_PY, SOURCE_ROOT):
        check(path and os.path.exists(path), f"missing test input {path!r}: run through meson test")


if __name__ == "__main__":
    sys.exit(run_case(CASES, require_test_inputs))
