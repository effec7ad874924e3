"""Judging one guest's results: the plan it printed against the oracle and the topology, and every
rank's probe report against the plan. Each check returns a list of failure lines (empty: passed)."""

import dataclasses
import re
import json


def parse_list(text):
    """'0-3,8' -> [0, 1, 2, 3, 8]."""
    out = []
    for part in (text or "").strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


@dataclasses.dataclass
class GuestTopology:
    online: list        # online CPUs
    offline: list
    core_of: dict       # cpu -> (package, core_id), online CPUs only
    node_cpus: dict     # node -> [cpus]


def parse_topology(text):
    online, offline, core_of, node_cpus = [], [], {}, {}
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["cpu"]:
            cpu = int(words[1])
            if words[2] == "1":
                online.append(cpu)
                core_of[cpu] = (words[3], words[4])
            else:
                offline.append(cpu)
        elif words[:1] == ["node"]:
            node_cpus[int(words[1])] = parse_list(words[2] if len(words) > 2 else "")
    return GuestTopology(sorted(online), sorted(offline), core_of, node_cpus)


class Results:
    """The files one guest dumped, addressed by case."""

    def __init__(self, files):
        self.files = files

    def text(self, path):
        return self.files.get("/tmp/out/" + path)

    def reports(self, case, label):
        prefix = "/tmp/out/%s/%s.rank" % (case, label)
        found = {}
        for path, text in self.files.items():
            if path.startswith(prefix) and path.endswith(".json"):
                found[path[len(prefix):-len(".json")]] = json.loads(text)
        return found


def _fmt(v):
    return ",".join(str(x) for x in v) if isinstance(v, list) else str(v)


def check_plan(case, plan, topo):
    fails = []
    ranks = plan.get("ranks", [])
    if plan.get("nranks") != case.nranks or len(ranks) != case.nranks:
        return ["plan has nranks=%s and %d rank entries, expected %d" % (
            plan.get("nranks"), len(ranks), case.nranks)]
    seen = {}
    for i, rank in enumerate(ranks):
        if rank.get("rank") != i:
            fails.append("plan entry %d is rank %s" % (i, rank.get("rank")))
        cpus = rank.get("cpus", [])
        if not cpus:
            fails.append("rank %d: no CPUs planned" % i)
        for cpu in cpus:
            if cpu in seen:
                fails.append("CPU %d planned for ranks %d and %d" % (cpu, seen[cpu], i))
            seen[cpu] = i
            if cpu not in topo.online:
                fails.append("rank %d: CPU %d planned but it is not online (online: %s)" % (
                    i, cpu, _fmt(topo.online)))
        if case.one_pu_per_core:
            cores = [topo.core_of.get(c) for c in cpus]
            if len(set(cores)) != len(cores):
                fails.append("rank %d: CPUs %s share physical cores (one PU per core expected "
                             "without logical cores)" % (i, _fmt(cpus)))
            for cpu in cpus:
                first = min(c for c in topo.online if topo.core_of[c] == topo.core_of.get(cpu))
                if cpu != first:
                    fails.append("rank %d: CPU %d is not the first online PU of its core (%d is)"
                                 % (i, cpu, first))
        if case.expect_cpus is not None and cpus != case.expect_cpus[i]:
            fails.append("rank %d: plan CPUs %s, expected %s" % (
                i, _fmt(cpus), _fmt(case.expect_cpus[i])))
        if case.expect_mems is not None and rank.get("mems") != case.expect_mems[i]:
            fails.append("rank %d: plan memory nodes %s, expected %s" % (
                i, _fmt(rank.get("mems")), _fmt(case.expect_mems[i])))
    return fails


@dataclasses.dataclass
class CgroupState:
    """One cgroup's cpuset as the guest's kernel reported it (the files under /tmp/out/cgroups)."""
    cpus: list          # cpuset.cpus.effective
    mems: list          # cpuset.mems.effective
    configured: dict    # file name -> text, every file dumped, for failure reports


def read_cgroup(results, path):
    """The state of cgroup `path`, or None when the guest dumped no effective sets for it."""
    files = {}
    for name in ("cpuset.cpus", "cpuset.mems", "cpuset.cpus.effective", "cpuset.mems.effective",
                 "cpu.max"):
        text = results.text("cgroups/%s/%s" % (path, name))
        if text is not None:
            files[name] = text.strip()
    try:
        cpus = parse_list(files.get("cpuset.cpus.effective"))
        mems = parse_list(files.get("cpuset.mems.effective"))
    except ValueError:  # an error message instead of a list: the file could not be read
        return None
    if not cpus or not mems:
        return None
    return CgroupState(cpus, mems, files)


def check_cgroup_setup(cg, state, topo, parent_cpus):
    """The guest made the cgroup the case means: `ncpus` CPUs taken from the node (or the parent's
    effective set), and memory on the CPUs' home node or, for home_mems=False, elsewhere."""
    if state is None:
        return ["cgroup %s: no effective cpuset (setup failed)" % cg.path]
    fails = []
    source = topo.node_cpus.get(cg.cpus_of_node, []) if cg.cpus_of_node is not None else parent_cpus
    if len(state.cpus) != cg.ncpus or not set(state.cpus) <= set(source):
        fails.append("cgroup %s: effective CPUs %s, wanted %d of %s" % (
            cg.path, _fmt(state.cpus), cg.ncpus, _fmt(source)))
    cpu_max = state.configured.get("cpu.max")
    if cg.cpu_max and cpu_max != cg.cpu_max:
        fails.append("cgroup %s: cpu.max %r, wanted %r" % (cg.path, cpu_max, cg.cpu_max))
    home = sorted(n for n, cpus in topo.node_cpus.items() if set(cpus) & set(state.cpus))
    if bool(set(home) & set(state.mems)) != cg.home_mems:
        fails.append("cgroup %s: effective memory nodes %s %s the home nodes %s of its CPUs" % (
            cg.path, _fmt(state.mems), "exclude" if cg.home_mems else "include", _fmt(home)))
    return fails


def cgroup_expectation(case, state, topo):
    """The plan of a case run inside a cgroup, from the cgroup's effective sets: its CPUs (one per
    physical core unless logical cores are asked for) split evenly in order among the ranks, as
    run_cpu splits a machine; memory on the nodes of a rank's CPUs that cpuset.mems.effective
    allows, or on every allowed node when it allows none of them -- never outside it."""
    cpus = state.cpus
    if case.one_pu_per_core:
        first = {}
        for cpu in cpus:
            first.setdefault(topo.core_of.get(cpu, cpu), cpu)
        cpus = sorted(first.values())
    if case.quota_cpus:  # a CPU quota: the first CPUs (one rank stays on as few nodes as it can)
        cpus = cpus[:case.quota_cpus]
    per_rank = len(cpus) // case.nranks
    expect_cpus = [cpus[r * per_rank:(r + 1) * per_rank] for r in range(case.nranks)]
    expect_mems = []
    for rank_cpus in expect_cpus:
        home = sorted(n for n, ncpus in topo.node_cpus.items() if set(ncpus) & set(rank_cpus))
        allowed_home = [n for n in home if n in state.mems]
        expect_mems.append(allowed_home or list(state.mems))
    return dataclasses.replace(case, expect_cpus=expect_cpus, expect_mems=expect_mems)


def _check_pages(pages, nodes, memory, weights=None):
    if "error" in pages:
        return ["pages: %s" % pages["error"]]
    total = pages["total"]
    by_node = {int(k): v for k, v in pages["by_node"].items()}
    fails = []
    if pages["unknown"]:
        fails.append("pages: %d of %d with no node" % (pages["unknown"], total))
    outside = sum(v for n, v in by_node.items() if n not in nodes)
    where = ", ".join("node %d: %d" % kv for kv in sorted(by_node.items()))
    if memory == "preferred-many-full":
        # The preferred nodes fill, the rest falls back elsewhere: no OOM. "Fill" is measured
        # against what the nodes had free when the probe started (free_before), not their size:
        # the kernel and the unpacked initramfs may hold part of a node, more of it when the boot
        # ran slowly on a loaded host (16729 pages of node 4's 32768 were free in one CI run).
        preferred = sum(by_node.get(n, 0) for n in nodes)
        free = {int(k): v for k, v in pages.get("free_before", {}).items()}
        had = sum(free.get(n, 0) for n in nodes)
        if not had or preferred < 0.8 * min(had, total) or total - preferred == 0:
            fails.append("pages: %d of %d on preferred nodes %s, which had %d pages free: expected "
                         "them full (over 80%%) and the rest elsewhere (%s)" % (
                             preferred, total, _fmt(nodes), had, where))
        return fails
    if memory in ("preferred", "preferred-many"):
        if sum(by_node.get(n, 0) for n in nodes[:1 if memory == "preferred" else None]) \
                < 0.9 * total:
            fails.append("pages: %s of %d on preferred node %d (%s)" % (
                by_node.get(nodes[0], 0), total, nodes[0], where))
    elif outside:
        fails.append("pages: %d of %d outside nodes %s (%s)" % (outside, total, _fmt(nodes), where))
    if memory == "weighted-interleave" and weights:
        # Each node's share within a quarter of what its weight gives it.
        whole = sum(weights.get(n, 1) for n in nodes)
        off = [n for n in nodes
               if abs(by_node.get(n, 0) - total * weights.get(n, 1) / whole)
               > 0.25 * total * weights.get(n, 1) / whole]
        if off:
            fails.append("pages not weighted %s: nodes %s off their share of %d (%s)" % (
                ":".join(str(weights.get(n, 1)) for n in nodes), _fmt(off), total, where))
        return fails
    if memory in ("interleave", "weighted-interleave"):
        fair = total / len(nodes)
        thin = [n for n in nodes if by_node.get(n, 0) < fair / 2]
        if thin:
            fails.append("pages not interleaved: nodes %s got less than half their share of %d "
                         "(%s)" % (_fmt(thin), total, where))
    return fails


def _check_policy(policy, nodes, memory):
    if "error" in policy:
        return ["mempolicy: %s" % policy["error"]]
    accepted = {"preferred": ("preferred", "preferred_many"),
                "preferred-many": ("preferred_many",), "preferred-many-full": ("preferred_many",),
                "weighted-interleave": ("weighted_interleave",)}.get(memory, (memory,))
    fails = []
    if policy["mode"] not in accepted:
        fails.append("mempolicy mode %s, expected %s" % (policy["mode"], memory))
    if policy["nodes"] != nodes:
        fails.append("mempolicy nodes %s, expected %s" % (_fmt(policy["nodes"]), _fmt(nodes)))
    return fails


def _check_one_cpu_per_thread(threads, cpus, what, expected_count):
    fails = []
    if len(threads) != expected_count:
        fails.append("%s: %d threads reported, expected %d" % (what, len(threads), expected_count))
    used = []
    for t in threads:
        if len(t["affinity"]) != 1:
            fails.append("%s thread %d: affinity %s, expected one CPU" % (
                what, t["id"], _fmt(t["affinity"])))
            continue
        cpu = t["affinity"][0]
        used.append(cpu)
        if cpu not in cpus:
            fails.append("%s thread %d: pinned to CPU %d outside the rank's %s" % (
                what, t["id"], cpu, _fmt(cpus)))
        if any(s != cpu for s in t["samples"]):
            fails.append("%s thread %d: ran on %s, pinned to %d" % (
                what, t["id"], _fmt(t["samples"]), cpu))
    wanted = min(len(threads), len(cpus))
    if len(set(used)) < wanted:
        fails.append("%s: threads share CPUs: %s (rank CPUs %s)" % (what, _fmt(used), _fmt(cpus)))
    return fails


def check_report(case, rank, report):
    """One rank's probe report against its plan entry."""
    cpus, mems = rank["cpus"], rank["mems"]
    fails = []
    main = report["main"]
    if case.env.get("XEONRUN_PIN") == "thread":
        # Under XEONRUN_PIN=thread the library leaves the main thread on the whole slice, but an
        # OpenMP runtime that binds its own threads (libgomp's OMP_PROC_BIND) narrows it to its
        # first place.
        if not main["affinity"] or not set(main["affinity"]) <= set(cpus):
            fails.append("main thread affinity %s not within the rank's %s" % (
                _fmt(main["affinity"]), _fmt(cpus)))
    elif main["affinity"] != cpus:
        fails.append("affinity %s, planned %s" % (_fmt(main["affinity"]), _fmt(cpus)))
    stray = [s for s in main["samples"] if s not in cpus]
    if stray:
        fails.append("main thread ran on CPUs %s outside %s" % (_fmt(stray), _fmt(cpus)))
    fails += _check_policy(report["mempolicy"], mems, case.memory)
    fails += _check_pages(report["pages"], mems, case.memory, case.node_weights)
    env = report["env"]
    if parse_list(env.get("XEONRUN_PLACED_CPUS")) != cpus:
        fails.append("XEONRUN_PLACED_CPUS=%s, planned %s" % (env.get("XEONRUN_PLACED_CPUS"),
                                                            _fmt(cpus)))
    if parse_list(env.get("XEONRUN_PLACED_MEMS")) != mems:
        fails.append("XEONRUN_PLACED_MEMS=%s, planned %s" % (env.get("XEONRUN_PLACED_MEMS"),
                                                            _fmt(mems)))
    if env.get("XEONRUN_PLACED_RANK") != str(rank["rank"]):
        fails.append("XEONRUN_PLACED_RANK=%s, expected %d" % (env.get("XEONRUN_PLACED_RANK"),
                                                             rank["rank"]))
    if case.cgroup:
        lines = (report.get("cgroup") or "").splitlines()
        if "0::/" + case.cgroup not in lines:
            fails.append("ran in cgroup %s, expected 0::/%s" % (
                "|".join(lines) or "(none reported)", case.cgroup))
    if case.threads:
        fails += _check_one_cpu_per_thread(report["pthreads"], cpus, "pthread", case.threads)
    if case.omp:
        fails += _check_one_cpu_per_thread(report["omp"], cpus, "OpenMP",
                                           rank.get("omp_threads", len(cpus)))
    return fails


def kernel_at_least(release, needed):
    parts = re.match(r"(\d+)\.(\d+)", release or "")
    return parts is not None and (int(parts.group(1)), int(parts.group(2))) >= tuple(needed)


def check_refusal(case, rc, output, what):
    """A mode the guest's kernel lacks: exit 2 and one line naming the release needed."""
    needed = "Linux %d.%d or later" % case.needs_kernel
    fails = []
    if rc != "2":
        fails.append("%s exited %s, expected 2 (a kernel without the mode)" % (what, rc or "?"))
    if needed not in (output or "") or "XEONRUN_MEMBIND=%s" % case.env.get("XEONRUN_MEMBIND") \
            not in (output or ""):
        fails.append("%s did not name XEONRUN_MEMBIND and %s: %s" % (what, needed,
                                                                     (output or "").strip()))
    return fails


def check_control(control, reports):
    if len(reports) != 1:
        return ["numactl control: %d probe reports, expected 1" % len(reports)]
    report = next(iter(reports.values()))
    fails = []
    if report["main"]["affinity"] != [control.cpu]:
        fails.append("affinity %s under numactl --physcpubind=%d" % (
            _fmt(report["main"]["affinity"]), control.cpu))
    if any(s != control.cpu for s in report["main"]["samples"]):
        fails.append("ran on %s, pinned to %d" % (_fmt(report["main"]["samples"]), control.cpu))
    fails += _check_policy(report["mempolicy"], [control.node], "bind")
    fails += _check_pages(report["pages"], [control.node], "bind")
    return fails


# ---- the placement report (XEONRUN_REPORT, xeonrun-spawn --report) ----

LOCAL_ENOUGH = 0.95  # a placed rank's share of pages on its planned nodes (issue #15)


def parse_report_lines(text):
    """The JSON lines a report file holds, by rank (the last line of a rank wins)."""
    out = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            out[entry.get("rank")] = entry
    return out


def check_placement_reports(results, plan_mems=([0], [1])):
    """(name, [failures]) per launch: placed ranks report >= 95% local pages and their figures;
    under --disable-numactl with numactl --membind=0, rank 1 (planned on node 1) reports less than
    half and the spawner warns about it."""
    verdicts = []
    for launch, placed in (("spawn", True), ("preload", True), ("unbound", False)):
        fails = []
        rc = (results.text("report/%s.rc" % launch) or "").strip()
        if rc != "0":
            fails.append("%s exited %s" % (launch, rc or "(no status)"))
        lines = parse_report_lines(results.text("report/%s.jsonl" % launch))
        for rank, mems in enumerate(plan_mems):
            entry = lines.get(rank)
            if entry is None:
                fails.append("rank %d: no report line" % rank)
                continue
            if entry.get("mems") != list(mems):
                fails.append("rank %d: planned nodes %s, expected %s" % (
                    rank, entry.get("mems"), list(mems)))
            for key in ("cpu_seconds", "involuntary_switches", "migrations", "local_share"):
                if entry.get(key) is None:
                    fails.append("rank %d: %s unknown" % (rank, key))
            share = entry.get("local_share")
            if share is None:
                continue
            if (placed or rank == 0) and share < LOCAL_ENOUGH:
                fails.append("rank %d: %.1f%% of its pages on nodes %s, expected >= %.0f%%" % (
                    rank, share * 100, mems, LOCAL_ENOUGH * 100))
            if not placed and rank == 1 and share >= 0.5:
                fails.append("rank 1: memory left unplaced under numactl --membind=0 but %.1f%% "
                             "reported on node 1" % (share * 100))
        log = results.text("report/%s.log" % launch) or ""
        if launch == "unbound" and "warning: rank 1: only" not in log:
            fails.append("no warning for rank 1 in the spawner's output")
        if launch == "spawn" and log.count("xeonrun-spawn: report rank") != len(plan_mems):
            fails.append("not one report line per rank in the spawner's output")
        verdicts.append(("report " + launch, fails))
    return verdicts
