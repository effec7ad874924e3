#!/usr/bin/env python3
"""A real CPU quota (issue #15): a cgroup made for the case, with a quota of half a CPU (cgroup v2
`cpu.max` "50000 100000", or v1 `cpu.cfs_quota_us` 50000 over `cpu.cfs_period_us` 100000), and the
placed program started inside it. The library and xeonrun-spawn must plan ceil(0.5) = 1 CPU, and
say so in one line at info level; XEONRUN_CPU_QUOTA=ignore plans every CPU; a quota on the parent
of the process's cgroup limits it as much.

Expectations come from the affinity the test runs under (tests/support/machine.py): the first
min(1, cores) cores in the planner's order (by NUMA node, then CPU id). Under `taskset -c 1` one
core is all there is: the plan is that core, and no line is written (nothing was taken away).

Needs root and a cpu controller it can make cgroups in (v2 with `cpu` in cgroup.controllers, or
v1's cpu hierarchy): without one every case exits 77 (skip) saying why, never passes.

    test_cpu_quota.py --list | CASE
Environment (set by meson): XP_LIB, XP_TELL, XP_SPAWN."""
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from case_driver import Failure, Skip, check, clean_env, main  # noqa: E402
from machine import list_text, this_machine  # noqa: E402

LIB = os.environ.get("XP_LIB", "")
TELL = os.environ.get("XP_TELL", "")
SPAWN = os.environ.get("XP_SPAWN", "")
QUOTA_US, PERIOD_US = 50000, 100000  # half a CPU: ceil gives 1
QUOTA_CPUS = 1
BASE_ENV = {"XEONRUN_ALLOCATOR": "default", "XEONRUN_OMP_RUNTIME": "default"}


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _mounts():
    """(fstype, mount point, root, super options) of every cgroup mount."""
    out = []
    for line in _read("/proc/self/mountinfo").splitlines():
        fields = line.split()
        dash = fields.index("-")
        if fields[dash + 1] in ("cgroup", "cgroup2"):
            out.append((fields[dash + 1], fields[4], fields[3], fields[dash + 3].split(",")))
    return out


def _own_dir(mount_point, root, path):
    relative = path[len(root):] if root != "/" and path.startswith(root) else path
    return os.path.join(mount_point, relative.lstrip("/"))


class QuotaGroup:
    """A cgroup made for one case under this process's own cgroup; removed at the end."""

    def __init__(self):
        if os.geteuid() != 0:
            raise Skip("needs root to make a cgroup with a CPU quota")
        self.v2 = False
        self.parent = self._v2_parent() or self._v1_parent()
        if not self.parent:
            raise Skip("no cpu controller to make a cgroup in (no cgroup v2 with 'cpu' in "
                       "cgroup.controllers, no v1 cpu hierarchy) - mounts: "
                       + ", ".join(m[1] for m in _mounts()))
        self.top = os.path.join(self.parent, f"xeonplace-quota-{os.getpid()}")
        self.made = []

    def _v2_parent(self):
        paths = {c: p for _, c, p in (l.split(":", 2) for l in _read("/proc/self/cgroup").splitlines())}
        for fstype, point, root, _ in _mounts():
            if fstype != "cgroup2" or "" not in paths:
                continue
            own = _own_dir(point, root, paths[""])
            if "cpu" not in _read(os.path.join(own, "cgroup.controllers")).split():
                continue
            try:  # our own cgroup must hand the controller down (the root cgroup always can)
                _write(os.path.join(own, "cgroup.subtree_control"), "+cpu")
            except OSError:
                continue
            self.v2 = True
            return own
        return None

    def _v1_parent(self):
        for line in _read("/proc/self/cgroup").splitlines():
            _, controllers, path = line.split(":", 2)
            if "cpu" not in controllers.split(","):
                continue
            for fstype, point, root, options in _mounts():
                if fstype == "cgroup" and "cpu" in options:
                    return _own_dir(point, root, path)
        return None

    def make(self, relative, quota):
        path = os.path.join(self.top, relative) if relative else self.top
        try:
            os.mkdir(path)
        except OSError as e:
            raise Skip(f"cannot make the cgroup {path}: {e}")
        self.made.append(path)
        # v2: no "+cpu" in this group's subtree_control: a group that hands a controller down may
        # hold no process itself, and a parent's quota throttles its children without it.
        if quota:
            if self.v2:
                _write(os.path.join(path, "cpu.max"), f"{QUOTA_US} {PERIOD_US}")
            else:
                _write(os.path.join(path, "cpu.cfs_period_us"), str(PERIOD_US))
                _write(os.path.join(path, "cpu.cfs_quota_us"), str(QUOTA_US))
        return path

    def remove(self):
        for path in reversed(self.made):
            try:
                os.rmdir(path)
            except OSError as e:
                print(f"note: could not remove {path}: {e}", file=sys.stderr)


def run_in(group_dir, command, extra_env):
    """`command` started in `group_dir` (a shell moves itself there, then becomes the command)."""
    env = dict(clean_env(), **BASE_ENV, **extra_env)
    wrapper = ["sh", "-c", 'echo $$ > "$0" && exec "$@"', os.path.join(group_dir, "cgroup.procs")]
    return subprocess.run(wrapper + command, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def expected_cpus(cap):
    """The first `cap` cores of this affinity, in the planner's order."""
    machine = this_machine()
    slots = sorted(machine.slots, key=lambda cpu: (machine.node(cpu), cpu))
    return slots[:cap]


def told(stdout):
    # xeonrun-spawn tags each line of a rank ("[run0] tell: ...").
    line = next((l[l.index("tell:"):] for l in stdout.splitlines() if "tell:" in l), "")
    return dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)


def quota_lines(stderr):
    return [l for l in stderr.splitlines() if "CPU quota" in l]


def check_told(result, cpus, what):
    check(result.returncode == 0, f"{what} exited {result.returncode}: {result.stderr}")
    got = told(result.stdout)
    check(got.get("affinity") == ",".join(map(str, cpus)),
          f"{what}: affinity {got.get('affinity')}, expected {list_text(cpus)} "
          f"({this_machine().describe()}): {result.stdout}{result.stderr}")
    check(got.get("omp") == str(len(cpus)), f"{what}: OMP_NUM_THREADS {got.get('omp')}")


def check_line(stderr, cpus, what):
    lines = quota_lines(stderr)
    capped = len(cpus) < len(this_machine().slots)
    if capped:
        check(len(lines) == 1, f"{what}: expected one CPU quota line, got: {stderr}")
        check(f"planning {len(cpus)} of the {len(this_machine().slots)} usable CPUs" in lines[0]
              and "0.5 CPUs" in lines[0], f"{what}: {lines[0]}")
    else:
        check(not lines, f"{what}: nothing was capped on one core, yet: {stderr}")


def with_group(body, quota_on_parent=False):
    group = QuotaGroup()
    try:
        top = group.make("", quota=True)
        where = group.make("inner", quota=False) if quota_on_parent else top
        body(where)
    finally:
        group.remove()


def case_library_plans_the_quotas_cpus():
    def body(where):
        cpus = expected_cpus(QUOTA_CPUS)
        r = run_in(where, ["env", f"LD_PRELOAD={LIB}", TELL], {"XEONRUN_LOG_LEVEL": "info"})
        check_told(r, cpus, "placed under a quota")
        check_line(r.stderr, cpus, "placed under a quota")
        quiet = run_in(where, ["env", f"LD_PRELOAD={LIB}", TELL], {"XEONRUN_MEMBIND": "bind"})
        check_told(quiet, cpus, "placed at the default log level")
        check(quiet.stderr == "", f"the default log level prints nothing: {quiet.stderr}")
    with_group(body)


def case_library_quota_of_a_parent_cgroup():
    def body(where):
        cpus = expected_cpus(QUOTA_CPUS)
        r = run_in(where, ["env", f"LD_PRELOAD={LIB}", TELL], {"XEONRUN_LOG_LEVEL": "info"})
        check(_read(os.path.join(where, "cgroup.procs")) == "", "the child left the cgroup")
        check_told(r, cpus, "placed in a child of the quota's cgroup")
        check_line(r.stderr, cpus, "placed in a child of the quota's cgroup")
    with_group(body, quota_on_parent=True)


def case_library_quota_ignore_plans_every_cpu():
    def body(where):
        cpus = expected_cpus(len(this_machine().slots))
        r = run_in(where, ["env", f"LD_PRELOAD={LIB}", TELL],
                   {"XEONRUN_CPU_QUOTA": "ignore", "XEONRUN_LOG_LEVEL": "info"})
        check_told(r, cpus, "XEONRUN_CPU_QUOTA=ignore")
        check(not quota_lines(r.stderr), f"ignore says nothing about the quota: {r.stderr}")
    with_group(body)


def case_spawner_plans_the_quotas_cpus():
    def body(where):
        cpus = expected_cpus(QUOTA_CPUS)
        preview = run_in(where, [SPAWN, "--dry-run", "--json", "--no-python", TELL], {})
        check(preview.returncode == 0, f"--dry-run exited {preview.returncode}: {preview.stderr}")
        ranks = json.loads(preview.stdout)["ranks"]
        check(len(ranks) == 1 and ranks[0]["cpus"] == cpus,
              f"the spawner's plan under a quota: {preview.stdout}, expected {list_text(cpus)}")
        check_line(preview.stderr, cpus, "xeonrun-spawn --dry-run")
        started = run_in(where, [SPAWN, "--no-python", TELL], {})
        check_told(started, cpus, "a rank of xeonrun-spawn")
        check_line(started.stderr, cpus, "xeonrun-spawn")
    with_group(body)


def preflight():
    for name, path in (("XP_LIB", LIB), ("XP_TELL", TELL), ("XP_SPAWN", SPAWN)):
        if not path or not os.path.exists(path):
            raise Failure(f"{name} does not name a built file: {path!r}")


if __name__ == "__main__":
    sys.exit(main({name[len("case_"):]: fn for name, fn in sorted(globals().items())
                   if name.startswith("case_")}, preflight))
