#!/usr/bin/env python3
"""Integration tests of libxeonplace.so: real programs (C, C++ with libgomp, python3) run with the
built library preloaded, and report from inside what placement they got.

    run_integration.py CASE     run one case (meson registers each as a test of suite integration)
    run_integration.py --list   print the case names

Paths come from the environment meson sets: XP_LIB, XP_ENGINE, XP_PROBE_C, XP_PROBE_OMP,
XP_PROBE_PY, XP_SOURCE_ROOT. The machine is expected to allow CPUs 0-1 on NUMA node 0 (this
project's 2-CPU test machine); a case exits 77 (skipped, never counted as passed) elsewhere.

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

MPOL_DEFAULT, MPOL_PREFERRED, MPOL_BIND, MPOL_INTERLEAVE = 0, 1, 2, 3
NO_CHAINLOAD = {"XEONRUN_ALLOCATOR": "default", "XEONRUN_OMP_RUNTIME": "default"}

LIB = os.environ.get("XP_LIB", "")
ENGINE = os.environ.get("XP_ENGINE", "")
PROBE_C = os.environ.get("XP_PROBE_C", "")
PROBE_OMP = os.environ.get("XP_PROBE_OMP", "")
PROBE_PY = os.environ.get("XP_PROBE_PY", "")
SOURCE_ROOT = os.environ.get("XP_SOURCE_ROOT", "")


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


def placed(rank, nranks=2, **more):
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
    ids = []
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        ids.extend(range(int(first), int(last or first) + 1))
    return ",".join(str(i) for i in ids)


# ---- cases ----

def case_c_rank0_and_rank1_get_their_cpu():
    for rank in (0, 1):
        values, result = probe([PROBE_C], placed(rank))
        expect(values, "cpus", str(rank), f"rank {rank}: ")
        expect(values, "XEONRUN_PLACED_RANK", str(rank))
        expect(values, "XEONRUN_PLACED_NRANKS", "2")
        expect(values, "XEONRUN_PLACED_CPUS", str(rank))
        expect(values, "XEONRUN_PLACED_MEMS", "0")
        expect(values, "XEONRUN_PLACED_MEMBIND", "bind")
        expect(values, "mempolicy_mode", str(MPOL_BIND))
        expect(values, "mempolicy_nodes", "0")
        expect(values, "OMP_NUM_THREADS", "1")
        expect(values, "OMP_PROC_BIND", "close")
        expect(values, "OMP_PLACES", "cores")
        expect(values, "KMP_AFFINITY", "<unset>")
        expect_api_matches_env(values)
        check(result.stderr == "", f"silent by default, got stderr {result.stderr!r}")
        # Placed, the engine and hwloc are unmapped again: the program keeps only the front.
        expect(values, "engine_loaded", "0", "after placing: ")
        expect(values, "hwloc_loaded", "0", "after placing: ")
    check(engine_was_loaded(placed(0)), "LD_DEBUG=files shows no engine: the check is blind")


def case_thread_of_an_earlier_constructor_is_pinned_too():
    for rank in (0, 1):
        values, _ = probe([PROBE_C], placed(rank))
        expect(values, "early_thread_before_placement", "1")
        expect(values, "early_thread_cpus", str(rank), f"rank {rank}: ")


def case_cpp_openmp_rank_gets_its_cpu_and_variables():
    for rank in (0, 1):
        values, _ = probe([PROBE_OMP], placed(rank))
        expect(values, "cpus", str(rank), f"rank {rank}: ")
        expect(values, "OMP_NUM_THREADS", "1")
        expect(values, "OMP_PROC_BIND", "close")
        expect(values, "OMP_PLACES", "cores")
        expect(values, "XEONRUN_PLACED_CPUS", str(rank))
        # libgomp read its variables before the constructor (design.md §6-§7; issue #4 re-execs for
        # that), but every thread it starts inherits the rank's CPU.
        threads = [v for k, v in values.items() if k.startswith("omp_thread")]
        check(threads and all(cpus == str(rank) for cpus in threads),
              f"rank {rank}: OpenMP threads on {threads}")
    # That it came too late for the linked libgomp is said at debug level.
    _, result = probe([PROBE_OMP], placed(0, XEONRUN_LOG_LEVEL="debug"))
    check(re.search(r"debug: \S*libgomp\.so\S* was loaded before this constructor", result.stderr),
          f"no debug line about libgomp: {result.stderr!r}")
    _, result = probe([PROBE_OMP], placed(0))
    check(result.stderr == "", f"silent by default: {result.stderr!r}")


def case_python_rank_gets_its_cpu_and_the_c_api_answers():
    for rank in (0, 1):
        values, _ = probe([sys.executable, PROBE_PY], placed(rank))
        expect(values, "cpus", str(rank), f"rank {rank}: ")
        expect(values, "OMP_NUM_THREADS", "1")
        expect_api_matches_env(values)


def case_python_loading_the_library_late_places_the_process_then():
    script = ("import ctypes, os\n"
              "before = sorted(os.sched_getaffinity(0))\n"
              f"lib = ctypes.CDLL({LIB!r})\n"
              "print('before=' + ','.join(map(str, before)))\n"
              "print('after=' + ','.join(map(str, sorted(os.sched_getaffinity(0)))))\n"
              "print(f'api_rank={lib.xeonplace_rank()}')\n")
    values, _ = probe([sys.executable, "-c", script], placed(1), preload=False)
    expect(values, "before", "0,1")
    expect(values, "after", "1")
    expect(values, "api_rank", "1")


def case_intel_runtime_variables_are_exported():
    # The defaults: Intel/LLVM OpenMP (a re-exec may load it; the variables are the same).
    extra = placed(1)
    del extra["XEONRUN_OMP_RUNTIME"]
    values, _ = probe([PROBE_C], extra)
    expect(values, "cpus", "1")
    expect(values, "OMP_NUM_THREADS", "1")
    expect(values, "KMP_AFFINITY", "granularity=fine,compact,1,0")
    expect(values, "KMP_BLOCKTIME", "1")
    expect(values, "OMP_PROC_BIND", "<unset>")


def case_user_openmp_values_are_kept_with_a_warning():
    values, result = probe([PROBE_C], placed(0, OMP_NUM_THREADS="7"))
    expect(values, "OMP_NUM_THREADS", "7")
    check("OMP_NUM_THREADS=7" in result.stderr and "warning" in result.stderr,
          f"expected a warning about OMP_NUM_THREADS, got {result.stderr!r}")


def case_membind_modes_reach_get_mempolicy():
    wanted = {"bind": (MPOL_BIND, "0"), "preferred": (MPOL_PREFERRED, "0"),
              "interleave": (MPOL_INTERLEAVE, "0"), "none": (MPOL_DEFAULT, "")}
    for membind, (mode, nodes) in wanted.items():
        values, _ = probe([PROBE_C], placed(0, XEONRUN_MEMBIND=membind))
        expect(values, "mempolicy_mode", str(mode), f"{membind}: ")
        expect(values, "mempolicy_nodes", nodes, f"{membind}: ")
        expect(values, "XEONRUN_PLACED_MEMBIND", membind)
        expect(values, "api_membind", membind)


def case_pin_thread_gives_each_new_thread_its_own_cpu():
    extra = {"XEONRUN_NINSTANCES": "1", "XEONRUN_PIN": "thread", **NO_CHAINLOAD}
    values, _ = probe([PROBE_C, "threads", "2"], extra)
    expect(values, "XEONRUN_PLACED_CPUS", "0-1")
    expect(values, "cpus", "0,1", "the main thread keeps the slice (OpenMP places come from it): ")
    threads = sorted(values[k] for k in ("thread1_cpus", "thread2_cpus"))
    check(threads == ["0", "1"], f"new threads on {threads}, expected one each on 0 and 1")
    expect(values, "early_thread_cpus", "0,1", "a thread older than the placement: ")
    expect(values, "stack_kept", "1", "the thread's own attributes survive: ")
    expect(values, "own_stack_kept", "1", "a stack the creator gave: ")
    expect(values, "attr_affinity_thread_cpus", "0", "an affinity the creator gave: ")


def case_pin_process_puts_new_threads_on_the_rank_cpus():
    values, _ = probe([PROBE_C, "threads", "2"], placed(1))
    for key in ("thread1_cpus", "thread2_cpus"):
        expect(values, key, "1")


def case_pin_none_keeps_affinity_but_sets_memory_policy():
    values, _ = probe([PROBE_C], placed(1, XEONRUN_PIN="none"))
    expect(values, "cpus", "0,1")
    expect(values, "mempolicy_mode", str(MPOL_BIND))
    expect(values, "XEONRUN_PLACED_CPUS", "1")


def engine_was_loaded(extra):
    """Whether the dynamic linker opened the engine (it is unloaded again after placing, so the
    process's own maps cannot tell)."""
    result = run([PROBE_C], {**extra, "LD_DEBUG": "files"})
    return "libxeonplace-engine.so" in result.stderr


def untouched(values, context):
    expect(values, "cpus", "0,1", context)
    expect(values, "early_thread_cpus", "0,1", context)
    expect(values, "mempolicy_mode", str(MPOL_DEFAULT), context)
    for name in ("OMP_NUM_THREADS", "OMP_PROC_BIND", "XEONRUN_PLACED_RANK", "KMP_AFFINITY"):
        expect(values, name, "<unset>", context)
    expect(values, "api_placed", "0", context)
    expect(values, "api_rank", "-1", context)
    expect(values, "api_cpus", "-1", context)


def case_do_nothing_path_leaves_the_process_untouched():
    for context, extra in (("no input: ", {}),
                           ("XEONRUN_DISABLE=1: ", {"XEONRUN_DISABLE": "1", **placed(1)}),
                           ("XEONRUN_DISABLE=on: ", {"XEONRUN_DISABLE": "on", **placed(1)})):
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
    extra = placed(1, XEONRUN_PLACED_RANK="0", XEONRUN_PLACED_NRANKS="2", XEONRUN_PLACED_CPUS="0")
    values, _ = probe([PROBE_C], extra)
    expect(values, "cpus", "0,1")
    expect(values, "XEONRUN_PLACED_CPUS", "0")
    check(not engine_was_loaded(extra), "a placed parent's child loaded the engine")
    # A real parent: python placed as rank 1 starts the C probe.
    script = f"import subprocess; subprocess.run([{PROBE_C!r}], check=True)"
    values, result = probe([sys.executable, "-c", script],
                           placed(1, XEONRUN_LOG_LEVEL="debug"))
    expect(values, "cpus", "1")
    expect(values, "XEONRUN_PLACED_RANK", "1")
    check(result.stderr.count("xeonplace: info: rank") == 1,
          f"only the parent may run the engine: {result.stderr!r}")


def case_launcher_local_rank_places_without_xeonrun_variables():
    for launcher in ({"LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"},
                     {"MPI_LOCALRANKID": "1", "MPI_LOCALNRANKS": "2"}):
        values, _ = probe([PROBE_C], {**launcher, **NO_CHAINLOAD})
        expect(values, "cpus", "1", f"{launcher}: ")
        expect(values, "XEONRUN_PLACED_RANK", "1")


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
    # Open MPI's default binding of rank 0 of 2 could be CPU 1 (it says so with
    # OMPI_MCA_orte_bound_at_launch=1): replaced by the rank's slice.
    ompi = {"OMPI_COMM_WORLD_LOCAL_RANK": "0", "OMPI_COMM_WORLD_LOCAL_SIZE": "2",
            "OMPI_MCA_orte_bound_at_launch": "1", **NO_CHAINLOAD}
    # Only the probe is preloaded, not taskset (it would place itself first).
    bound = [taskset, "-c", "1", "env", "LD_PRELOAD=" + preload_value(), PROBE_C]
    values, _ = probe(bound, ompi, preload=False)
    expect(values, "cpus", "0", "Open MPI rank 0 bound to CPU 1: ")
    expect(values, "early_thread_before_placement", "1")
    # The user's own taskset without a binding launcher: the plan stays inside it.
    values, _ = probe(bound, {"XEONRUN_RANK": "0", **NO_CHAINLOAD}, preload=False)
    expect(values, "cpus", "1", "taskset -c 1 with XEONRUN_RANK=0: ")
    # XEONRUN_BIND_POLICY=respect keeps the launcher's binding: the rank stays inside it.
    values, _ = probe(bound, {**ompi, "XEONRUN_BIND_POLICY": "respect"}, preload=False)
    expect(values, "cpus", "1", "XEONRUN_BIND_POLICY=respect: ")
    expect(values, "XEONRUN_PLACED_CPUS", "1")


# Every input variable with values its parser or the planner must refuse on this machine.
BAD_VALUES = {
    "XEONRUN_RANK": ["-1", "x", "1.5", "", "99999999999", "2"],  # 2: out of range with 2 ranks
    "XEONRUN_NINSTANCES": ["0", "abc", "", "3"],  # 3 ranks on 2 cores
    "XEONRUN_NCORES_PER_INSTANCE": ["0", "two", "3", "1,,1", ""],
    "XEONRUN_CORE_LIST": ["3-1", "a", "1,", "7"],  # CPU 7 does not exist here
    "XEONRUN_NODE_ID": ["-1", "x", "1"],  # node 1 does not exist here
    "XEONRUN_MEM_NODES": ["x", "2-1", "5"],
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
            extra = {"XEONRUN_NINSTANCES": "2", "XEONRUN_RANK": "0", **NO_CHAINLOAD,
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
        extra = {**placed(1), variable: value, "XEONRUN_ON_ERROR": "warn"}
        values, result = probe([PROBE_C], extra)
        lines = result.stderr.splitlines()
        check(len(lines) == 1 and lines[0].startswith("xeonplace: warning: ") and
              lines[0].endswith("(running unplaced)") and variable in lines[0],
              f"{variable}={value}: stderr {result.stderr!r}")
        expect(values, "cpus", "0,1")
        expect(values, "XEONRUN_PLACED_RANK", "<unset>")


def case_log_level_info_prints_one_line_per_rank():
    for rank in (0, 1):
        values, result = probe([PROBE_C], placed(rank, XEONRUN_LOG_LEVEL="info"))
        lines = result.stderr.splitlines()
        check(len(lines) == 1, f"expected one line, got {lines}")
        line = lines[0]
        for part in ("xeonplace: info: ", f"rank {rank} of 2", f"CPUs {rank}",
                     "memory nodes 0", "bind", "OMP_NUM_THREADS=1", "OMP_PROC_BIND=close"):
            check(part in line, f"{part!r} not in {line!r}")
        check("xeonplace" not in result.stdout, "log lines must never reach stdout")


def case_log_file_gets_the_lines_instead_of_stderr():
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "ranks.log")
        for rank in (0, 1):
            _, result = probe([PROBE_C],
                              placed(rank, XEONRUN_LOG_LEVEL="info", XEONRUN_LOG_FILE=log,
                                     OMP_NUM_THREADS="3"))
            check(result.stderr == "", f"stderr must stay empty, got {result.stderr!r}")
        with open(log) as f:
            lines = f.read().splitlines()
        check(len(lines) == 4, f"two ranks x (warning + info) appended, got {lines}")
        check(sum("info: rank" in line for line in lines) == 2, lines)
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
    values, result = probe([PROBE_C], placed(1, XEONRUN_DRY_RUN="1"))
    untouched_but_loaded = dict(values, engine_loaded="0")
    untouched(untouched_but_loaded, "dry run: ")
    lines = result.stderr.splitlines()
    check(len(lines) == 1 and "dry run" in lines[0] and "CPUs 1" in lines[0], lines)


def case_topology_fixture_plans_another_machine_without_applying():
    fixture = os.path.join(SOURCE_ROOT, "tests", "fixtures", "pytorch_test_2s4c_ht.lscpu")
    values, result = probe([PROBE_C], placed(1, XEONRUN_TOPOLOGY="lscpu:" + fixture))
    expect(values, "cpus", "0,1")
    expect(values, "XEONRUN_PLACED_RANK", "<unset>")
    check("CPUs 4-7" in result.stderr and "memory nodes 1" in result.stderr, result.stderr)


def case_xml_fixture_with_a_cpuless_node_is_planned_too():
    fixture = os.path.join(SOURCE_ROOT, "tests", "fixtures", "cpuless_hbm_node.xml")
    values, result = probe([PROBE_C], placed(1, XEONRUN_TOPOLOGY="xml:" + fixture))
    expect(values, "XEONRUN_PLACED_RANK", "<unset>")
    check("rank 1 of 2" in result.stderr and "CPUs 4-7" in result.stderr and
          "memory nodes 1," in result.stderr, result.stderr)
    _, result = probe([PROBE_C], placed(1, XEONRUN_TOPOLOGY="xml:" + fixture,
                                        XEONRUN_MEM_NODES="2"))
    check("memory nodes 2," in result.stderr, f"HBM node 2 asked for: {result.stderr!r}")


def case_missing_engine_warns_and_runs_unplaced():
    with tempfile.TemporaryDirectory() as tmp:
        lonely = os.path.join(tmp, "libxeonplace.so")
        shutil.copy(LIB, lonely)
        # A relative LD_PRELOAD: the engine is still looked for next to the front, not in ".".
        shutil.copy(ENGINE, os.path.join(tmp, "engine-decoy"))
        values, result = probe([PROBE_C], placed(1), lib=lonely)
        lines = result.stderr.splitlines()
        check(len(lines) == 1 and lines[0].startswith("xeonplace: warning: cannot load") and
              os.path.join(tmp, "libxeonplace-engine.so") in lines[0], lines)
        expect(values, "cpus", "0,1")
        os.makedirs(os.path.join(tmp, "lib"))
        shutil.copy(LIB, os.path.join(tmp, "lib", "libxeonplace.so"))
        shutil.copy(ENGINE, os.path.join(tmp, "lib", "libxeonplace-engine.so"))
        values, result = probe([PROBE_C], placed(1), lib="./lib/libxeonplace.so", cwd=tmp)
        expect(values, "cpus", "1", "relative LD_PRELOAD: ")


def exported_symbols(path):
    out = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def case_libraries_export_only_their_interface():
    front = exported_symbols(LIB)
    wanted = {"xeonplace_placed", "xeonplace_rank", "xeonplace_nranks", "xeonplace_cpus",
              "xeonplace_mems", "xeonplace_membind", "pthread_create"}
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


def machine_fits():
    if os.sched_getaffinity(0) != {0, 1}:
        return False
    return os.path.isdir("/sys/devices/system/node/node0") and not os.path.isdir(
        "/sys/devices/system/node/node1")


def require_the_test_machine():
    if not machine_fits():
        raise Skip("needs CPUs 0-1 on NUMA node 0 only (the project's test machine)")


if __name__ == "__main__":
    sys.exit(run_case(CASES, require_the_test_machine))
