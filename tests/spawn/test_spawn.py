#!/usr/bin/env python3
"""xeonrun-spawn with real processes: ranks, tags, logs, exit codes, signals, the plan preview.

Environment (set by meson): XEONRUN_SPAWN (the executable), XEONPLACE_FIXTURES (tests/fixtures),
XEONPLACE_SHIM (the build tree's libxeonplace.so, only for the placement test).
Supervision tests run with `--library ''` on the pytorch fixture's topology, so they depend neither
on the library nor on how many CPUs this machine has; the placement test takes its expected CPUs
from the affinity it runs under (tests/support/machine.py)."""

import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from machine import cpu_ids as cpu_list, this_machine  # noqa: E402
from runner_env import placement_free_env as clean_env  # noqa: E402

SPAWN = os.environ["XEONRUN_SPAWN"]
FIXTURES = os.environ["XEONPLACE_FIXTURES"]
SHIM = os.environ.get("XEONPLACE_SHIM", "")
PYTORCH_FIXTURE = "lscpu:" + os.path.join(FIXTURES, "pytorch_test_2s4c_ht.lscpu")
PY = sys.executable


def spawn(args, env=None, timeout=60, **kw):
    return subprocess.run([SPAWN] + args, capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else clean_env(), **kw)


def on_fixture(flags):
    """`flags` planned on the pytorch fixture (8 cores) unless they name a topology: ranks that
    are not placed need not fit this machine."""
    has_topology = any(flag.startswith("--topology") for flag in flags)
    return flags if has_topology else ["--topology", PYTORCH_FIXTURE] + flags


def run_ranks(flags, program, env=None, timeout=60):
    """Runs `program` (argv list) with --no-python and no library, on the pytorch fixture."""
    return spawn(["--library", ""] + on_fixture(flags) + ["--no-python", "--"] + program, env=env,
                 timeout=timeout)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purpose; read its state
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class RanksAndTags(unittest.TestCase):
    def test_two_ranks_each_line_tagged_with_its_rank(self):
        r = run_ranks(["--ninstances", "2"], ["sh", "-c", "echo hello $XEONRUN_RANK of $XEONRUN_NINSTANCES"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.splitlines()), ["[run0] hello 0 of 2", "[run1] hello 1 of 2"])

    def test_four_ranks_on_a_fixture_topology(self):
        r = run_ranks(["--topology", PYTORCH_FIXTURE, "--ninstances", "4"],
                      ["sh", "-c", "echo r$XEONRUN_RANK; echo e$XEONRUN_RANK >&2"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.splitlines()), [f"[run{i}] r{i}" for i in range(4)])
        for i in range(4):
            self.assertIn(f"[run{i}] e{i}\n", r.stderr)

    def test_stderr_lines_go_to_stderr_and_stdout_lines_to_stdout(self):
        r = run_ranks(["--ninstances", "1"], ["sh", "-c", "echo out; echo err >&2"])
        self.assertEqual(r.stdout, "[run0] out\n")
        self.assertIn("[run0] err\n", r.stderr)
        self.assertNotIn("out", r.stderr.replace("xeonrun-spawn", ""))

    def test_tag_follows_log_file_prefix(self):
        r = run_ranks(["--ninstances", "1", "--log-file-prefix", "job"], ["echo", "x"])
        self.assertEqual(r.stdout, "[job0] x\n")

    def test_rank_flag_runs_only_that_rank(self):
        r = run_ranks(["--ninstances", "2", "--rank", "1"], ["sh", "-c", "echo $XEONRUN_RANK/$XEONRUN_NINSTANCES"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "[run1] 1/2\n")

    def test_summary_line_per_rank_with_cpus_status_and_wall_time(self):
        r = run_ranks(["--topology", PYTORCH_FIXTURE, "--ninstances", "2"], ["true"])
        lines = [l for l in r.stderr.splitlines() if l.startswith("xeonrun-spawn: rank")]
        self.assertEqual(len(lines), 2, r.stderr)
        self.assertRegex(lines[0], r"^xeonrun-spawn: rank 0  cpus 0-3  exit 0  wall \d+\.\d{3}s$")
        self.assertRegex(lines[1], r"^xeonrun-spawn: rank 1  cpus 4-7  exit 0  wall \d+\.\d{3}s$")


class Output(unittest.TestCase):
    PROGRAM = ("import os,sys\n"
               "r=os.environ['XEONRUN_RANK']\n"
               "out=''.join(f'rank {r} line {i:06d} ' + 'x'*(i%200) + '\\n' for i in range(int(sys.argv[1])))\n"
               "sys.stdout.write(out); sys.stdout.flush()\n"
               "sys.stderr.write(out[:len(out)//4]); sys.stderr.flush()\n")

    def expected(self, rank, n):
        return "".join(f"rank {rank} line {i:06d} " + "x" * (i % 200) + "\n" for i in range(n))

    def test_one_megabyte_per_rank_arrives_whole_on_console_and_in_logs(self):
        n = 9000  # about 1 MB per rank
        with tempfile.TemporaryDirectory() as logs:
            r = run_ranks(["--ninstances", "2", "--log-path", logs],
                          [PY, "-c", self.PROGRAM, str(n)])
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            for rank in range(2):
                want = self.expected(rank, n)
                self.assertGreater(len(want), 1_000_000)
                tag = f"[run{rank}] "
                got = "".join(l[len(tag):] + "\n" for l in r.stdout.splitlines() if l.startswith(tag))
                self.assertEqual(got, want, f"console output of rank {rank} spliced or lost")
                with open(os.path.join(logs, f"run_rank{rank}.log")) as f:
                    self.assertEqual(f.read(), want)
                with open(os.path.join(logs, f"run_rank{rank}.err")) as f:
                    self.assertEqual(f.read(), want[:len(want) // 4])
            # every console line belongs to exactly one rank: no splices
            for line in r.stdout.splitlines():
                self.assertRegex(line, r"^\[run([01])\] rank \1 line \d{6} x*$")

    def test_output_without_final_newline_is_flushed_with_one_added(self):
        with tempfile.TemporaryDirectory() as logs:
            r = run_ranks(["--ninstances", "2", "--log-path", logs],
                          ["sh", "-c", "printf \"first\\npartial-$XEONRUN_RANK\"; printf e >&2"])
            self.assertEqual(r.returncode, 0, r.stderr)
            for rank in range(2):
                self.assertIn(f"[run{rank}] first\n", r.stdout)
                self.assertIn(f"[run{rank}] partial-{rank}\n", r.stdout)
                self.assertIn(f"[run{rank}] e\n", r.stderr)
                with open(os.path.join(logs, f"run_rank{rank}.log")) as f:
                    self.assertEqual(f.read(), f"first\npartial-{rank}")  # logs keep the bytes

    def test_closed_console_does_not_stop_the_ranks_or_the_logs(self):
        # like `xeonrun-spawn ... | head -1`: the console reader goes away, the run goes on
        with tempfile.TemporaryDirectory() as logs:
            flags = on_fixture(["--ninstances", "2", "--log-path", logs])
            p = subprocess.Popen([SPAWN, "--library", "", *flags,
                                  "--no-python", PY, "-c", self.PROGRAM, "20000"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
            p.stdout.readline()
            p.stdout.close()
            with p.stderr:
                err = p.stderr.read().decode()
            p.wait(timeout=60)
            self.assertEqual(p.returncode, 0, err[-2000:])
            self.assertEqual(err.count("exit 0"), 2, err[-2000:])
            for rank in range(2):
                with open(os.path.join(logs, f"run_rank{rank}.log")) as f:
                    self.assertEqual(f.read(), self.expected(rank, 20000))

    def test_existing_non_empty_log_dir_is_reused_and_logs_are_rewritten(self):
        with tempfile.TemporaryDirectory() as logs:
            with open(os.path.join(logs, "run_rank0.log"), "w") as f:
                f.write("old contents\n")
            with open(os.path.join(logs, "other"), "w") as f:
                f.write("kept\n")
            r = run_ranks(["--ninstances", "1", "--log-path", logs], ["echo", "new"])
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(logs, "run_rank0.log")) as f:
                self.assertEqual(f.read(), "new\n")
            self.assertTrue(os.path.exists(os.path.join(logs, "other")))

    def test_log_path_is_created_with_parents(self):
        with tempfile.TemporaryDirectory() as top:
            logs = os.path.join(top, "a", "b")
            r = run_ranks(["--ninstances", "1", "--log_path", logs], ["echo", "x"])
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(logs, "run_rank0.log")) as f:
                self.assertEqual(f.read(), "x\n")

    def test_unusable_log_path_is_an_error_before_any_rank_starts(self):
        with tempfile.TemporaryDirectory() as top:
            a_file = os.path.join(top, "file")
            with open(a_file, "w") as f:
                f.write("")
            marker = os.path.join(top, "ran")
            for bad in (a_file, os.path.join(a_file, "sub")):
                r = run_ranks(["--ninstances", "1", "--log-path", bad], ["touch", marker])
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("--log-path", r.stderr)
                self.assertIn(bad.split("/sub")[0], r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                self.assertFalse(os.path.exists(marker), "a rank ran despite the bad log path")


class ExitStatus(unittest.TestCase):
    def test_all_ranks_succeed_exit_zero(self):
        self.assertEqual(run_ranks(["--ninstances", "2"], ["true"]).returncode, 0)

    def test_rank_exit_code_is_the_launchers(self):
        r = run_ranks(["--ninstances", "2"], ["sh", "-c", "[ $XEONRUN_RANK = 1 ] && exit 3; exit 0"])
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertRegex(r.stderr, r"rank 1  cpus \S+  exit 3")

    def test_rank_killed_by_signal_gives_128_plus_n(self):
        r = run_ranks(["--ninstances", "1"], ["sh", "-c", "kill -9 $$"])
        self.assertEqual(r.returncode, 137, r.stderr)
        self.assertIn("killed by signal 9 (SIGKILL)", r.stderr)

    def test_failing_rank_stops_the_others_with_sigterm(self):
        start = time.monotonic()
        r = run_ranks(["--ninstances", "2"],
                      ["sh", "-c", "[ $XEONRUN_RANK = 1 ] && { sleep 0.2; exit 3; }; exec sleep 60"])
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertRegex(r.stderr, r"rank 0  cpus \S+  killed by signal 15 \(SIGTERM\)")

    def test_rank_ignoring_sigterm_is_killed_after_the_grace_period(self):
        start = time.monotonic()
        r = run_ranks(["--ninstances", "2", "--grace-period", "0.5"],
                      ["sh", "-c", "[ $XEONRUN_RANK = 1 ] && { sleep 0.2; exit 4; };"
                                   " trap '' TERM; exec sleep 30"])
        elapsed = time.monotonic() - start
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertRegex(r.stderr, r"rank 0  cpus \S+  killed by signal 9 \(SIGKILL\)")
        self.assertGreater(elapsed, 0.6)
        self.assertLess(elapsed, 10)


def default_dispositions(ignored=()):
    """preexec_fn: the launcher starts with SIGINT, SIGTERM and SIGHUP at their defaults, whatever
    the test inherited (under nohup, or as a background job), except those in `ignored`. The
    launcher keeps a signal it inherited as ignored, and forwards only the others."""
    def preexec():
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN if sig in ignored else signal.SIG_DFL)
    return preexec


class Signals(unittest.TestCase):
    SLEEPER = ["sh", "-c", "echo pid $$; echo started >&2; exec sleep 60"]

    def start_and_collect_pids(self, logs, n=2, extra=(), preexec_fn=None):
        """Starts SLEEPER as `n` ranks and waits until each printed both its lines (its pid to
        stdout, "started" to stderr): a signal sent earlier could end a rank before its stderr
        line, which the SIGTERM test expects in the log."""
        flags = on_fixture(["--ninstances", str(n), "--log-path", logs, *extra])
        p = subprocess.Popen([SPAWN, "--library", "", *flags, "--no-python", *self.SLEEPER],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=clean_env(), preexec_fn=preexec_fn)
        pids = {}

        def all_started():
            for rank in range(n):
                try:
                    with open(os.path.join(logs, f"run_rank{rank}.log")) as f:
                        text = f.read()
                    with open(os.path.join(logs, f"run_rank{rank}.err")) as f:
                        started = f.read() == "started\n"
                    if text.startswith("pid ") and text.endswith("\n") and started:
                        pids[rank] = int(text.split()[1])
                except (FileNotFoundError, IndexError, ValueError):
                    pass
            return len(pids) == n

        self.assertTrue(wait_for(all_started), "ranks did not start")
        return p, pids

    def test_sigterm_to_launcher_ends_every_rank_and_flushes_logs(self):
        with tempfile.TemporaryDirectory() as logs:
            p, pids = self.start_and_collect_pids(logs)
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=20)
            self.assertEqual(p.returncode, 128 + signal.SIGTERM, err)
            for rank, pid in pids.items():
                self.assertFalse(pid_alive(pid), f"rank {rank} (pid {pid}) survived")
                with open(os.path.join(logs, f"run_rank{rank}.err")) as f:
                    self.assertEqual(f.read(), "started\n")
                self.assertIn(f"[run{rank}] pid {pid}\n", out)
            self.assertIn("killed by signal 15 (SIGTERM)", err)

    def test_sigint_and_sighup_are_forwarded(self):
        for sig in (signal.SIGINT, signal.SIGHUP):
            with tempfile.TemporaryDirectory() as logs:
                p, pids = self.start_and_collect_pids(logs, preexec_fn=default_dispositions())
                p.send_signal(sig)
                out, err = p.communicate(timeout=20)
                self.assertEqual(p.returncode, 128 + sig, err)
                self.assertIn(f"killed by signal {int(sig)} (SIG{sig.name[3:]})", err)
                for pid in pids.values():
                    self.assertFalse(pid_alive(pid))

    def test_ranks_die_with_the_launcher_even_when_it_is_killed(self):
        with tempfile.TemporaryDirectory() as logs:
            p, pids = self.start_and_collect_pids(logs)
            p.kill()
            p.communicate(timeout=20)
            for rank, pid in pids.items():
                self.assertTrue(wait_for(lambda: not pid_alive(pid), 5),
                                f"rank {rank} (pid {pid}) orphaned")


class Environment(unittest.TestCase):
    def test_rank_gets_library_first_in_ld_preload_and_no_placement_outputs(self):
        lib = "/lib/x86_64-linux-gnu/libm.so.6"  # harmless to preload
        env = clean_env(LD_PRELOAD="/lib/x86_64-linux-gnu/libdl.so.2",
                        XEONRUN_PLACED_CPUS="9", XEONRUN_REEXEC_GUARD="1")
        # Without an allocator or OpenMP runtime to chain-load, the library alone comes first.
        r = spawn(["--library", lib, "--ninstances", "1", "--use-default-allocator",
                   "--disable-iomp", "--no-python", "--", "sh", "-c",
                   "echo $LD_PRELOAD; env | grep -c '^XEONRUN_PLACED_\\|^XEONRUN_REEXEC_'; true"],
                  env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, f"[run0] {os.path.realpath(lib)}:/lib/x86_64-linux-gnu/libdl.so.2\n"
                                   "[run0] 0\n")

    def test_relative_library_path_is_made_absolute(self):
        libdir = os.path.dirname(os.path.realpath("/lib/x86_64-linux-gnu/libm.so.6"))
        r = subprocess.run([SPAWN, "--library", "./libm.so.6", "--ninstances", "1",
                            "--use-default-allocator", "--disable-iomp", "--no-python",
                            "sh", "-c", "echo $LD_PRELOAD"], capture_output=True, text=True,
                           cwd=libdir, env=clean_env(), timeout=60)
        self.assertEqual(r.stdout, f"[run0] {libdir}/libm.so.6\n", r.stderr)

    def test_missing_library_is_an_error_before_any_rank_starts(self):
        r = spawn(["--library", "/nonexistent/libxeonplace.so", "--no-python", "true"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent/libxeonplace.so", r.stderr)
        self.assertIn("--library", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_each_rank_environment_reproduces_the_launchers_plan(self):
        # Inside every rank, the library reading the rank's own environment must place that rank
        # exactly where the launcher's summary says it runs (a fixture's plan is only logged, at
        # info level: "dry run, nothing changed: rank R of N (...): CPUs LIST, ...").
        uneven = "lscpu:" + os.path.join(FIXTURES, "uneven_nodes_4_4_2.lscpu")
        for topology, flags in ((PYTORCH_FIXTURE, []), (PYTORCH_FIXTURE, ["--ninstances", "2"]),
                                (PYTORCH_FIXTURE, ["--latency-mode"]),
                                (PYTORCH_FIXTURE, ["--ncores-per-instance", "3"]),
                                (PYTORCH_FIXTURE, ["--use-logical-core", "--ninstances", "4"]),
                                (uneven, ["--multi-instance"]), (uneven, ["--throughput-mode"]),
                                (uneven, ["--ncores-per-instance", "3", "--skip-cross-node-cores"])):
            with self.subTest(topology=topology, flags=flags):
                r = spawn(["--topology", topology] + flags + ["--no-python", "true"])
                self.assertEqual(r.returncode, 0, r.stderr)
                summary = dict(re.findall(r"rank (\d+)  cpus (\S+)  exit 0", r.stderr))
                self.assertTrue(summary, r.stderr)
                seen = dict(re.findall(r"\[run(\d+)\] xeonplace: info: dry run, nothing changed: "
                                       r"rank \1 of \d+ \([^)]*\): CPUs (\S+),", r.stderr))
                self.assertEqual(sorted(seen), sorted(summary), r.stderr)
                for rank, cpus in seen.items():
                    self.assertEqual(cpu_list(cpus), cpu_list(summary[rank]), f"rank {rank}")

    def test_dry_run_json_env_is_exactly_what_each_rank_receives(self):
        # The preview is what the ranks get: every variable of a rank's "env" in --dry-run --json
        # (LD_PRELOAD with the allocator and OpenMP runtime, MALLOC_CONF for jemalloc, the OpenMP
        # variables, the handed placement) has that value in the running rank.
        for flags in ([], ["--enable-jemalloc"], ["--enable-tcmalloc", "--disable-iomp"]):
            with self.subTest(flags=flags):
                r = spawn(["--dry-run", "--json"] + flags + ["--no-python", "true"])
                self.assertEqual(r.returncode, 0, r.stderr)
                preview = {rank["rank"]: rank["env"] for rank in json.loads(r.stdout)["ranks"]}
                self.assertIn("LD_PRELOAD", preview[0])
                if "--enable-jemalloc" in flags:
                    self.assertIn("MALLOC_CONF", preview[0])
                    self.assertIn("libjemalloc", preview[0]["LD_PRELOAD"])
                r = spawn(flags + ["--no-python", "sh", "-c", "env -0 | base64 -w0; echo"])
                self.assertEqual(r.returncode, 0, r.stderr)
                received = {}
                for line in r.stdout.splitlines():
                    tag, blob = line.split(" ", 1)
                    entries = base64.b64decode(blob).split(b"\0")
                    received[int(tag[4:-1])] = dict(e.decode().split("=", 1) for e in entries if e)
                self.assertEqual(sorted(received), sorted(preview))
                for rank, env in preview.items():
                    for name, value in env.items():
                        self.assertEqual(received[rank].get(name), value, f"rank {rank} {name}")

    def test_multi_instance_ranks_do_not_get_a_rank_count_that_would_change_their_plan(self):
        uneven = "lscpu:" + os.path.join(FIXTURES, "uneven_nodes_4_4_2.lscpu")
        r = run_ranks(["--topology", uneven, "--multi-instance"],
                      ["sh", "-c", "echo ${XEONRUN_NINSTANCES-unset}"])
        self.assertEqual(r.stdout.count("unset"), 3, r.stdout + r.stderr)
        r = run_ranks(["--topology", uneven, "--ninstances", "2"],
                      ["sh", "-c", "echo ${XEONRUN_NINSTANCES-unset}"])
        self.assertEqual(r.stdout.count("] 2\n"), 2, r.stdout + r.stderr)

    def test_flags_reach_the_rank_as_xeonrun_variables(self):
        r = run_ranks(["--ninstances=1", "--disable_numactl", "--enable-jemalloc"],
                      ["sh", "-c", "echo $XEONRUN_MEMBIND $XEONRUN_ALLOCATOR $XEONRUN_NINSTANCES"])
        self.assertEqual(r.stdout, "[run0] none jemalloc 1\n", r.stderr)

    def test_python_program_runs_under_PYTHON_with_unbuffered_flag(self):
        r = spawn(["--library", "", "--ninstances", "1", "prog.py", "a b", "--x"],
                  env=clean_env(PYTHON="/bin/echo"))
        self.assertEqual(r.stdout, "[run0] -u prog.py a b --x\n", r.stderr)

    def test_module_runs_as_python_dash_m(self):
        r = spawn(["--library", "", "--ninstances", "1", "-m", "mod.name", "arg"],
                  env=clean_env(PYTHON="/bin/echo"))
        self.assertEqual(r.stdout, "[run0] -u -m mod.name arg\n", r.stderr)

    def test_python3_from_path_by_default(self):
        with tempfile.TemporaryDirectory() as d:
            script = os.path.join(d, "hello.py")
            with open(script, "w") as f:
                f.write("import sys; print('py', sys.argv[1:])\n")
            r = spawn(["--library", "", "--ninstances", "1", script, "z"])
            self.assertEqual(r.stdout, "[run0] py ['z']\n", r.stderr)

    def test_placement_library_places_each_rank(self):
        self.assertTrue(SHIM and os.path.exists(SHIM),
                        f"libxeonplace.so not built at {SHIM!r}: build src/shim first")
        machine = this_machine()
        nranks = machine.ranks_up_to(2)
        r = spawn(["--ninstances", str(nranks), "--library", SHIM, "--no-python", "sh", "-c",
                   "grep Cpus_allowed_list /proc/self/status"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.splitlines()),
                         [f"[run{rank.index}] Cpus_allowed_list:\t{rank.cpus_text}"
                          for rank in machine.plan(nranks)], machine.describe())

    PLACED = ["sh", "-c", "env | grep ^XEONRUN_PLACED_ | grep -v ^XEONRUN_PLACED_TREE= | sort; "
              "grep Cpus_allowed_list /proc/self/status"]

    def placed_ranks(self, extra_env, nranks):
        """Each rank's XEONRUN_PLACED_* lines and affinity, and whether any process dlopen()ed the
        engine (glibc's LD_DEBUG=files names every object it loads)."""
        r = spawn(["--library", SHIM, "--use-default-allocator", "--disable-iomp", "--ninstances",
                   str(nranks), "--no-python", "--"] + self.PLACED,
                  env=clean_env(LD_DEBUG="files", **extra_env))
        self.assertEqual(r.returncode, 0, r.stderr)
        return sorted(r.stdout.splitlines()), "libxeonplace-engine.so" in r.stderr

    def test_a_rank_the_launcher_placed_is_told_so_without_loading_the_engine(self):
        # The spawner applied the placement between fork and exec and vouched for the rank's
        # inputs: the front confirms it is in force and exports what the engine would (design.md
        # §4). With a reporting variable (left to the engine) the engine runs: same exports.
        self.assertTrue(SHIM and os.path.exists(SHIM), f"libxeonplace.so not built at {SHIM!r}")
        machine = this_machine()
        nranks = machine.ranks_up_to(2)
        confirmed, engine = self.placed_ranks({}, nranks)
        self.assertFalse(engine, "the engine was loaded for a placement already in force")
        by_engine, engine = self.placed_ranks({"XEONRUN_LOG_LEVEL": "warn"}, nranks)
        self.assertTrue(engine, "XEONRUN_LOG_LEVEL is the engine's: it must have run")
        self.assertEqual(confirmed, by_engine)
        for rank in machine.plan(nranks):
            self.assertIn(f"[run{rank.index}] XEONRUN_PLACED_CPUS={rank.cpus_text}", confirmed)
            self.assertIn(f"[run{rank.index}] Cpus_allowed_list:\t{rank.cpus_text}", confirmed)
            self.assertIn(f"[run{rank.index}] XEONRUN_PLACED_MEMBIND=bind", confirmed)

    def test_a_handed_placement_not_in_force_or_with_other_inputs_is_left_to_the_engine(self):
        # A rank's environment as the preview shows it, started without the launcher: its memory
        # policy is not the handed one, so the engine applies it. An input added on the way no
        # longer matches the spawner's word: the engine reads it, and refuses a bad one (exit 2).
        self.assertTrue(SHIM and os.path.exists(SHIM), f"libxeonplace.so not built at {SHIM!r}")
        r = spawn(["--library", SHIM, "--use-default-allocator", "--disable-iomp", "--ninstances",
                   "1", "--dry-run", "--json", "--no-python", "true"])
        self.assertEqual(r.returncode, 0, r.stderr)
        rank = json.loads(r.stdout)["ranks"][0]
        self.assertIn(";inputs=", rank["env"]["XEONRUN_PLACEMENT"])
        env = clean_env(LD_DEBUG="files", **rank["env"])
        r = subprocess.run(self.PLACED, capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("libxeonplace-engine.so", r.stderr)
        cpus = ",".join(str(c) for c in rank["cpus"])
        self.assertEqual(cpu_list(r.stdout.split("Cpus_allowed_list:")[1].strip()),
                         cpu_list(cpus))
        self.assertIn("XEONRUN_PLACED_MEMBIND=bind", r.stdout)
        env = clean_env(XEONRUN_MODE="bogus", **rank["env"])
        r = subprocess.run(["/bin/true"], capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("XEONRUN_MODE", r.stderr)

    def test_topology_of_another_machine_is_planned_but_never_applied(self):
        # The library treats XEONRUN_TOPOLOGY as a dry run: ranks keep this machine's CPUs.
        self.assertTrue(SHIM and os.path.exists(SHIM),
                        f"libxeonplace.so not built at {SHIM!r}: build src/shim first")
        r = spawn(["--topology", PYTORCH_FIXTURE, "--ninstances", "2", "--library", SHIM,
                   "--no-python", "sh", "-c",
                   "echo ${XEONRUN_PLACED_CPUS:-unplaced} $(grep Cpus_allowed_list /proc/self/status)"])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open("/proc/self/status") as f:
            mine = [l.split(":", 1)[1].strip() for l in f if l.startswith("Cpus_allowed_list")][0]
        self.assertEqual(sorted(r.stdout.splitlines()),
                         [f"[run{i}] unplaced Cpus_allowed_list: {mine}" for i in range(2)])
        self.assertIn("dry run, nothing changed", r.stderr)


class Errors(unittest.TestCase):
    def assert_usage_error(self, args, *needles):
        r = spawn(args)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        for needle in needles:
            self.assertIn(needle, lines[0])

    def test_unknown_flag(self):
        self.assert_usage_error(["--frobnicate", "--no-python", "true"], "--frobnicate")

    def test_misspelt_flag_suggests_the_closest(self):
        self.assert_usage_error(["--ncore-per-instance", "2", "--no-python", "true"],
                                "--ncore-per-instance", "did you mean --ncores-per-instance")

    def test_missing_value(self):
        self.assert_usage_error(["--ninstances"], "--ninstances", "needs a value")

    def test_bad_values_name_the_flag_and_the_value(self):
        for flag, value in (("--ninstances", "abc"), ("--ncores_per_instance", "-2"),
                            ("--node-id", "x"), ("--core-list", "3-1"), ("--rank", "1.5"),
                            ("--grace-period", "soon")):
            with self.subTest(flag=flag):
                self.assert_usage_error([flag, value, "--no-python", "true"],
                                        flag.replace("_", "-") if flag != "--grace-period" else flag,
                                        value)

    def test_switch_given_a_value(self):
        self.assert_usage_error(["--latency-mode=1", "--no-python", "true"], "--latency-mode")

    def test_latency_and_throughput_together_is_run_cpus_error(self):
        self.assert_usage_error(["--latency-mode", "--throughput_mode", "--no-python", "true"],
                                "latency", "throughput")

    def test_non_python_program_without_no_python(self):
        self.assert_usage_error(["--library", "", "true"], "--no-python", "true")

    def test_missing_program_is_not_found(self):
        r = spawn(["--library", "", "--no-python", "no-such-program-xyz"])
        self.assertEqual(r.returncode, 127)
        self.assertIn("no-such-program-xyz", r.stderr)

    def test_no_program(self):
        self.assert_usage_error(["--ninstances", "1"], "no program")

    def test_json_without_dry_run(self):
        self.assert_usage_error(["--json", "--no-python", "true"], "--json")

    def test_plan_error_exits_2_with_one_line(self):
        r = spawn(["--topology", PYTORCH_FIXTURE, "--dry-run", "--ninstances", "99"])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


class PlanPreview(unittest.TestCase):
    # run_cpu flag -> (value or None for a switch, XEONRUN_* variable, value it sets, context flags)
    FLAGS = [
        ("ninstances", "2", "XEONRUN_NINSTANCES", "2", []),
        ("ncores-per-instance", "2", "XEONRUN_NCORES_PER_INSTANCE", "2", []),
        ("rank", "1", "XEONRUN_RANK", "1", [("XEONRUN_NINSTANCES", "2")]),
        ("node-id", "1", "XEONRUN_NODE_ID", "1", []),
        ("core-list", "0-3", "XEONRUN_CORE_LIST", "0-3", [("XEONRUN_NCORES_PER_INSTANCE", "2")]),
        ("latency-mode", None, "XEONRUN_MODE", "latency", []),
        ("throughput-mode", None, "XEONRUN_MODE", "throughput", []),
        ("multi-instance", None, "XEONRUN_MODE", "multi-instance", []),
        ("use-logical-core", None, "XEONRUN_USE_LOGICAL_CORE", "1", []),
        ("skip-cross-node-cores", None, "XEONRUN_SKIP_CROSS_NODE_CORES", "1",
         [("XEONRUN_NCORES_PER_INSTANCE", "3")]),
        ("disable-numactl", None, "XEONRUN_MEMBIND", "none", []),
        ("disable-taskset", None, "XEONRUN_PIN", "none", []),
        ("enable-tcmalloc", None, "XEONRUN_ALLOCATOR", "tcmalloc", []),
        ("enable-jemalloc", None, "XEONRUN_ALLOCATOR", "jemalloc", []),
        ("use-default-allocator", None, "XEONRUN_ALLOCATOR", "default", []),
        ("disable-iomp", None, "XEONRUN_OMP_RUNTIME", "default", []),
    ]

    def dry_run_json(self, args, env):
        r = spawn(["--dry-run", "--json", "--topology", PYTORCH_FIXTURE] + args + ["--no-python", "true"],
                  env=env)
        self.assertEqual(r.returncode, 0, f"{args} {r.stderr}")
        return json.loads(r.stdout)

    def test_every_run_cpu_flag_in_both_spellings_plans_like_its_variable(self):
        for name, value, variable, var_value, context in self.FLAGS:
            with self.subTest(flag=name):
                env = clean_env(**dict(context))
                want = self.dry_run_json([], dict(env, **{variable: var_value}))
                for spelling in ("--" + name, "--" + name.replace("-", "_")):
                    forms = [[spelling]] if value is None else [[spelling, value], [f"{spelling}={value}"]]
                    for form in forms:
                        self.assertEqual(self.dry_run_json(form, env), want, form)

    def test_json_has_the_design_shape(self):
        plan = self.dry_run_json(["--ninstances", "2"], clean_env())
        self.assertEqual([r["rank"] for r in plan["ranks"]], [0, 1])
        self.assertEqual(plan["ranks"][0]["cpus"], [0, 1, 2, 3])
        self.assertEqual(plan["ranks"][1]["cpus"], [4, 5, 6, 7])
        self.assertEqual(plan["ranks"][0]["mems"], [0])
        self.assertEqual(plan["ranks"][1]["mems"], [1])
        self.assertEqual(plan["ranks"][0]["env"]["OMP_NUM_THREADS"], "4")

    def test_dry_run_table_runs_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            marker = os.path.join(d, "ran")
            r = spawn(["--dry-run", "--topology", PYTORCH_FIXTURE, "--ninstances", "2",
                       "--no-python", "touch", marker])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("0-3", r.stdout)
            self.assertIn("4-7", r.stdout)
            self.assertFalse(os.path.exists(marker))

    def test_dry_run_of_this_machine(self):
        r = spawn(["--dry-run", "--json", "--no-python", "true"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(json.loads(r.stdout)["ranks"]), 1)


class HelpAndVersion(unittest.TestCase):
    def test_help_lists_flags_both_spellings_variables_and_python(self):
        r = spawn(["--help"])
        self.assertEqual(r.returncode, 0)
        for needle in ("--ncores-per-instance, --ncores_per_instance", "XEONRUN_NCORES_PER_INSTANCE",
                       "--no-python", "--log-path", "--grace-period", "$PYTHON", "python3",
                       "--dry-run", "--json", "--topology", "XEONRUN_MODE=latency"):
            self.assertIn(needle, r.stdout)

    def test_version(self):
        r = spawn(["--version"])
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^xeonrun-spawn \d+\.\d+\.\d+\n$")


if __name__ == "__main__":
    unittest.main(verbosity=2)
