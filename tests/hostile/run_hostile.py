#!/usr/bin/env python3
"""Hostile values and hostile processes (issue #8): the built libxeonplace.so preloaded into real
programs under conditions a careful user would not create.

    run_hostile.py CASE     run one case (meson registers each as a test of suite hostile)
    run_hostile.py --list   print the case names

Paths come from the environment meson sets: XP_LIB, XP_DOCGEN, XP_PROBE, XP_PROBE_STATIC,
XP_DEEPBIND, XP_FIXTURES; XP_PRELOAD_FIRST (set by tools/ci/sanitizers.sh) is put before the
library in LD_PRELOAD. Expected CPUs come from the affinity the driver runs under
(tests/support/machine.py): placed cases run the last rank of two where there are two cores, of
one where there is one. A case that needs something this machine lacks (root, mount namespaces)
exits 77: skipped, never counted as passed.

Hostile values: every XEONRUN_* input of the generated variable table (xeonplace-docgen
--markdown) must have rows in BAD_VALUES, so a new variable without hostile values fails here.
Each bad value must give exactly one line on stderr naming the variable and exit status 2 (bad
configuration, STYLE.md; never a signal), within a timeout, for /bin/true and for a C program.
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
from case_driver import Failure, Skip, cases_in, check, clean_env, main as run_case  # noqa: E402
from machine import comma_text, this_machine  # noqa: E402

LIB = os.environ.get("XP_LIB", "")
DOCGEN = os.environ.get("XP_DOCGEN", "")
PROBE = os.environ.get("XP_PROBE", "")
PROBE_STATIC = os.environ.get("XP_PROBE_STATIC", "")
DEEPBIND = os.environ.get("XP_DEEPBIND", "")
FIXTURES = os.environ.get("XP_FIXTURES", "")
# tools/ci/sanitizers.sh: the ASan runtime must come first in LD_PRELOAD when the library is an
# ASan build and the program is not.
PRELOAD_FIRST = os.environ.get("XP_PRELOAD_FIRST", "")
TIMEOUT = 30
NO_CHAINLOAD = {"XEONRUN_ALLOCATOR": "default", "XEONRUN_OMP_RUNTIME": "default"}
BAD_CONFIGURATION = 2  # the exit status of every bad value (STYLE.md)

MACHINE = this_machine()
NRANKS = MACHINE.ranks_up_to(2)
LAST = MACHINE.plan(NRANKS)[NRANKS - 1]  # the rank the placed cases run as
LAST_CPUS = comma_text(LAST.cpus)  # as the probe prints its affinity


def run(argv, extra=None, preload=True, timeout=TIMEOUT, **kwargs):
    env = clean_env()
    if preload:
        env["LD_PRELOAD"] = f"{PRELOAD_FIRST}:{LIB}" if PRELOAD_FIRST else LIB
    env.update(extra or {})
    try:
        return subprocess.run(argv, env=env, capture_output=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired:
        raise Failure(f"{argv[0]} {short(extra)}: no exit within {timeout} s (a hang)")


def short(env, limit=300):
    text = repr(env)
    return text if len(text) <= limit else text[:limit] + "..."


def parse(text):
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key not in values:
            values[key] = value
    return values


def need_root():
    if os.geteuid() != 0:
        raise Skip("needs root")


# ---- hostile values ----

def table_variables():
    """The XEONRUN_* inputs, from the generated README table (the options table itself)."""
    text = subprocess.run([DOCGEN, "--markdown"], capture_output=True, text=True, check=True).stdout
    names = set()
    for line in text.splitlines():
        match = re.match(r"\|\s*`(XEONRUN_[A-Z_]+)`", line)
        if match and not match.group(1).startswith(("XEONRUN_PLACED_", "XEONRUN_REEXEC_")):
            # XEONRUN_PLACEMENT is in the outputs' table (it is a handoff, not an option) but
            # the library reads it: it must be as hostile-proof as the options.
            names.add(match.group(1))
    check(len(names) >= 15, f"docgen --markdown listed only {sorted(names)}")
    return sorted(names)


INTEGER_GARBAGE = ["-1", "18446744073709551616", "18446744073709551615", "4294967296",
                   "99999999999999999999999999", "1x", "0x1", "1.5", "1e3", " 1", "1 ", "+1",
                   "one", "\uff11", "1\n2", "\x01"]
LIST_GARBAGE = ["3-1", "0-", "-1", "0,,1", "0-1,", ",0", "0x1", "1.0", "a", "65536",
                "0-4294967296", "18446744073709551616", "0 1", "0\n1", "\x7f"]
CHOICE_GARBAGE = ["bogus", "BIND ", " 1", "\t", "yes\n", "\u00e9"]
BOOLEAN_GARBAGE = ["2", "-1", "yes please", "0x1", "1.0", "tru", "oui", "1\n"]
HUGE_LIST = ",".join(str(i) for i in range(20000))  # ~110 KB, ids far beyond this machine


def topology_garbage(tmp):
    malformed_lscpu = os.path.join(tmp, "malformed.lscpu")
    with open(malformed_lscpu, "w") as f:
        f.write("# CPU,Core,Socket,Node\n0,0,0,0\n1,x,0,0\n")
    malformed_xml = os.path.join(tmp, "malformed.xml")
    with open(malformed_xml, "w") as f:
        f.write("<?xml version=\"1.0\"?>\n<topology><object type=\"Machine\"><object")
    binary = os.path.join(tmp, "binary")
    with open(binary, "wb") as f:
        f.write(bytes(range(256)) * 64)
    return ["lscpu:/nonexistent/file", "xml:/nonexistent/file", "lscpu:" + malformed_lscpu,
            "xml:" + malformed_xml, "lscpu:" + binary, "xml:" + binary, "lscpu:/dev/zero",
            "xml:/etc", "lscpu:", "xml:", "synthetic:", "synthetic:pack:99999 core:99999 pu:2",
            "synthetic:garbage here", "nfs:server:/x", "lscpu", "/etc/passwd",
            # makes hwloc 2.9 itself crash (found by tests/fuzz/fuzz_hwloc_xml)
            "xml:" + os.path.join(FIXTURES, "..", "fuzz", "corpus", "hwloc_xml",
                                  "regress_hwloc_segv_on_bad_xml")]


def bad_values(tmp):
    """Variable -> (bad values, extra environment). The extra environment makes the value bad where
    it is only bad for this machine (ids beyond it)."""
    ranks = {"XEONRUN_NINSTANCES": str(NRANKS)}
    cores = len(MACHINE.slots)
    cpu, node = MACHINE.absent_cpu(), MACHINE.absent_node()  # ids beyond this machine
    return {
        "XEONRUN_RANK": (INTEGER_GARBAGE + [str(NRANKS), "4294967295"], ranks),
        "XEONRUN_NINSTANCES": (INTEGER_GARBAGE + ["0", str(max(1000, cores + 1)), "4294967295"],
                               {}),
        "XEONRUN_NCORES_PER_INSTANCE": (INTEGER_GARBAGE + ["0", str(cores + 1), "1,,1", "1,", ",1",
                                                           "1-2", ",".join(["1"] * 40000)], {}),
        "XEONRUN_CORE_LIST": (LIST_GARBAGE + [str(cpu), f"{cpu}-{cpu + 1}", HUGE_LIST], {}),
        "XEONRUN_NODE_ID": (INTEGER_GARBAGE + [str(node), "1024", "65536"], {}),
        "XEONRUN_MEM_NODES": (LIST_GARBAGE + [str(node), f"{node}-{node + 2}", HUGE_LIST], {}),
        "XEONRUN_USE_LOGICAL_CORE": (BOOLEAN_GARBAGE, {}),
        "XEONRUN_SKIP_CROSS_NODE_CORES": (BOOLEAN_GARBAGE, {}),
        "XEONRUN_USE_EFFICIENT_CORES": (BOOLEAN_GARBAGE, {}),
        "XEONRUN_DRY_RUN": (BOOLEAN_GARBAGE, {}),
        "XEONRUN_DISABLE": (["maybe", "2", "0x1", "-1"], {}),
        "XEONRUN_MODE": (CHOICE_GARBAGE + ["latency-mode", "LATENCY2"], {}),
        "XEONRUN_ALLOCATOR": (CHOICE_GARBAGE + ["jemallocc", "libjemalloc.so.2", "./libx.so",
                                                "../lib/libjemalloc.so", "/nonexistent/libx.so\n"],
                              {"XEONRUN_OMP_RUNTIME": "default"}),
        "XEONRUN_OMP_RUNTIME": (CHOICE_GARBAGE + ["iomp", "libomp.so", "./libomp.so.5"],
                                {"XEONRUN_ALLOCATOR": "default"}),
        "XEONRUN_MEMBIND": (CHOICE_GARBAGE + ["numactl", "bind,interleave"], {}),
        "XEONRUN_PIN": (CHOICE_GARBAGE + ["threads", "core"], {}),
        "XEONRUN_REEXEC": (CHOICE_GARBAGE + ["always", "no", "0", "never,auto"], {}),
        "XEONRUN_LOG_LEVEL": (CHOICE_GARBAGE + ["verbose", "5"], {}),
        "XEONRUN_LOG_FILE": (["/tmp/x\ny", "\x1b[31m", "/tmp/\x01"], {}),
        "XEONRUN_REPORT": (BOOLEAN_GARBAGE, {}),
        "XEONRUN_REPORT_FILE": (["/tmp/x\ny", "\x1b[31m", "/tmp/\x01", "/tmp/"], {}),
        "XEONRUN_TOPOLOGY": (lambda: topology_garbage(tmp), {}),  # writes files: lazily
        "XEONRUN_ON_ERROR": (CHOICE_GARBAGE + ["ignore", "warning"], {}),
        "XEONRUN_BIND_POLICY": (CHOICE_GARBAGE + ["keep", "replaced"], {}),
        "XEONRUN_THREAD_POOLS": (CHOICE_GARBAGE + ["mkl", "all,openmp", "0"], {}),
        # ipexrun's inputs (issue #14)
        "XEONRUN_COMPAT": (CHOICE_GARBAGE + ["ipex", "run-cpu", "ipexrun,run_cpu"], {}),
        "XEONRUN_STRATEGY": (CHOICE_GARBAGE + ["spread", "scatter,close"], {}),
        "XEONRUN_LEFTOVER_CORES": (CHOICE_GARBAGE + ["-1", "0", "greedy"], {}),
        "XEONRUN_NODES_LIST": (LIST_GARBAGE + [str(node), f"{node}-{node + 2}", HUGE_LIST], {}),
        # "-1" is every rank, as ipexrun documents.
        "XEONRUN_INSTANCE_IDX": ([v for v in LIST_GARBAGE if v != "-1"] + ["-2", str(NRANKS)],
                                 ranks),
        "XEONRUN_CPU_QUOTA": (CHOICE_GARBAGE + ["0", "-1", "2.5", "1e3", "4294967296", "65537",
                                                "max", "4 cpus"], {}),
        "XEONRUN_BENCHMARK": (BOOLEAN_GARBAGE, {}),
        "XEONRUN_THREADS": (CHOICE_GARBAGE + ["4", "keep", "plan,inherit"], {}),
        # Issue #15: cache domains, helper cores (as many as the one rank's cores leave it no
        # compute core), likwid-pin's skip mask.
        "XEONRUN_DOMAIN": (CHOICE_GARBAGE + ["l2", "numa,l3", "L3 "], {}),
        "XEONRUN_HELPER_CORES": (INTEGER_GARBAGE + [str(cores), "4294967295"],
                                 {"XEONRUN_NINSTANCES": "1"}),
        "XEONRUN_THREAD_SKIP": (["0x", "zz", "0x1g", "0x" + "f" * 17, "-1", "1 ", "\x01"], {}),
        # The placement xeonrun-spawn hands to a rank: malformed, or CPUs and nodes this process
        # may not use, is refused, never applied.
        "XEONRUN_PLACEMENT": (["", "v2", "v1", "bogus", "v1;rank=0", "\x01",
                               handed(cpus="0", mems="0", rank="1", nranks="1"),
                               handed(cpus="", mems="0"), handed(cpus="3-1", mems="0"),
                               handed(cpus=HUGE_LIST, mems="0"), handed(cpus="0", mems="0",
                                                                        membind="bogus"),
                               handed(cpus="0", mems="0", pin="threads"),
                               handed(cpus="99999", mems="0"), handed(cpus="0", mems="1000"),
                               # helper CPUs (XEONRUN_HELPER_CORES) empty, outside the rank's, or
                               # a field that is not helpers=
                               handed(cpus="0", mems="0") + ";helpers=",
                               handed(cpus="0", mems="0") + ";helpers=99999",
                               handed(cpus="0", mems="0") + ";helpers=0;more=1",
                               handed(cpus="0", mems="0") + ";bogus=0"],
                              {}),
    }


def handed(cpus, mems, rank="0", nranks="1", membind="bind", pin="process"):
    """An XEONRUN_PLACEMENT line as xeonrun-spawn writes it (core/decision.h)."""
    return (f"v1;rank={rank};nranks={nranks};cpus={cpus};mems={mems};membind={membind};"
            f"pin={pin};source=xeonrun-spawn;env=OMP_NUM_THREADS")


def expect_one_error_line(program, variable, value, extra):
    env = dict(NO_CHAINLOAD)
    env.update(extra)
    env[variable] = value
    result = run([program], env)
    stderr = result.stderr.decode(errors="replace")
    context = f"{os.path.basename(program)} {variable}={short(value, 80)} {short(extra, 80)}"
    check(result.returncode >= 0, f"{context}: killed by signal {-result.returncode}\n{stderr}")
    check(result.returncode == BAD_CONFIGURATION,
          f"{context}: exit {result.returncode}, expected {BAD_CONFIGURATION}\nstderr: {stderr}")
    lines = [line for line in stderr.split("\n") if line]
    check(len(lines) == 1, f"{context}: {len(lines)} stderr lines, expected 1:\n{stderr[:2000]}")
    check(variable in lines[0], f"{context}: the error does not name {variable}: {lines[0][:400]}")
    check(len(lines[0]) < 2000, f"{context}: a {len(lines[0])}-character error line")
    check(result.stdout == b"", f"{context}: wrote to the program's stdout: {result.stdout[:200]}")


def hostile_value_case(variable):
    def case():
        with tempfile.TemporaryDirectory(prefix="xp-hostile-") as tmp:
            table = bad_values(tmp)
            check(variable in table, f"{variable}: no hostile values in BAD_VALUES")
            values, extra = table[variable]
            values = values() if callable(values) else values
            for value in values:
                for program in ("/bin/true", PROBE):
                    expect_one_error_line(program, variable, value, extra)
    return case


def case_every_table_variable_has_hostile_values():
    with tempfile.TemporaryDirectory() as tmp:
        missing = [name for name in table_variables() if name not in bad_values(tmp)]
    check(not missing, f"variables without hostile values: {missing}")


def case_unknown_variable_is_one_line_with_a_suggestion():
    for name in ("XEONRUN_RANKS", "XEONRUN_" + "X" * 100000, "XEONRUN_\x01"):
        result = run(["/bin/true"], {name: "1"})
        lines = [line for line in result.stderr.decode(errors="replace").split("\n") if line]
        check(result.returncode == BAD_CONFIGURATION and len(lines) == 1,
              f"{short(name, 40)}: exit {result.returncode}, stderr {lines[:3]}")
        check(len(lines[0]) < 2000, f"{short(name, 40)}: a {len(lines[0])}-character error line")


def case_on_error_warn_runs_the_program_after_one_warning():
    result = run([PROBE], {"XEONRUN_ON_ERROR": "warn", "XEONRUN_RANK": "-1", **NO_CHAINLOAD})
    lines = [line for line in result.stderr.decode().split("\n") if line]
    check(result.returncode == 0, f"exit {result.returncode}: {result.stderr}")
    check(len(lines) == 1 and "XEONRUN_RANK" in lines[0], f"stderr: {lines}")
    check(parse(result.stdout.decode()).get("PLACED_RANK") == "", "placed despite the error")


# ---- hostile processes ----

def placed_env(rank=LAST.index, nranks=NRANKS, **more):
    env = {"XEONRUN_RANK": str(rank), "XEONRUN_NINSTANCES": str(nranks)}
    env.update(NO_CHAINLOAD)
    env.update(more)
    return env


def probe_values(argv, env, expect_rc=0, **kwargs):
    result = run(argv, env, **kwargs)
    check(result.returncode == expect_rc,
          f"{argv} {short(env)}: exit {result.returncode}, expected {expect_rc}\n"
          f"stdout: {result.stdout[:2000]}\nstderr: {result.stderr[:2000]}")
    return parse(result.stdout.decode(errors="replace")), result


def case_static_binary_runs_unplaced():
    # ld.so never sees a static executable, so LD_PRELOAD cannot apply: the program runs as if
    # the library were absent (tests/hostile/README.md; place static programs with numactl).
    if not PROBE_STATIC:
        raise Skip("no static probe in this build (sanitizer builds, or no libc.a)")
    before = MACHINE.allowed_text
    values, result = probe_values([PROBE_STATIC], placed_env(XEONRUN_LOG_LEVEL="info"))
    check(values.get("LOADED") == "0", f"the library is mapped into a static binary: {values}")
    check(values.get("PLACED_RANK") == "" and values.get("CPUS") == before,
          f"a static binary was placed: {values}")
    check(result.stderr == b"", f"stderr: {result.stderr}")


def case_no_proc_runs_placed_without_reexec():
    need_root()
    if shutil.which("unshare") is None:
        raise Skip("no unshare")
    if PRELOAD_FIRST:
        raise Skip("the sanitizer runtime itself fails at exit without /proc")
    # Only the probe gets the placement environment (through env(1)): a placed unshare or sh
    # would hand the probe an inherited placement, and nothing would be tested.
    script = 'mount -t tmpfs none /proc && exec env "$@"'
    for extra in (NO_CHAINLOAD, {}):  # {}: the defaults ask for a re-exec, which needs /proc
        env = placed_env()
        for key in NO_CHAINLOAD:
            env.pop(key)
        env.update(extra)
        env["LD_PRELOAD"] = LIB
        # ld.so resolves the probe's $ORIGIN runpath through /proc: name its directory instead.
        env["LD_LIBRARY_PATH"] = os.path.dirname(PROBE)
        assignments = [f"{key}={value}" for key, value in env.items()]
        result = run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"] +
                     assignments + [PROBE], preload=False)
        if result.returncode != 0 and b"mount" in result.stderr and b"PID=" not in result.stdout:
            raise Skip(f"cannot mount over /proc here: {result.stderr!r}")
        values = parse(result.stdout.decode())
        stderr = result.stderr.decode()
        check(result.returncode == 0, f"{short(extra)}: exit {result.returncode}: {stderr}")
        check(values.get("CPUS") == LAST_CPUS and values.get("PLACED_RANK") == str(LAST.index),
              f"{short(extra)}: not placed without /proc as {LAST}: {values} {stderr}")
        check(values.get("FDS") == "unknown", f"/proc was still there: {values}")
        lines = [line for line in stderr.split("\n") if line]
        # The probe's early thread cannot be found without /proc/self/task: one warning says so.
        check(any("threads started before placement keep their CPU affinity" in line
                  for line in lines), f"no warning about earlier threads: {lines}")
        if extra:
            check(len(lines) == 1, f"NO_CHAINLOAD: stderr {lines}")
        else:
            # The allocator and OpenMP runtime need the re-exec: one warning says it is skipped.
            check(len(lines) >= 1 and all("warning" in line for line in lines),
                  f"defaults without /proc: expected warnings, got {lines}")


def case_environment_near_arg_max_runs_placed():
    arg_max = os.sysconf("SC_ARG_MAX")
    # Fill the environment to about 90% of ARG_MAX in 100 KB variables (MAX_ARG_STRLEN is 128 KB),
    # leaving room for the rest; a re-exec adding LD_PRELOAD and guards then risks E2BIG.
    filler = {}
    budget = int(arg_max * 0.9) - sum(len(k) + len(v) + 2 for k, v in clean_env().items())
    i = 0
    while budget > 110000:
        filler[f"HOSTILE_FILL_{i}"] = "x" * 100000
        budget -= 100020
        i += 1
    for extra in (NO_CHAINLOAD, {"XEONRUN_ALLOCATOR": "auto"}):
        env = placed_env()
        env.update(filler)
        env.update(extra)
        values, result = probe_values([PROBE], env)
        check(values.get("CPUS") == LAST_CPUS and values.get("PLACED_RANK") == str(LAST.index),
              f"{short(extra)}: not placed with a {arg_max}-byte environment: {values}")


def case_closed_standard_descriptors():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        for env, rc in ((placed_env(XEONRUN_LOG_LEVEL="info"), 0),
                        ({"XEONRUN_RANK": "-1"}, None)):
            env = dict(env, HOSTILE_OUT=out)
            result = run([PROBE], env, stdin=subprocess.DEVNULL,
                         preexec_fn=lambda: [os.close(fd) for fd in (0, 1, 2)])
            check(result.returncode >= 0, f"{env}: killed by signal {-result.returncode}")
            if rc is None:
                check(result.returncode == BAD_CONFIGURATION, f"{env}: exit {result.returncode}")
                continue
            check(result.returncode == rc, f"{env}: exit {result.returncode}")
            with open(out) as f:
                values = parse(f.read())
            check(values.get("CPUS") == LAST_CPUS and values.get("PLACED_RANK") == str(LAST.index),
                  f"{values}, expected {LAST}")
            # The library must not have left a descriptor of its own in 0..2 (or anywhere).
            fds = values.get("FDS", "")
            check("libxeonplace" not in fds and "xeonplace.log" not in fds, f"fds: {fds}")


def case_fork_and_exec_child_is_not_placed_again():
    env = placed_env(XEONRUN_LOG_LEVEL="info")
    values, result = probe_values([PROBE, "exec", PROBE], env)
    stdout = result.stdout.decode()
    reports = [parse(part) for part in stdout.split("PID=")[1:]]
    check(len(reports) == 2, f"expected parent and child reports: {stdout}")
    for report in reports:
        check(report.get("CPUS") == LAST_CPUS and report.get("PLACED_RANK") == str(LAST.index),
              f"{report}, expected {LAST}")
    check(values.get("CHILD_STATUS") == "0", f"child status {values.get('CHILD_STATUS')}")
    infos = [line for line in result.stderr.decode().split("\n") if "info" in line]
    check(len(infos) == 1, f"placed {len(infos)} times (one info line per placement): {infos}")


def case_deepbind_library_threads_stay_on_the_rank():
    if PRELOAD_FIRST:
        raise Skip("the sanitizer runtimes refuse RTLD_DEEPBIND (google/sanitizers#611)")
    for pin in ("process", "thread"):
        values, result = probe_values([PROBE, "deepbind", DEEPBIND], placed_env(XEONRUN_PIN=pin))
        # PIN=process: the rank's CPUs; PIN=thread: one of them (the round robin's turn).
        wanted = [LAST_CPUS] if pin == "process" else [str(cpu) for cpu in LAST.cpus]
        check(values.get("DEEPBIND_THREAD_CPUS") in wanted,
              f"PIN={pin}: a thread of an RTLD_DEEPBIND library runs on "
              f"{values.get('DEEPBIND_THREAD_CPUS')}, expected one of {wanted}: {result.stderr}")


def case_thread_started_before_our_constructor_is_repinned():
    for rank in MACHINE.plan(NRANKS):
        values, _ = probe_values([PROBE], placed_env(rank.index))
        check(values.get("EARLY_CPUS") == comma_text(rank.cpus),
              f"{rank}: the early thread runs on {values.get('EARLY_CPUS')}: {values}")


# ---- XEONRUN_LOG_FILE ----

def case_log_file_is_not_world_writable_under_umask_0():
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "xeonplace.log")
        values, result = probe_values(
            [PROBE], placed_env(XEONRUN_LOG_LEVEL="info", XEONRUN_LOG_FILE=log),
            preexec_fn=lambda: os.umask(0))
        mode = stat.S_IMODE(os.lstat(log).st_mode)
        check(not mode & (stat.S_IWOTH | stat.S_IWGRP), f"log file mode {oct(mode)}")
        with open(log) as f:
            text = f.read()
        check("xeonplace: info" in text, f"no info line in the log file: {text!r}")
        check(result.stderr == b"", f"logged to stderr instead: {result.stderr}")
        check(log not in values.get("FDS", ""), f"the log file is still open in the program: "
              f"{values.get('FDS')}")


def case_log_file_symlink_is_refused_with_a_warning():
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, "victim")
        with open(target, "w") as f:
            f.write("precious\n")
        link = os.path.join(tmp, "xeonplace.log")
        os.symlink(target, link)
        values, result = probe_values(
            [PROBE], placed_env(XEONRUN_LOG_LEVEL="info", XEONRUN_LOG_FILE=link))
        with open(target) as f:
            check(f.read() == "precious\n", "the log went through the symlink")
        stderr = result.stderr.decode()
        check("XEONRUN_LOG_FILE" in stderr and "warn" in stderr, f"no warning: {stderr}")
        check(values.get("PLACED_RANK") == str(LAST.index), f"not placed: {values}")


# ---- secure execution (set-user-ID) ----

def secure_setup(tmp):
    """A set-user-ID copy of the probe owned by nobody (so AT_SECURE=1 for root), and a private
    mount namespace in which the library and its engine sit in a trusted system directory with the
    set-user-ID bit, the only way ld.so preloads anything into a secure process."""
    need_root()
    if shutil.which("unshare") is None:
        raise Skip("no unshare")
    if PRELOAD_FIRST:
        raise Skip("a secure process cannot preload the sanitizer runtime by path")
    libdir = "/usr/lib/x86_64-linux-gnu"
    if not os.path.isdir(libdir):
        raise Skip(f"no {libdir}")
    os.chmod(tmp, 0o755)
    upper = os.path.join(tmp, "lib")
    os.mkdir(upper)
    for name in ("libxeonplace.so", "libxeonplace-engine.so"):
        shutil.copy(os.path.join(os.path.dirname(LIB), name), os.path.join(upper, name))
        os.chmod(os.path.join(upper, name), 0o4755)
    # The probe's own dependency: a secure process ignores its build RUNPATH.
    early = os.path.join(os.path.dirname(PROBE), "libhostile_early.so")
    shutil.copy(early, os.path.join(upper, "libhostile_early.so"))
    probe = os.path.join(tmp, "probe_setuid")
    shutil.copy(PROBE, probe)
    nobody = 65534
    os.chown(probe, nobody, nobody)
    os.chmod(probe, 0o4755)
    logs = os.path.join(tmp, "logs")
    os.mkdir(logs)
    os.chmod(logs, 0o1777)
    # A directory a user controls, named by CONDA_PREFIX: never searched for a secure process.
    conda = os.path.join(tmp, "conda")
    os.makedirs(os.path.join(conda, "lib"))
    for name in ("libtcmalloc.so", "libjemalloc.so", "libiomp5.so", "libtcmalloc.so.4",
                 "libjemalloc.so.2", "libomp.so.5"):
        shutil.copy(DEEPBIND, os.path.join(conda, "lib", name))
    # Only the probe gets the placement environment: unshare and sh must not be placed.
    mount = (f"mount -t overlay overlay -o lowerdir={upper}:{libdir} {libdir} || exit 99; "
             'exec env "$@"')
    return probe, logs, conda, ["unshare", "-m", "--propagation", "private", "sh", "-c", mount, "sh"]


def case_secure_execution_no_reexec_no_log_no_untrusted_search():
    with tempfile.TemporaryDirectory(prefix="xp-secure-") as tmp:
        probe, logs, conda, wrapper = secure_setup(tmp)
        log = os.path.join(logs, "xeonplace.log")
        env = {"XEONRUN_RANK": "0", "XEONRUN_NINSTANCES": "1", "XEONRUN_LOG_LEVEL": "debug",
               "XEONRUN_LOG_FILE": log, "CONDA_PREFIX": conda, "VIRTUAL_ENV": conda}
        # LD_PRELOAD by bare name: under AT_SECURE ld.so takes only set-user-ID libraries from
        # trusted directories, which the overlay provides.
        env["LD_PRELOAD"] = "libxeonplace.so"
        assignments = [f"{key}={value}" for key, value in env.items()]
        result = subprocess.run(wrapper + assignments + [probe], env=clean_env(),
                                capture_output=True, timeout=TIMEOUT)
        if result.returncode == 99:
            raise Skip(f"no overlay mounts here: {result.stderr!r}")
        values = parse(result.stdout.decode())
        stderr = result.stderr.decode()
        check(result.returncode == 0, f"exit {result.returncode}: {stderr}")
        check(values.get("AT_SECURE") == "1", f"not a secure-execution process: {values}")
        check(values.get("LOADED") == "1", f"ld.so did not preload the library: {values} {stderr}")
        check(not os.path.exists(log), f"a log file was written under AT_SECURE: {log}")
        check(conda not in values.get("LIBRARIES", "") and conda not in stderr,
              f"took a library from CONDA_PREFIX: {values.get('LIBRARIES')} {stderr}")
        # Placed (affinity is harmless), never re-executed: the PID is the shell's exec'd one and
        # no re-exec guard reached the program.
        check(values.get("PLACED_RANK") == "0", f"not placed: {values} {stderr}")
        check("secure-execution process (AT_SECURE), not re-executing" in stderr,
              f"no word of the skipped re-exec: {stderr}")
        check(not re.search(r"libtcmalloc|libjemalloc|libiomp5|libomp", values.get("LIBRARIES", "")),
              f"a chain-loaded library reached a secure process: {values.get('LIBRARIES')}")


CASES = cases_in(globals())


def all_cases():
    # Listed from BAD_VALUES (meson lists cases before anything is built); the table case checks
    # at test time that BAD_VALUES covers every variable docgen prints.
    cases = dict(CASES)
    for variable in bad_values(""):
        cases["bad_values_" + variable[len("XEONRUN_"):].lower()] = hostile_value_case(variable)
    return cases


if __name__ == "__main__":
    sys.exit(run_case(all_cases()))
