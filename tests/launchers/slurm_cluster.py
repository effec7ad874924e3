"""A one-node Slurm (slurmctld + slurmd) started by hand for one test, always stopped afterwards.

No systemd, no munge (auth/none), everything as root, state in a fresh temporary directory and
ports picked free at start, so that two tests can each run their own cluster side by side.

    with SlurmCluster(timeout=30) as cluster:
        subprocess.run(["srun", "-n", "2", ...], env=cluster.env(os.environ))
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SlurmCluster:
    """slurmctld and slurmd of this machine, with a state directory of their own; a subclass
    starts other daemons by its own `_start` (tests/multinode's SlurmNodes). Every `*.pid` and
    `*.log` file the daemons write at the top of the state directory is theirs."""

    prefix = "xp-slurm-"

    def __init__(self, timeout=30.0):
        self.timeout = timeout
        self.state = None
        self.conf = None

    def env(self, base):
        env = dict(base)
        env["SLURM_CONF"] = self.conf
        return env

    def __enter__(self):
        self.state = tempfile.mkdtemp(prefix=self.prefix)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _start(self):
        os.makedirs(os.path.join(self.state, "ctld"))
        os.makedirs(os.path.join(self.state, "slurmd"))
        node_line = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True,
                                   timeout=self.timeout).stdout.splitlines()[0]
        node_line = node_line.split(" UpTime")[0]
        with open(os.path.join(HERE, "slurm.conf.in")) as f:
            text = f.read()
        ctld_port = free_port()
        slurmd_port = free_port()
        while slurmd_port == ctld_port:
            slurmd_port = free_port()
        for key, value in {"HOST": socket.gethostname().split(".")[0], "STATE": self.state,
                           "CTLD_PORT": str(ctld_port), "SLURMD_PORT": str(slurmd_port),
                           "NODELINE": node_line}.items():
            text = text.replace("@%s@" % key, value)
        self.conf = os.path.join(self.state, "slurm.conf")
        with open(self.conf, "w") as f:
            f.write(text)
        env = self.env(os.environ)
        for daemon in ("slurmctld", "slurmd"):
            # Both daemonize and write their pid file; the foreground process returns at once.
            subprocess.run([daemon, "-f", self.conf], env=env, check=True, timeout=self.timeout,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True,
                                   text=True, timeout=self.timeout).stdout.split()
            if state and state[0] in ("idle", "mixed", "allocated"):
                return
            time.sleep(0.2)
        raise RuntimeError("Slurm did not come up within %.0f s; logs:\n%s"
                           % (self.timeout, self.logs()))

    def _state_files(self, suffix):
        try:
            return sorted(n for n in os.listdir(self.state or "") if n.endswith(suffix))
        except OSError:
            return []

    def logs(self):
        text = []
        for name in self._state_files(".log"):
            with open(os.path.join(self.state, name)) as f:
                text.append("== %s\n%s" % (name, f.read()[-4000:]))
        return "\n".join(text)

    def _pids(self):
        pids = []
        for name in self._state_files(".pid"):
            try:
                with open(os.path.join(self.state, name)) as f:
                    pids.append(int(f.read().strip()))
            except (OSError, ValueError):
                pass
        return pids

    def stop(self):
        if self.state is None:
            return
        # slurmstepd detaches from slurmd (its parent becomes init), so a step still running now
        # is no descendant of ours; every process started for this cluster carries its SLURM_CONF.
        pids = _with_descendants(self._pids())
        pids += [pid for pid in _with_environ("SLURM_CONF", self.conf) if pid not in pids]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while pids and time.monotonic() < deadline:
            pids = [p for p in pids if _alive(p)]
            time.sleep(0.1)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.state, ignore_errors=True)
        self.state = None


def _with_descendants(pids):
    """The daemons and what they forked (slurmctld's script helper, slurmd's slurmstepd)."""
    parent_of = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                parent_of[int(entry)] = int(f.read().split(") ")[-1].split()[1])
        except (OSError, ValueError, IndexError):
            pass
    found = list(pids)
    for pid in found:  # grows while iterating: a breadth-first walk down the tree
        found.extend(child for child, parent in parent_of.items()
                     if parent == pid and child not in found)
    return found


def _with_environ(name, value):
    """The processes whose environment has NAME=VALUE (those this user may read)."""
    wanted = ("%s=%s" % (name, value)).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as f:
                if wanted in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            pass
    return found


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A daemon that exited but is not yet reaped by init is as good as gone.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return False
