"""The shell script one guest runs: topology facts, the numactl control, then every case, each
launched through xeonrun-spawn and through a plain LD_PRELOAD loop. Results are files under
/tmp/out/<case>/ that the script dumps on the console at the end (xeonvm_guest.GUEST_DUMP)."""

import shlex

from xeonvm_guest import GUEST_DUMP

PROBE = "/work/vm-probe"
CASE_TIMEOUT = 60  # seconds for one launch inside the guest (busybox timeout)

# Variables xeonrun-spawn takes as run_cpu flags. The rest reach it (and its ranks) through the
# environment. The LD_PRELOAD launch gets everything as variables.
_FLAGS = {
    "XEONRUN_NINSTANCES": lambda v: ["--ninstances", v],
    "XEONRUN_NCORES_PER_INSTANCE": lambda v: ["--ncores-per-instance", v],
    "XEONRUN_NODE_ID": lambda v: ["--node-id", v],
    "XEONRUN_CORE_LIST": lambda v: ["--core-list", v],
    "XEONRUN_USE_LOGICAL_CORE": lambda v: ["--use-logical-core"] if v == "1" else [],
    "XEONRUN_MODE": lambda v: ["--%s-mode" % v],
}

_TOPOLOGY_DUMP = r"""
mkdir -p /tmp/out
for c in /sys/devices/system/cpu/cpu[0-9]*; do
  n=${c##*/cpu}
  online=$(cat $c/online 2>/dev/null || echo 1)
  pkg=$(cat $c/topology/physical_package_id 2>/dev/null || echo -)
  core=$(cat $c/topology/core_id 2>/dev/null || echo -)
  echo "cpu $n $online $pkg $core"
done > /tmp/out/topology.txt
for d in /sys/devices/system/node/node[0-9]*; do
  echo "node ${d##*/node} $(cat $d/cpulist)"
done >> /tmp/out/topology.txt
uname -r > /tmp/out/kernel.txt
"""


CGROUP_ROOT = "/sys/fs/cgroup"
CGROUP_FILES = ("cpuset.cpus", "cpuset.mems", "cpuset.cpus.effective", "cpuset.mems.effective",
                "cpu.max")

# cgroup v2 with the cpuset controller, as the guest's kernel offers it. The transcript (set -x)
# and every cpuset file land under /tmp/out/cgroups/ for the harness and for failure reports.
_CGROUP_MOUNT = r"""
mkdir -p /tmp/out/cgroups
# The last N CPUs of the cpulist in file F ("4-7" -> "6,7" for N=2).
last_cpus() {
  for r in $(tr ',' ' ' < "$1"); do seq "${r%%-*}" "${r#*-}"; done | tail -n "$2" | paste -sd, -
}
(
  set -x
  mount -t cgroup2 none %(root)s
  cat %(root)s/cgroup.controllers
  echo +cpuset > %(root)s/cgroup.subtree_control
""" % {"root": CGROUP_ROOT}


def _cgroup_script(cgroups):
    parts = [_CGROUP_MOUNT]
    if any(cg.cpu_max for cg in cgroups):
        parts.append("  echo +cpu > %s/cgroup.subtree_control\n" % CGROUP_ROOT)
    for cg in cgroups:
        path = "%s/%s" % (CGROUP_ROOT, cg.path)
        parent = path.rsplit("/", 1)[0]
        source = ("/sys/devices/system/node/node%d/cpulist" % cg.cpus_of_node
                  if cg.cpus_of_node is not None else parent + "/cpuset.cpus.effective")
        if parent != CGROUP_ROOT:
            parts.append("  echo +cpuset > %s/cgroup.subtree_control\n" % parent)
        parts.append("  mkdir %s\n" % path)
        parts.append('  echo "$(last_cpus %s %d)" > %s/cpuset.cpus\n' % (source, cg.ncpus, path))
        if cg.mems:
            parts.append("  echo %s > %s/cpuset.mems\n" % (shlex.quote(cg.mems), path))
        if cg.cpu_max:
            parts.append("  echo %s > %s/cpu.max\n" % (shlex.quote(cg.cpu_max), path))
    parts.append(") > /tmp/out/cgroups/setup.log 2>&1\n")
    for cg in cgroups:
        out = "/tmp/out/cgroups/" + cg.path
        parts.append("mkdir -p %s\n" % out)
        for name in CGROUP_FILES:
            parts.append("cat %s/%s/%s > %s/%s 2>&1\n" % (CGROUP_ROOT, cg.path, name, out, name))
    return "".join(parts)


def _wrapper(case):
    """The command prefix of a case: its wrapper, after a shell that moves itself into the case's
    cgroup and then becomes the command (nothing else is moved)."""
    if not case.cgroup:
        return tuple(case.wrapper)
    procs = "%s/%s/cgroup.procs" % (CGROUP_ROOT, case.cgroup)
    return ("sh", "-c", 'echo $$ > "$0" && exec "$@"', procs, *case.wrapper)


def _q(words):
    return " ".join(shlex.quote(w) for w in words)


def _spawn_flags(env):
    flags = []
    for name, value in env.items():
        if name in _FLAGS:
            flags += _FLAGS[name](value)
    return flags


def _probe_args(case, outdir, label):
    args = ["--out", outdir, "--label", label]
    if case.threads:
        args += ["--threads", str(case.threads)]
    if case.omp:
        args += ["--omp"]
    if case.mib:
        args += ["--mib", str(case.mib)]
    return args


def _case_script(case, spawn, library):
    d = "/tmp/out/" + case.name
    passed_as_env = {k: v for k, v in case.env.items() if k not in _FLAGS}
    flags = _spawn_flags(case.env)
    lines = ["mkdir -p %s" % d]
    weights = "/sys/kernel/mm/mempolicy/weighted_interleave"
    for node, weight in sorted((case.node_weights or {}).items()):
        lines.append("[ -d %s ] && echo %d > %s/node%d" % (weights, weight, weights, node))
    lines.append("(")
    for name, value in passed_as_env.items():
        lines.append("  export %s=%s" % (name, shlex.quote(value)))
    # A hung rank costs one case (status 143), not the whole boot's time budget.
    w = ["timeout", str(CASE_TIMEOUT), *_wrapper(case)]
    lines.append("  %s > %s/plan.json 2> %s/plan.err; echo $? > %s/plan.rc" % (
        _q([*w, spawn, "--dry-run", "--json", *flags, "--no-python", PROBE,
            *_probe_args(case, d, "spawn")]), d, d, d))
    lines.append("  export XEONRUN_LOG_LEVEL=info")
    if "spawn" in case.launch:
        lines.append("  %s > %s/spawn.log 2>&1; echo $? > %s/spawn.rc" % (
            _q([*w, spawn, *flags, "--no-python", PROBE, *_probe_args(case, d, "spawn")]), d, d))
    if "preload" in case.launch:
        rank_env = ["%s=%s" % (k, v) for k, v in case.env.items() if k in _FLAGS]
        lines.append('  pids=""')
        lines.append("  for r in %s; do" % " ".join(str(r) for r in range(case.nranks)))
        lines.append("    %s env LD_PRELOAD=%s XEONRUN_RANK=$r %s > %s/preload.$r.log 2>&1 &" % (
            _q(w), shlex.quote(library), _q([*rank_env, PROBE, *_probe_args(case, d, "preload")]),
            d))
        lines.append('    pids="$pids $!"')
        lines.append("  done")
        lines.append("  rc=0; for p in $pids; do wait $p || rc=$?; done; echo $rc > %s/preload.rc"
                     % d)
    lines.append(")")
    return "\n".join(lines) + "\n"


# The placement report of two ranks on two nodes, each rank's pages counted at exit: placed by
# xeonrun-spawn (--report), placed by the library alone (XEONRUN_REPORT), and started by
# xeonrun-spawn with its memory policy off (--disable-numactl) under `numactl --membind=0`, so
# that rank 1, planned on node 1, gets its pages on node 0: the report must say so and warn.
REPORT_DIR = "/tmp/out/report"


def report_script(spawn, library):
    d = REPORT_DIR
    probe = [PROBE, "--out", d, "--label", "report"]
    w = ["timeout", str(CASE_TIMEOUT)]
    lines = ["mkdir -p %s" % d, "("]
    lines.append("  %s > %s/spawn.log 2>&1; echo $? > %s/spawn.rc" % (_q(
        [*w, spawn, "--ninstances", "2", "--report", "--report-file", d + "/spawn.jsonl",
         "--no-python", *probe]), d, d))
    lines.append('  pids=""')
    lines.append("  for r in 0 1; do")
    lines.append("    %s > %s/preload.$r.log 2>&1 &" % (_q(
        [*w, "env", "LD_PRELOAD=" + library, "XEONRUN_NINSTANCES=2", "XEONRUN_REPORT=1",
         "XEONRUN_REPORT_FILE=" + d + "/preload.jsonl"]) + " XEONRUN_RANK=$r " + _q(probe), d))
    lines.append('    pids="$pids $!"')
    lines.append("  done")
    lines.append("  rc=0; for p in $pids; do wait $p || rc=$?; done; echo $rc > %s/preload.rc" % d)
    lines.append("  %s > %s/unbound.log 2>&1; echo $? > %s/unbound.rc" % (_q(
        ["numactl", "--membind=0", *w, spawn, "--ninstances", "2", "--disable-numactl",
         "--report", "--report-file", d + "/unbound.jsonl", "--no-python", *probe]), d, d))
    lines.append(")")
    return "\n".join(lines) + "\n"


def guest_script(guest, spawn, library, with_lstopo=False):
    parts = ["set -u\n"]
    for cpu in guest.offline_cpus:
        parts.append("echo 0 > /sys/devices/system/cpu/cpu%d/online || "
                     "echo 'cannot take cpu%d offline'\n" % (cpu, cpu))
    parts.append(_TOPOLOGY_DUMP)
    if guest.cgroups:
        parts.append(_cgroup_script(guest.cgroups))
    if with_lstopo:
        parts.append("lstopo-no-graphics --of xml > /tmp/out/hwloc.xml 2>&1\n")
    c = guest.control
    parts.append("mkdir -p /tmp/out/control\n")
    parts.append("numactl --physcpubind=%d --membind=%d %s > /tmp/out/control/numactl.log 2>&1; "
                 "echo $? > /tmp/out/control/numactl.rc\n" % (
                     c.cpu, c.node, _q([PROBE, "--out", "/tmp/out/control", "--label", "numactl"])))
    for case in guest.cases:
        parts.append(_case_script(case, spawn, library))
    if guest.report:
        parts.append(report_script(spawn, library))
    parts.append(GUEST_DUMP)
    return "".join(parts)
