#!/usr/bin/env python3
"""xeonrun-spawn stops a rank's whole process tree, not only the rank's first process, and keeps a
signal it inherited as ignored (issue #12).

Every process a test starts carries a marker variable in its environment, unique to the test;
"the tree" is every process whose /proc/PID/environ holds it, wherever it went (a rank's child
that outlived the rank, a grandchild). The ranks run without the library on the pytorch fixture's
topology (test_spawn.on_fixture): their supervision is tested, not their placement, so two ranks
run on any machine, one CPU included. Environment (set by meson): XEONRUN_SPAWN,
XEONPLACE_FIXTURES."""

import fcntl
import os
import pty
import signal
import subprocess
import sys
import tempfile
import termios
import time
import unittest
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from test_spawn import (SPAWN, clean_env, default_dispositions, on_fixture, pid_alive,  # noqa: E402
                        wait_for)

# A rank that starts two children and waits for them: the shape that used to survive its launcher.
TREE = "echo pid $$; sleep 1000 & sleep 1000 & wait"
SLEEPER = "sleep 1000"  # the command line of every child the trees below keep running


def launcher_argv(n, program, flags=()):
    """xeonrun-spawn running `sh -c program` as `n` ranks, unplaced, planned on the fixture."""
    return [SPAWN, "--library", "", *on_fixture(["--ninstances", str(n), *flags]), "--no-python",
            "sh", "-c", program]


def wait_for_rank_logs(test, launcher, logs, n, ready):
    """Waits until `ready(text)` holds for the stdout log of each of the `n` ranks; fails at
    once, with its stderr, when the launcher ends first. Returns the logs' texts by rank."""
    texts = {}

    def all_ready():
        for rank in range(n):
            try:
                with open(os.path.join(logs, f"run_rank{rank}.log")) as f:
                    text = f.read()
            except FileNotFoundError:
                continue
            if ready(text):
                texts[rank] = text
        return len(texts) == n or launcher.poll() is not None

    test.assertTrue(wait_for(all_ready), f"ranks did not start: {texts}")
    if len(texts) != n:
        _, err = launcher.communicate(timeout=30)
        test.fail(f"the launcher exited with {launcher.returncode} before its {n} ranks started: "
                  f"{err}")
    return texts


def first_pid(text):
    """The pid a rank's first line "pid N" names, or None before it is whole."""
    words = text.split()
    return int(words[1]) if len(words) > 1 and words[0] == "pid" and "\n" in text else None


def command_line(pid):
    try:
        with open(f"/proc/{pid}/cmdline") as f:
            return f.read().replace("\0", " ").strip()
    except OSError:
        return f"pid {pid}, gone"


def marked_pids(marker):
    """Every live process (not a zombie) whose environment holds `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker.encode() not in f.read().split(b"\0"):
                    continue
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if pid_alive(int(entry)):
            found.append(int(entry))
    return found


class Tree(unittest.TestCase):
    def setUp(self):
        self.marker = f"XEONPLACE_TEST_TREE={uuid.uuid4().hex}"
        self.logs = tempfile.TemporaryDirectory()
        self.addCleanup(self.logs.cleanup)
        self.addCleanup(self.kill_leftovers)

    def kill_leftovers(self):
        for pid in marked_pids(self.marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    NRANKS = 2

    def start(self, program, flags=(), ignored=()):
        """Starts the launcher and waits until every rank printed "pid N"; returns the launcher
        and the ranks' pids."""
        name, value = self.marker.split("=", 1)
        p = subprocess.Popen(launcher_argv(self.NRANKS, program,
                                           ("--log-path", self.logs.name, *flags)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=clean_env(**{name: value}), preexec_fn=default_dispositions(ignored))
        self.addCleanup(lambda: p.poll() is None and p.kill())
        texts = wait_for_rank_logs(self, p, self.logs.name, self.NRANKS, first_pid)
        return p, {rank: first_pid(text) for rank, text in texts.items()}

    def wait_for_tree(self, launcher, count):
        """Waits until the ranks' trees (the launcher carries the marker too) are `count`
        processes: each rank's shell and every child it keeps, all of them past their exec of
        `sleep 1000`. Only then is a signal sent, so that it meets each child in its final shape
        (its own session, SIGTERM ignored) even when the ranks run one at a time on one CPU."""
        def tree():
            return [pid for pid in marked_pids(self.marker) if pid != launcher.pid]

        def complete():
            pids = tree()
            sleepers = [pid for pid in pids if command_line(pid) == SLEEPER]
            return len(pids) == count and len(sleepers) == count - self.NRANKS

        self.assertTrue(wait_for(complete), f"expected {count} processes, found " +
                        ", ".join(command_line(pid) for pid in tree()))

    def assert_no_process_left(self):
        left = marked_pids(self.marker)
        self.assertEqual(left, [], "processes of a rank's tree survived: " +
                         ", ".join(command_line(pid) for pid in left))

    def assert_signal_ends_the_tree(self, sig, program, processes, flags=()):
        """Starts `program` as 2 ranks, waits for their `processes`, signals the launcher: it
        exits with 128+sig and leaves no process of the ranks' trees behind."""
        p, _ = self.start(program, flags=flags)
        self.wait_for_tree(p, processes)
        p.send_signal(sig)
        _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 128 + sig, err)
        self.assert_no_process_left()

    def test_sigterm_to_the_launcher_ends_every_process_of_every_rank(self):
        self.assert_signal_ends_the_tree(signal.SIGTERM, TREE, 6)  # 2 ranks x (sh + 2 sleeps)

    def test_sigint_to_the_launcher_ends_every_process_even_those_ignoring_it(self):
        # sh starts background commands with SIGINT ignored: they go at the grace period's SIGKILL.
        start = time.monotonic()
        self.assert_signal_ends_the_tree(signal.SIGINT, TREE, 6, flags=("--grace-period", "0.5"))
        self.assertLess(time.monotonic() - start, 15)

    def test_children_a_rank_left_behind_are_killed_after_the_grace_period(self):
        # The rank itself ends at SIGTERM; its child ignores SIGTERM and outlives it.
        self.assert_signal_ends_the_tree(
            signal.SIGTERM, "echo pid $$; (trap '' TERM; exec sleep 1000) & wait", 4,
            flags=("--grace-period", "0.5"))

    def test_processes_that_left_the_ranks_group_are_stopped_once_orphaned(self):
        # A child in its own session (setsid) while its parent lives, and a daemon that
        # double-forked (its parent is gone at once): no kill(-pgid) reaches either.
        self.assert_signal_ends_the_tree(
            signal.SIGTERM,
            'echo pid $$; setsid sleep 1000 & setsid sh -c "sleep 1000 & exit 0"; wait', 6)

    def test_a_failing_rank_stops_the_whole_tree_of_the_others(self):
        # Rank 1 fails when told, once rank 0's tree is whole: not after a delay that one busy CPU
        # may spend before rank 0 started its children.
        p, pids = self.start('[ "$XEONRUN_RANK" = 1 ] && trap "exit 3" USR1; ' + TREE)
        self.wait_for_tree(p, 6)
        os.kill(pids[1], signal.SIGUSR1)
        _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 3, err)
        self.assert_no_process_left()

    def test_sigkill_of_the_launcher_kills_each_ranks_first_process(self):
        # Its grandchildren cannot be guaranteed (README, xeonrun-spawn): only the ranks are asked.
        p, pids = self.start(TREE)
        self.wait_for_tree(p, 6)
        p.kill()
        p.communicate(timeout=30)
        for rank, pid in pids.items():
            self.assertTrue(wait_for(lambda: not pid_alive(pid), 5),
                            f"rank {rank} (pid {pid}) outlived its SIGKILLed launcher")


def process_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(word) for word in f.read().split()]
    except OSError:
        return []


def stopped(pid):
    """Whether `pid` is stopped. dash starts a command with vfork(): a signal that lands between
    the vfork and the exec stops the child, and the shell then waits for it in state D for as long
    as the child is stopped, which is the shell stopped too (it can run nothing)."""
    state = process_state(pid)
    if state == "T":
        return True
    kids = children(pid)
    return state == "D" and bool(kids) and all(process_state(kid) == "T" for kid in kids)


class Suspend(unittest.TestCase):
    def test_sigtstp_stops_the_ranks_and_the_launcher_and_continuing_it_continues_them(self):
        # What Ctrl-Z and fg do: the terminal stops only its foreground group, the launcher's.
        with tempfile.TemporaryDirectory() as logs:
            p = subprocess.Popen(launcher_argv(2, "echo pid $$; sleep 1; echo finished",
                                               ("--log-path", logs)),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=clean_env(), preexec_fn=default_dispositions())
            self.addCleanup(lambda: p.poll() is None and p.kill())
            pids = [first_pid(text) for text in wait_for_rank_logs(self, p, logs, 2,
                                                                    first_pid).values()]
            p.send_signal(signal.SIGTSTP)
            self.assertTrue(wait_for(lambda: process_state(p.pid) == "T"), "launcher not stopped")
            for pid in pids:
                self.assertTrue(wait_for(lambda: stopped(pid)),
                                f"rank {pid} not stopped: {process_state(pid)}, children "
                                f"{[(kid, process_state(kid)) for kid in children(pid)]}")
            time.sleep(1.5)  # longer than the ranks' sleep: stopped, they must not finish
            with open(os.path.join(logs, "run_rank0.log")) as f:
                self.assertNotIn("finished", f.read())
            p.send_signal(signal.SIGCONT)
            out, err = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0, err)
            self.assertEqual(out.count("finished"), 2, out)


class InheritedIgnoredSignal(unittest.TestCase):
    def test_ranks_under_nohup_survive_a_hangup_and_finish_normally(self):
        with tempfile.TemporaryDirectory() as logs:
            program = "echo started; sleep 1.5; echo finished"
            # A grace period shorter than the ranks' run: a forwarded hangup would end in SIGKILL.
            p = subprocess.Popen(launcher_argv(2, program,
                                               ("--log-path", logs, "--grace-period", "0.2")),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=clean_env(),
                                 preexec_fn=default_dispositions(ignored=(signal.SIGHUP,)))
            self.addCleanup(lambda: p.poll() is None and p.kill())
            wait_for_rank_logs(self, p, logs, 2, lambda text: text.startswith("started\n"))
            p.send_signal(signal.SIGHUP)
            out, err = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0, err)
            self.assertEqual(sorted(l for l in out.splitlines() if "finished" in l),
                             ["[run0] finished", "[run1] finished"], err)
            self.assertEqual(err.count("exit 0"), 2, err)


class Terminal(unittest.TestCase):
    """The launcher in the foreground of a terminal it controls, as typed at a shell prompt."""

    def start_on_terminal(self, program, n=1):
        controller, terminal = pty.openpty()
        self.addCleanup(os.close, controller)
        self.addCleanup(os.close, terminal)

        def own_terminal():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        p = subprocess.Popen(launcher_argv(n, program), stdin=terminal, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=clean_env(),
                             preexec_fn=own_terminal)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        return p, controller

    def test_stdin_that_is_not_a_terminal_still_reaches_the_rank(self):
        r = subprocess.run([SPAWN, "--library", "", *on_fixture(["--ninstances", "1"]),
                            "--no-python", "cat"],
                           input="from stdin\n", capture_output=True, text=True, timeout=30,
                           env=clean_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "[run0] from stdin\n")

    def test_terminal_stdin_gives_the_rank_end_of_file_instead_of_a_hang(self):
        # Each rank, in its own process group, would be stopped (SIGTTIN) reading the terminal.
        p, _ = self.start_on_terminal("cat; echo read-to-end")
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(out, "[run0] read-to-end\n")

    def test_ctrl_c_at_the_terminal_interrupts_each_rank_exactly_once(self):
        # The terminal interrupts its foreground group, the launcher's; the launcher forwards it.
        p, controller = self.start_on_terminal(
            "trap 'echo interrupted' INT; echo ready; sleep 1 & wait; sleep 1 & wait", n=2)
        self.assertEqual(p.stdout.readline().split()[-1], "ready")
        self.assertEqual(p.stdout.readline().split()[-1], "ready")
        os.write(controller, termios.tcgetattr(controller)[6][termios.VINTR])
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 128 + signal.SIGINT, err)
        for rank in range(2):
            self.assertEqual(out.count(f"[run{rank}] interrupted\n"), 1, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
