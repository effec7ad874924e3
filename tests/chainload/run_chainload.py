#!/usr/bin/env python3
"""Chain-load tests (issue #4): run real programs with libxeonplace.so preloaded and check, from
what they report about themselves, that after placement the chosen allocator serves malloc, the
chosen OpenMP runtime runs gcc -fopenmp code with the planned threads, and that the re-exec
preserved what it must (pid, argv, fds, stdin, process name) or, when it cannot happen, that the
program still runs with one warning.

    run_chainload.py --list     the case names (one meson test each)
    run_chainload.py CASE       run one case; exit 0 pass, 1 fail, 77 skip (meson's code)
"""
import glob
import os
import resource
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from case_driver import Failure, Skip, cases_in, check, main as run_case  # noqa: E402
from runner_env import placement_free_env  # noqa: E402
from machine import this_machine  # noqa: E402

LIB = os.environ.get("XP_LIB", "")
PROBE_C = os.environ.get("XP_PROBE_C", "")
PROBE_CPP = os.environ.get("XP_PROBE_CPP", "")
PROBE_OMP = os.environ.get("XP_PROBE_OMP", "")
PROBE_PY = os.environ.get("XP_PROBE_PY", "")
CTOR_LIB = os.environ.get("XP_CTOR_LIB", "")
PROBE_ASAN = os.environ.get("XP_PROBE_ASAN", "")
PROBE_SOURCE = os.environ.get("XP_PROBE_SOURCE", "")
MULTIARCH = "/usr/lib/x86_64-linux-gnu"
JEMALLOC = MULTIARCH + "/libjemalloc.so.2"
SIXTEEN_MIB = 16 * 1024 * 1024

# Expected CPUs and thread counts, from the affinity this driver runs under
# (tests/support/machine.py): the one rank of XEONRUN_NINSTANCES=1, and the last rank of two where
# there are two cores (else of one).
MACHINE = this_machine()
WHOLE = MACHINE.plan(1)[0]
NRANKS = MACHINE.ranks_up_to(2)
LAST = MACHINE.plan(NRANKS)[NRANKS - 1]


def clean_env(**extra):
    """The test's environment with only the library preloaded, plus `extra`."""
    env = placement_free_env()
    env["LD_PRELOAD"] = LIB
    env.update(extra)
    return env


def run(argv, env, **kwargs):
    """Runs argv; returns (Popen pid, returncode, stdout, stderr)."""
    stdin_data = kwargs.pop("input", None)
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE if stdin_data is not None
                            else subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)
    out, err = proc.communicate(stdin_data, timeout=60)
    return proc.pid, proc.returncode, out, err


def report(out):
    """key=value lines into a dict (a key seen twice means the program ran twice: kept as list)."""
    values = {}
    for line in out.splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            if key in values:
                raise Failure(f"the program reported {key} twice: it ran twice\n{out}")
            values[key] = value
    return values


def placed(argv, env, **kwargs):
    pid, rc, out, err = run(argv, env, **kwargs)
    check(rc == 0, f"{argv[0]} exited {rc}\nstdout:\n{out}\nstderr:\n{err}")
    return pid, report(out), err


def expect_allocator(r, name, err=""):
    check(name in os.path.basename(r["malloc_object"]),
          f"malloc is served by {r['malloc_object']!r}, expected {name}\n{r}\n{err}")
    api = "tcmalloc" if "tcmalloc" in name else name[len("lib"):]
    check(r["allocator_api"] == api, f"allocator API {r['allocator_api']}, expected {api}")
    growth = int(r["allocator_growth"])
    check(growth >= SIXTEEN_MIB * 0.9,
          f"{api}'s statistics grew by {growth} bytes for 16 MiB allocated: it is not in charge")


def expect_glibc_malloc(r):
    check(os.path.basename(r["malloc_object"]).startswith("libc.so"),
          f"malloc is served by {r['malloc_object']!r}, expected glibc")


def expect_no_guard_left(r):
    check(r["env_XEONRUN_REEXEC_GUARD"] == "<unset>", "the re-exec guard leaked into the program")
    check(r["env_XEONRUN_REEXEC_NAME"] == "<unset>", "XEONRUN_REEXEC_NAME leaked into the program")


def preload_entries(r):
    return [e for e in r["env_LD_PRELOAD"].replace(" ", ":").split(":") if e]


def unplaced_comm(argv, **kwargs):
    """The process name the program has without placement (XEONRUN_DISABLE=1): what the re-exec
    must give back (a #! script via /usr/bin/env ends up named after the interpreter anyway)."""
    _, rc, out, err = run(argv, clean_env(XEONRUN_DISABLE="1"), **kwargs)
    check(rc == 0, f"unplaced run exited {rc}\n{err}")
    return report(out)["comm"]


def have_library(soname):
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    return f"{soname} " in out


# ---------------------------------------------------------------- which allocator serves malloc

def case_c_auto_is_tcmalloc():
    _, r, err = placed([PROBE_C], clean_env(XEONRUN_NINSTANCES="1"))
    expect_allocator(r, "libtcmalloc", err)
    entries = preload_entries(r)
    check(os.path.basename(entries[0]).startswith("libtcmalloc"), f"LD_PRELOAD {entries}")
    check(os.path.basename(entries[1]) == "libiomp5.so", f"LD_PRELOAD {entries}")
    check(entries[-1] == LIB, f"libxeonplace.so not kept last in {entries}")
    check(r["env_MALLOC_CONF"] == "<unset>", "auto must not set MALLOC_CONF")
    check(r["env_XEONRUN_PLACED_CPUS"] == WHOLE.cpus_text,
          f"placed on {r['env_XEONRUN_PLACED_CPUS']}, planned {WHOLE.cpus_text}")
    expect_no_guard_left(r)


def case_c_jemalloc():
    _, r, err = placed([PROBE_C], clean_env(XEONRUN_NINSTANCES="1", XEONRUN_ALLOCATOR="jemalloc"))
    expect_allocator(r, "libjemalloc", err)
    check(r["env_MALLOC_CONF"] == "oversize_threshold:1,background_thread:true,metadata_thp:auto",
          f"MALLOC_CONF {r['env_MALLOC_CONF']}")


def case_c_benchmark_gives_jemalloc_ipexruns_benchmark_malloc_conf():
    # XEONRUN_BENCHMARK=1 (issue #15): ipexrun --benchmark's MALLOC_CONF, for jemalloc chosen by
    # auto too; this jemalloc accepts every pair of it (it names a pair it does not know on stderr).
    _, r, err = placed([PROBE_C], clean_env(XEONRUN_NINSTANCES="1", XEONRUN_BENCHMARK="1",
                                            XEONRUN_ALLOCATOR="jemalloc"))
    expect_allocator(r, "libjemalloc", err)
    check(r["env_MALLOC_CONF"] == "oversize_threshold:1,background_thread:false,"
          "metadata_thp:always,dirty_decay_ms:-1,muzzy_decay_ms:-1",
          f"MALLOC_CONF {r['env_MALLOC_CONF']}")
    check("<jemalloc>" not in err, f"jemalloc refused part of MALLOC_CONF: {err}")


def case_c_jemalloc_keeps_user_malloc_conf():
    _, r, err = placed([PROBE_C], clean_env(XEONRUN_NINSTANCES="1", XEONRUN_ALLOCATOR="jemalloc",
                                            MALLOC_CONF="narenas:2"))
    expect_allocator(r, "libjemalloc", err)
    check(r["env_MALLOC_CONF"] == "narenas:2", f"MALLOC_CONF {r['env_MALLOC_CONF']}")


def case_c_absolute_path_wins():
    _, r, err = placed([PROBE_C], clean_env(XEONRUN_NINSTANCES="1", XEONRUN_ALLOCATOR=JEMALLOC))
    expect_allocator(r, "libjemalloc", err)
    check(preload_entries(r)[0] == JEMALLOC, f"LD_PRELOAD {r['env_LD_PRELOAD']}")


def case_c_already_preloaded_allocator_is_not_added_twice():
    env = clean_env(XEONRUN_NINSTANCES="1")
    env["LD_PRELOAD"] = JEMALLOC + ":" + LIB
    _, r, err = placed([PROBE_C], env)
    expect_allocator(r, "libjemalloc", err)  # auto did not add tcmalloc over it
    entries = preload_entries(r)
    check(sum("malloc" in e for e in entries) == 1, f"two allocators in {entries}")
    check(entries.count(LIB) == 1, f"libxeonplace.so twice in {entries}")


def case_cpp_tcmalloc():
    _, r, err = placed([PROBE_CPP], clean_env(XEONRUN_NINSTANCES="1",
                                              XEONRUN_ALLOCATOR="tcmalloc"))
    expect_allocator(r, "libtcmalloc", err)


def case_cpp_jemalloc():
    _, r, err = placed([PROBE_CPP], clean_env(XEONRUN_NINSTANCES="1",
                                              XEONRUN_ALLOCATOR="jemalloc"))
    expect_allocator(r, "libjemalloc", err)


def case_python_tcmalloc():
    _, r, err = placed([sys.executable, PROBE_PY], clean_env(XEONRUN_NINSTANCES="1"))
    expect_allocator(r, "libtcmalloc", err)
    expect_no_guard_left(r)


def case_python_jemalloc():
    _, r, err = placed([sys.executable, PROBE_PY],
                       clean_env(XEONRUN_NINSTANCES="1", XEONRUN_ALLOCATOR="jemalloc"))
    expect_allocator(r, "libjemalloc", err)


def case_default_allocator_keeps_glibc_and_needs_no_reexec():
    _, r, err = placed([PROBE_C], clean_env(XEONRUN_NINSTANCES="1", XEONRUN_ALLOCATOR="default",
                                            XEONRUN_OMP_RUNTIME="default",
                                            XEONRUN_LOG_LEVEL="debug"))
    expect_glibc_malloc(r)
    check("nothing to load, no re-exec" in err, f"stderr:\n{err}")
    check(r["env_LD_PRELOAD"] == LIB, f"LD_PRELOAD changed to {r['env_LD_PRELOAD']}")


# ---------------------------------------------------------------- OpenMP

def omp_report(**extra):
    _, r, err = placed([PROBE_OMP], clean_env(XEONRUN_ALLOCATOR="default", **extra))
    threads = [r[f"thread{t}_cpus"] for t in range(int(r["team"]))]
    return r, threads, err


def one_thread_per_cpu(rank):
    """The masks of a team bound one thread per CPU of the rank, in any order."""
    return sorted(str(cpu) for cpu in rank.cpus)


def case_omp_intel_runs_on_llvm_libomp_with_the_planned_threads():
    r, threads, err = omp_report(XEONRUN_NINSTANCES="1")
    check(r["libomp_mapped"] == "1", f"LLVM libomp is not mapped\n{r}\n{err}")
    check("libomp" in os.path.basename(r["gomp_parallel_object"]),
          f"GOMP_parallel is served by {r['gomp_parallel_object']}, not libomp")
    check(r["team"] == str(WHOLE.threads), f"team of {r['team']} threads, planned {WHOLE.threads}")
    # KMP_AFFINITY=granularity=fine,compact: one CPU per thread, all different.
    check(sorted(threads) == one_thread_per_cpu(WHOLE),
          f"threads bound to {threads}, planned one CPU each of {WHOLE.cpus_text}")


def case_omp_intel_rank_has_one_thread_per_cpu_of_its_slice():
    r, threads, err = omp_report(XEONRUN_RANK=str(LAST.index), XEONRUN_NINSTANCES=str(NRANKS))
    check("libomp" in os.path.basename(r["gomp_parallel_object"]), f"{r}\n{err}")
    check(r["team"] == str(LAST.threads), f"team of {r['team']} threads, planned {LAST.threads}")
    check(sorted(threads) == one_thread_per_cpu(LAST),
          f"threads bound to {threads}, planned one each on {LAST}")


def case_omp_default_runs_on_libgomp_with_the_planned_threads():
    # libgomp read its environment before the constructor: only the re-exec can give it the plan.
    r, threads, err = omp_report(XEONRUN_RANK=str(LAST.index), XEONRUN_NINSTANCES=str(NRANKS),
                                 XEONRUN_OMP_RUNTIME="default")
    check("libgomp" in os.path.basename(r["gomp_parallel_object"]), f"{r}\n{err}")
    check(r["libomp_mapped"] == "0", "LLVM libomp mapped although the runtime is default")
    check(r["team"] == str(LAST.threads),
          f"libgomp ran {r['team']} threads, planned {LAST.threads} (it saw the old env)")
    check(sorted(threads) == one_thread_per_cpu(LAST), f"threads on {threads}, planned {LAST}")


def case_omp_default_binds_libgomp_threads_one_per_core():
    r, threads, err = omp_report(XEONRUN_NINSTANCES="1", XEONRUN_OMP_RUNTIME="default")
    check("libgomp" in os.path.basename(r["gomp_parallel_object"]), f"{r}\n{err}")
    check(r["team"] == str(WHOLE.threads), f"team of {r['team']}, planned {WHOLE.threads}")
    check(sorted(threads) == one_thread_per_cpu(WHOLE),
          f"libgomp threads on {threads}: OMP_PROC_BIND not seen")


# ---------------------------------------------------------------- what the re-exec preserves

def case_preserves_pid_argv_fds_stdin_and_name():
    args = ["with space", "", "two\nlines", "back\\slash", "-"]
    read_fd, write_fd = os.pipe()
    try:
        os.dup2(write_fd, 5)
        pid, rc, out, err = run([PROBE_C] + args, clean_env(XEONRUN_NINSTANCES="1",
                                                            PROBE_READ_STDIN="1"),
                                input="unread line 1\nunread line 2\n", pass_fds=(5,))
    finally:
        os.close(5)
        os.close(write_fd)
        os.close(read_fd)
    check(rc == 0, f"exit {rc}\n{err}")
    r = report(out)
    expect_allocator(r, "libtcmalloc", err)
    check(int(r["pid"]) == pid, f"pid {r['pid']} after the re-exec, started as {pid}")
    check(int(r["argc"]) == len(args) + 1, f"argc {r['argc']}")
    for i, arg in enumerate(args, start=1):
        expected = arg.replace("\\", "\\\\").replace("\n", "\\n")
        check(r[f"argv{i}"] == expected, f"argv[{i}] is {r[f'argv{i}']!r}, expected {expected!r}")
    check(r["fd5_open"] == "1", "fd 5 did not survive the re-exec")
    check(r["stdin"] == "unread line 1\\nunread line 2\\n", f"stdin read as {r['stdin']!r}")
    check(r["comm"] == os.path.basename(PROBE_C)[:15], f"process name {r['comm']!r}")
    check(r["comm"] == unplaced_comm([PROBE_C]), "process name differs from an unplaced run")


def case_program_started_by_relative_path():
    directory, name = os.path.split(PROBE_C)
    _, r, err = placed(["./" + name, "x"], clean_env(XEONRUN_NINSTANCES="1"), cwd=directory)
    expect_allocator(r, "libtcmalloc", err)
    check(r["argv0"] == "./" + name, f"argv[0] {r['argv0']!r}")


def shebang(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)
    return path


BASH_SCRIPT = """#!/bin/bash
echo "pid=$$"
echo "argc=$#"
i=1; for a in "$@"; do printf 'arg%d=%s\\n' "$i" "${a//$'\\n'/\\\\n}"; i=$((i+1)); done
echo "tcmalloc_maps=$(grep -c libtcmalloc /proc/$$/maps)"
echo "comm=$(cat /proc/$$/comm)"
echo "guard=${XEONRUN_REEXEC_GUARD-<unset>}"
echo "omp=${OMP_NUM_THREADS-<unset>}"
"""


def case_bash_script():
    with tempfile.TemporaryDirectory() as tmp:
        script = shebang(tmp, "chainload.sh", BASH_SCRIPT)
        pid, rc, out, err = run([script, "a b", "", "c\nd"], clean_env(XEONRUN_NINSTANCES="1"))
    check(rc == 0, f"exit {rc}\n{out}\n{err}")
    r = report(out)
    check(int(r["pid"]) == pid, f"pid {r['pid']} vs {pid}")
    check(r["argc"] == "3" and r["arg1"] == "a b" and r["arg2"] == "" and r["arg3"] == "c\\nd",
          f"arguments {r}")
    check(int(r["tcmalloc_maps"]) > 0, f"tcmalloc not mapped in bash\n{err}")
    check(r["comm"] == "chainload.sh", f"process name {r['comm']!r}")
    check(r["guard"] == "<unset>", "guard leaked into bash")
    check(r["omp"] == str(WHOLE.threads),
          f"OMP_NUM_THREADS={r['omp']} in bash, planned {WHOLE.threads}\n{err}")


def python_script_case(interpreter_line):
    with tempfile.TemporaryDirectory() as tmp:
        with open(PROBE_PY) as f:
            body = f.read()
        script = shebang(tmp, "chainload_probe.py", interpreter_line + "\n" + body)
        pid, rc, out, err = run([script, "x y", ""], clean_env(XEONRUN_NINSTANCES="1"))
        expected_comm = unplaced_comm([script, "x y", ""])
    check(rc == 0, f"exit {rc}\n{out}\n{err}")
    r = report(out)
    expect_allocator(r, "libtcmalloc", err)
    check(int(r["pid"]) == pid, f"pid {r['pid']} vs {pid}")
    check(r["argv1"] == "x y" and r["argv2"] == "", f"arguments {r}")
    check(r["comm"] == expected_comm, f"process name {r['comm']!r}, unplaced {expected_comm!r}")
    expect_no_guard_left(r)


def case_python_script_direct_interpreter():
    python_script_case("#!" + os.path.realpath(sys.executable))


def case_python_script_via_env():
    python_script_case("#!/usr/bin/env python3")


def case_children_inherit_libraries_and_do_not_place_again():
    env = clean_env(XEONRUN_NINSTANCES="1", XEONRUN_LOG_LEVEL="info")
    pid, rc, out, err = run(["/bin/sh", "-c", f"exec {PROBE_C} child"], env)
    # sh is placed and re-executed; `exec` keeps the pid, the probe is a "child" image of it.
    check(rc == 0, f"exit {rc}\n{err}")
    r = report(out)
    expect_allocator(r, "libtcmalloc", err)
    check(err.count("info: rank") == 1, f"placed more than once:\n{err}")
    pid, rc, out, err = run(["/bin/sh", "-c", f"{PROBE_C} child; true"], env)
    check(rc == 0, f"exit {rc}\n{err}")
    r = report(out)
    expect_allocator(r, "libtcmalloc", err)
    check(int(r["pid"]) != pid, "expected a child process")
    check(err.count("info: rank") == 1, f"the child placed itself again:\n{err}")


# ---------------------------------------------------------------- when the libraries cannot come

def case_missing_library_warns_once_and_runs():
    env = clean_env(XEONRUN_NINSTANCES="1", XEONRUN_ALLOCATOR="mimalloc",
                    XEONRUN_OMP_RUNTIME="default")
    pid, rc, out, err = run([PROBE_C], env)
    check(rc == 0, f"exit {rc}\n{err}")
    r = report(out)
    if have_library("libmimalloc.so.2"):
        # Installed here after all: then it must serve malloc.
        check("libmimalloc" in r["malloc_object"], f"mimalloc installed but not serving malloc {r}")
        return
    expect_glibc_malloc(r)
    lines = [l for l in err.splitlines() if "mimalloc" in l]
    check(len(lines) == 1, f"expected one warning about mimalloc:\n{err}")
    check("warning" in lines[0] and "XEONRUN_ALLOCATOR" in lines[0]
          and "libmimalloc2.0" in lines[0] and MULTIARCH in lines[0], f"warning: {lines[0]}")


def case_warnings_before_the_reexec_are_not_repeated_after_it():
    # The re-executed image plans again; what the first image already said must not print twice.
    mine = str(WHOLE.threads + 6)  # not the plan's
    env = clean_env(XEONRUN_NINSTANCES="1", OMP_NUM_THREADS=mine, XEONRUN_LOG_LEVEL="info")
    _, r, err = placed([PROBE_C], env)
    expect_allocator(r, "libtcmalloc", err)
    kept = [l for l in err.splitlines() if f"OMP_NUM_THREADS={mine} kept from the environment" in l]
    check(len(kept) == 1, f"expected the kept-value warning once:\n{err}")
    summaries = [l for l in err.splitlines() if l.startswith("xeonplace: info: rank 0 of 1")]
    check(len(summaries) == 1, f"expected one info line for the rank:\n{err}")


def case_missing_absolute_path_warns_and_runs():
    env = clean_env(XEONRUN_NINSTANCES="1", XEONRUN_ALLOCATOR="/nonexistent/libjemalloc.so.2",
                    XEONRUN_OMP_RUNTIME="default")
    pid, rc, out, err = run([PROBE_C], env)
    check(rc == 0, f"exit {rc}\n{err}")
    expect_glibc_malloc(report(out))
    check(err.count("/nonexistent/libjemalloc.so.2") == 1 and "warning" in err, f"stderr:\n{err}")


def case_loop_guard_stops_a_second_reexec():
    # A file named like jemalloc that ld.so refuses: found, preloaded, re-exec, still not loaded.
    with tempfile.TemporaryDirectory() as tmp:
        fake = os.path.join(tmp, "libjemalloc.so.2")
        with open(fake, "w") as f:
            f.write("not an ELF file\n")
        env = clean_env(XEONRUN_NINSTANCES="1", XEONRUN_ALLOCATOR=fake,
                        XEONRUN_OMP_RUNTIME="default")
        pid, rc, out, err = run([PROBE_C], env)
    check(rc == 0, f"exit {rc}\n{err}")
    r = report(out)  # fails if the program ran twice
    expect_glibc_malloc(r)
    check(int(r["pid"]) == pid, "pid changed")
    check(err.count("still not loaded") == 1, f"expected one guard warning:\n{err}")
    expect_no_guard_left(r)


def case_guard_of_this_pid_prevents_the_reexec():
    env = clean_env(XEONRUN_NINSTANCES="1", XEONRUN_OMP_RUNTIME="default")
    pid, rc, out, err = run(["/bin/sh", "-c",
                             f'XEONRUN_REEXEC_GUARD=$$ LD_PRELOAD="{LIB}" exec {PROBE_C}'],
                            {**env, "LD_PRELOAD": ""})
    check(rc == 0, f"exit {rc}\n{err}")
    r = report(out)
    expect_glibc_malloc(r)
    check("still not loaded" in err, f"stderr:\n{err}")
    expect_no_guard_left(r)


def case_e2big_warns_and_runs():
    # ARG_MAX is a quarter of the stack limit, at least 128 KiB: with a 512 KiB stack limit an
    # environment that just fits leaves no room for the longer LD_PRELOAD of the re-exec.
    def small_stack():
        resource.setrlimit(resource.RLIMIT_STACK, (512 * 1024, resource.RLIM_INFINITY))

    def env_with(pad, disable):
        return clean_env(XEONRUN_NINSTANCES="1", XEONRUN_OMP_RUNTIME="default",
                         XEONRUN_DISABLE=disable, PAD="x" * pad)

    def starts(pad):
        try:
            _, rc, _, _ = run([PROBE_C], env_with(pad, "1"), preexec_fn=small_stack)
            return rc == 0
        except OSError:
            return False

    lo, hi = 1000, 131072  # starts(lo), not starts(hi)
    check(starts(lo) and not starts(hi), "could not bracket the execve size limit")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if starts(mid) else (lo, mid)
    # XEONRUN_DISABLE=0 has the same length as =1: the first exec fits, the re-exec cannot.
    pid, rc, out, err = run([PROBE_C], env_with(lo, "0"), preexec_fn=small_stack)
    check(rc == 0, f"exit {rc}\n{err}")
    r = report(out)
    expect_glibc_malloc(r)
    check("E2BIG" in err and err.count("warning") == 1, f"stderr:\n{err}")
    check(int(r["pid"]) == pid, "pid changed")


def case_no_proc_warns_and_runs():
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        raise Skip("needs root and unshare to hide /proc")
    script = f'mount -t tmpfs none /proc && LD_PRELOAD="{LIB}" exec {PROBE_C}'
    env = clean_env(XEONRUN_NINSTANCES="1", XEONRUN_OMP_RUNTIME="default")
    env["LD_PRELOAD"] = ""
    pid, rc, out, err = run(["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script],
                            env)
    if rc != 0 and "unshare failed" in err:
        raise Skip(f"unshare not permitted here: {err.strip()}")
    check(rc == 0, f"exit {rc}\n{out}\n{err}")
    r = report(out)
    check(r["malloc_object"] == "", f"/proc was visible: {r['malloc_object']}")
    check("/proc" in err and "not re-executing" in err, f"stderr:\n{err}")
    check(err.count("warning") == 1, f"expected one warning:\n{err}")



# ---------------------------------------------------------------- seen from the tools (issue #12)

def expect_placed_on(r, rank, err=""):
    check(r["env_XEONRUN_PLACED_CPUS"] == rank.cpus_text,
          f"placed on {r['env_XEONRUN_PLACED_CPUS']}, planned {rank.cpus_text}\n{err}")
    affinity = sorted(int(c) for c in r["affinity"].split(",") if c)
    check(affinity == sorted(rank.cpus), f"runs on CPUs {affinity}, planned {rank.cpus_text}")


def gdb_session(startup_with_shell):
    """gdb runs the probe with the placement variables given to the inferior only, stops at a
    breakpoint in main and continues: (gdb's output, the probe's report)."""
    gdb = shutil.which("gdb")
    if gdb is None:
        raise Skip("gdb is not installed (tools/setup.sh installs it)")
    commands = [f"set startup-with-shell {'on' if startup_with_shell else 'off'}",
                f"set environment LD_PRELOAD={LIB}",
                "set environment XEONRUN_NINSTANCES=1",
                "break main", "run", "continue"]
    argv = [gdb, "-nx", "-batch"]
    for command in commands:
        argv += ["-ex", command]
    _, rc, out, err = run(argv + ["--args", PROBE_C, "under-gdb"], placement_free_env())
    if "ptrace: Operation not permitted" in out + err:
        raise Skip("ptrace is not permitted here")
    both = out + err
    check(rc == 0, f"gdb exited {rc}\n{both}")
    check("Cannot insert breakpoint" not in both, f"gdb lost the process\n{both}")
    check("Breakpoint 1, main" in both, f"the breakpoint in main was not hit\n{both}")
    check("exited normally" in both, f"the program did not run to its end\n{both}")
    values = {}
    for line in out.splitlines():
        if "=" in line and not line.startswith(("Breakpoint", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key, value)
    return both, values


def expect_one_debugger_warning(both):
    warnings = [l for l in both.splitlines() if "traced by a debugger" in l]
    check(len(warnings) == 1, f"expected the debugger warning once:\n{both}")


def case_gdb_breakpoint_in_main_is_hit_and_the_program_placed():
    both, r = gdb_session(startup_with_shell=False)
    expect_placed_on(r, WHOLE, both)
    check(r["argv1"] == "under-gdb", f"argv {r}")
    expect_one_debugger_warning(both)


def case_gdb_startup_shell_is_traced_too():
    # gdb starts `/bin/sh -c exec PROBE`: the shell is placed (not re-executed), the probe it
    # becomes inherits the placement and says nothing more.
    both, r = gdb_session(startup_with_shell=True)
    expect_placed_on(r, WHOLE, both)
    expect_one_debugger_warning(both)


def constructor_lines(err, what="constructor"):
    return [l for l in err.splitlines() if l.startswith(f"cl_ctor: {what} ")]


def with_ctor_lib(preload, **extra):
    """The C probe placed as one rank with LD_PRELOAD `preload`: (report, stderr)."""
    env = clean_env(XEONRUN_NINSTANCES="1", **extra)
    env["LD_PRELOAD"] = preload
    _, r, err = placed([PROBE_C], env)
    return r, err


def case_constructor_of_a_library_initialised_first_runs_twice_by_default():
    # LD_PRELOAD objects are initialised last first: CTOR_LIB, after libxeonplace.so, runs its
    # constructor before ours, in the first image and again in the re-executed one (documented:
    # README "The re-exec, seen from your tools", design.md §6); its destructor runs once.
    r, err = with_ctor_lib(LIB + ":" + CTOR_LIB)
    expect_allocator(r, "libtcmalloc", err)
    check(len(constructor_lines(err)) == 2, f"expected the constructor twice:\n{err}")
    check(len(constructor_lines(err, "destructor")) == 1, f"expected one destructor:\n{err}")


def case_constructor_of_a_library_initialised_after_ours_runs_once():
    r, err = with_ctor_lib(CTOR_LIB + ":" + LIB)
    expect_allocator(r, "libtcmalloc", err)
    check(len(constructor_lines(err)) == 1, f"expected the constructor once:\n{err}")


def case_reexec_never_runs_constructors_once_and_still_places():
    r, err = with_ctor_lib(LIB + ":" + CTOR_LIB, XEONRUN_REEXEC="never")
    check(len(constructor_lines(err)) == 1, f"expected the constructor once:\n{err}")
    expect_glibc_malloc(r)
    expect_placed_on(r, WHOLE, err)
    warnings = [l for l in err.splitlines() if "warning" in l]
    check(len(warnings) == 1 and "XEONRUN_REEXEC=never" in warnings[0]
          and "libtcmalloc" in warnings[0], f"expected one warning naming what is missing:\n{err}")


def asan_runs(probe, env):
    pid, rc, out, err = run([probe], env)
    check(rc == 0, f"the sanitized program exited {rc}\nstdout:\n{out}\nstderr:\n{err}")
    r = report(out)
    check("libtcmalloc" not in r["malloc_object"] and "libjemalloc" not in r["malloc_object"],
          f"an allocator was chained in front of the sanitizer: {r['malloc_object']}")
    check(not any("malloc" in os.path.basename(e) for e in preload_entries(r)),
          f"LD_PRELOAD {r['env_LD_PRELOAD']}")
    check(any(os.path.basename(e) == "libiomp5.so" for e in preload_entries(r)),
          f"the OpenMP runtime was not chained: LD_PRELOAD {r['env_LD_PRELOAD']}\n{err}")
    expect_placed_on(r, WHOLE, err)
    warnings = [l for l in err.splitlines() if "sanitizer" in l]
    check(len(warnings) == 1 and err.count("warning") == 1,
          f"expected one warning about the sanitizer:\n{err}")


def asan_runtime_of(probe):
    out = subprocess.run(["ldd", probe], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "libasan" in line and "=>" in line:
            return line.split("=>")[1].split()[0]
    raise Failure(f"{probe} is not linked with a shared libasan:\n{out}")


def case_gcc_asan_program_gets_no_allocator_but_the_openmp_runtime():
    if not PROBE_ASAN:
        raise Skip("the compiler has no AddressSanitizer runtime")
    # GCC links libasan.so dynamically, and ASan insists on being first: preloaded first, as its
    # own message asks, or with its link-order check off.
    # The probe keeps its 16 MiB on purpose: no leak report.
    env = clean_env(XEONRUN_NINSTANCES="1", XEONRUN_ALLOCATOR="jemalloc",
                    ASAN_OPTIONS="detect_leaks=0")
    env["LD_PRELOAD"] = asan_runtime_of(PROBE_ASAN) + ":" + LIB
    asan_runs(PROBE_ASAN, env)
    # Without the fix this one dies of SIGSEGV before main: tcmalloc in front of libasan.
    asan_runs(PROBE_ASAN, clean_env(XEONRUN_NINSTANCES="1",
                                    ASAN_OPTIONS="detect_leaks=0:verify_asan_link_order=0"))


def case_clang_static_asan_program_gets_no_allocator():
    clang = shutil.which("clang")
    if clang is None:
        raise Skip("clang is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        probe = os.path.join(tmp, "probe_clang_asan")
        built = subprocess.run([clang, "-fsanitize=address", "-o", probe, PROBE_SOURCE, "-ldl"],
                               capture_output=True, text=True)
        if built.returncode != 0:
            raise Skip(f"clang cannot build with -fsanitize=address: {built.stderr.strip()}")
        asan_runs(probe, clean_env(XEONRUN_NINSTANCES="1", ASAN_OPTIONS="detect_leaks=0"))


# Starts argv with exactly `entries` as its environment (duplicates kept: Python's own exec
# functions take a mapping). Run by a clean python3, so nothing is preloaded into it.
EXEC_WITH_ENTRIES = """
import ctypes, json, sys
argv, entries = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
def array(items):
    a = (ctypes.c_char_p * (len(items) + 1))(*[i.encode() for i in items])
    a[len(items)] = None
    return a
libc.execve(argv[0].encode(), array(argv), array(entries))
sys.exit(f"execve: {ctypes.get_errno()}")
"""


def run_with_entries(argv, entries):
    import json
    pid, rc, out, err = run([sys.executable, "-c", EXEC_WITH_ENTRIES, json.dumps([argv, entries])],
                            placement_free_env())
    check(rc == 0, f"exit {rc}\nstdout:\n{out}\nstderr:\n{err}")
    return report(out), err


def case_duplicate_ld_preload_the_loaders_entry_is_the_one_chained():
    # ld.so loads the last LD_PRELOAD (glibc's elf/rtld.c reads every entry, each overwriting the
    # one before); getenv() sees the first. The library must chain from what was loaded, and the
    # program must end up with exactly one LD_PRELOAD.
    tcmalloc = glob.glob(os.path.join(MULTIARCH, "libtcmalloc.so.4"))[0]
    base = [f"{k}={v}" for k, v in placement_free_env().items() if k != "LD_PRELOAD"]
    entries = base + [f"LD_PRELOAD={tcmalloc}", "XEONRUN_NINSTANCES=1",
                      "XEONRUN_ALLOCATOR=jemalloc", f"LD_PRELOAD={LIB}"]
    r, err = run_with_entries([PROBE_C], entries)
    expect_allocator(r, "libjemalloc", err)
    check(r["ld_preload_entries"] == "1", f"{r['ld_preload_entries']} LD_PRELOAD entries")
    check("already serves" not in err, f"the library read the entry ld.so did not use:\n{err}")
    expect_placed_on(r, WHOLE, err)


def case_duplicate_ld_preload_without_new_libraries_leaves_one_entry():
    # A re-exec that adds nothing (libgomp read stale settings) still leaves one LD_PRELOAD.
    base = [f"{k}={v}" for k, v in placement_free_env().items() if k != "LD_PRELOAD"]
    entries = base + ["LD_PRELOAD=/nonexistent/first.so", "XEONRUN_NINSTANCES=1",
                      "XEONRUN_ALLOCATOR=default", "XEONRUN_OMP_RUNTIME=default",
                      f"LD_PRELOAD={LIB}"]
    r, err = run_with_entries([PROBE_OMP], entries)
    check(r["ld_preload_entries"] == "1", f"{r['ld_preload_entries']} LD_PRELOAD entries\n{err}")
    check(r.get("env_LD_PRELOAD", LIB) == LIB, f"LD_PRELOAD {r.get('env_LD_PRELOAD')}")
    check(r["team"] == str(WHOLE.threads), f"libgomp ran {r['team']} threads\n{err}")


CASES = cases_in(globals())


def require_test_inputs():
    for path in (LIB, PROBE_C, PROBE_CPP, PROBE_OMP, PROBE_PY, CTOR_LIB, PROBE_SOURCE):
        check(path and os.path.exists(path), f"missing test input {path!r}: run through meson test")
    for soname in ("libjemalloc.so.2", "libtcmalloc.so.4", "libiomp5.so"):
        check(glob.glob(os.path.join(MULTIARCH, soname)),
              f"{soname} is not installed: tools/setup.sh installs it")


if __name__ == "__main__":
    sys.exit(run_case(CASES, require_test_inputs))
