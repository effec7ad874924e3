#!/usr/bin/env python3
"""libxeonplace.so across simulated nodes: one launcher, its daemons on 2 or 3 "nodes" of this
machine, each rank placed by its node-local rank (issue #14, tests/multinode/README.md).

Each node is a cgroup v1 cpuset with the node's share of the CPUs plus a UTS namespace with the
node's host name. The launcher starts its per-node daemon (Open MPI's orted, hydra's
hydra_pmi_proxy) through its own remote-launch agent option, pointed at node_agent.sh instead of
ssh; the daemon and the ranks it forks live on that node. The network namespace is shared (see the
README for why). Every check is derived from the CPUs this test may use, so it also runs under
`taskset -c N` (the nodes then share that CPU).

    multinode_test.py --library libxeonplace.so --probe probe SCENARIO
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "launchers"))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import launchers_test as lt  # noqa: E402  (its run/records/checks, one definition)
from machine import Machine, cgroup_cpus, list_text  # noqa: E402
from slurm_cluster import SlurmCluster, free_port  # noqa: E402

AGENT = os.path.join(HERE, "node_agent.sh")
CPUSET_ROOT = "/sys/fs/cgroup/cpuset"


def usable_cpus():
    """The CPUs this test may hand to nodes: its affinity inside its cgroup."""
    return sorted(set(os.sched_getaffinity(0)) & set(cgroup_cpus()))


def node_layout(count):
    """[(host, cpus, ranks)] for `count` nodes: node a gets the first usable CPU, node b the
    second, a third node shares both and runs two ranks (tasks per node 1,1,2: uneven). Four nodes
    are the issue's example, Slurm's "2(x3),1": three nodes share both CPUs with two ranks each,
    a fourth has the first CPU and one rank. With one usable CPU every node gets it, and a node
    runs no more ranks than it has cores."""
    cpus = usable_cpus()
    a = cpus[:1]
    b = cpus[1:2] or a
    shared = cpus[:2]
    pair = Machine(shared).ranks_up_to(2)
    if count == 4:
        return [("xpn-a", shared, pair), ("xpn-b", shared, pair), ("xpn-c", shared, pair),
                ("xpn-d", a, 1)]
    layout = [("xpn-a", a, 1), ("xpn-b", b, 1)]
    if count == 3:
        layout.append(("xpn-c", shared, pair))
    return layout


class Nodes:
    """One cpuset cgroup per node under a fresh parent; removed (after their tasks end) on exit."""

    def __init__(self, layout):
        self.layout = layout
        self.parent = None

    def __enter__(self):
        if not os.access(os.path.join(CPUSET_ROOT, "tasks"), os.W_OK):
            raise lt.Failure("no writable cgroup v1 cpuset hierarchy at %s (run as root on a "
                             "machine that mounts it)" % CPUSET_ROOT)
        self.parent = tempfile.mkdtemp(prefix="xp-multinode-", dir=CPUSET_ROOT)
        for name, value in (("cpuset.cpus", "cpuset.cpus"), ("cpuset.mems", "cpuset.mems")):
            with open(os.path.join(CPUSET_ROOT, value)) as f, \
                    open(os.path.join(self.parent, name), "w") as out:
                out.write(f.read().strip())
        mems = open(os.path.join(CPUSET_ROOT, "cpuset.mems")).read().strip()
        for host, cpus, _ in self.layout:
            group = os.path.join(self.parent, host)
            os.mkdir(group)
            with open(os.path.join(group, "cpuset.cpus"), "w") as f:
                f.write(",".join(str(c) for c in cpus))
            with open(os.path.join(group, "cpuset.mems"), "w") as f:
                f.write(mems)
        return self

    def __exit__(self, *exc):
        for host, _, _ in self.layout:
            group = os.path.join(self.parent, host)
            for _ in range(50):  # the daemons may still be exiting
                try:
                    os.rmdir(group)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
        try:
            os.rmdir(self.parent)
        except OSError as error:
            print("warning: could not remove %s: %s" % (self.parent, error), flush=True)
        return False

    def env(self, base, log):
        env = dict(base)
        env["XP_MN_CGROUPS"] = self.parent
        env["XP_MN_LOG"] = log
        return env


def expected_by_node(layout):
    """{host: [(cpus, mems)] by local rank}: each node's ranks split that node's CPUs."""
    expected = {}
    for host, cpus, ranks in layout:
        plan = Machine(cpus).plan(ranks)
        expected[host] = [(rank.cpus, rank.mems) for rank in plan]
    return expected


def check_nodes(records, layout, rank_variable, size_variable):
    """Every rank ran on its node, local ranks restart at 0 on each node, and each rank holds its
    node-local slice (CPUs, memory policy, OMP_NUM_THREADS, XEONRUN_PLACED_*)."""
    expected = expected_by_node(layout)
    by_node = {}
    for record in records:
        by_node.setdefault(record["host"], []).append(record)
    errors = []
    if sorted(by_node) != sorted(expected):
        raise lt.Failure("ranks ran on nodes %s, expected %s"
                         % (sorted(by_node), sorted(expected)))
    for host, wanted in sorted(expected.items()):
        ranks = by_node[host]
        local = sorted(int(r["env"].get(rank_variable, -1)) for r in ranks)
        if local != list(range(len(wanted))):
            errors.append("%s: local ranks %s, expected %s" % (host, local,
                                                              list(range(len(wanted)))))
            continue
        for record in ranks:
            size = record["env"].get(size_variable) if size_variable else str(len(wanted))
            if size != str(len(wanted)):
                errors.append("%s: %s=%s, expected %d" % (host, size_variable, size, len(wanted)))
            rank = int(record["env"][rank_variable])
            cpus, mems = wanted[rank]
            lt.check_rank(record, rank, len(wanted), cpus, mems, errors)
    if errors:
        raise lt.Failure("\n".join(errors))
    for host, cpus, ranks in layout:
        for record in sorted(by_node[host], key=lambda r: int(r["env"][rank_variable])):
            print("ok: %s (cpuset %s) local rank %s of %d on CPUs %s, OMP_NUM_THREADS=%s"
                  % (host, list_text(cpus), record["env"][rank_variable], ranks,
                     list_text(record["affinity"]), record["env"].get("OMP_NUM_THREADS")),
                  flush=True)


def check_agent_log(log, layout):
    """The launcher really went through the agent, once per node."""
    with open(log) as f:
        hosts = sorted(line.split(" ", 1)[0] for line in f if line.strip())
    wanted = sorted(host for host, _, _ in layout)
    if hosts != wanted:
        raise lt.Failure("the agent started daemons on %s, expected one on each of %s"
                         % (hosts, wanted))


def openmpi(args, workdir, outdir, count):
    lt.require("mpirun", "openmpi-bin")
    layout = node_layout(count)
    hostfile = os.path.join(workdir, "hostfile")
    with open(hostfile, "w") as f:
        for host, _, ranks in layout:
            f.write("%s slots=%d\n" % (host, ranks))
    nranks = sum(ranks for _, _, ranks in layout)
    log = os.path.join(workdir, "agent.log")
    command = ["mpirun", "--allow-run-as-root", "--mca", "plm_rsh_agent", AGENT,
               "--mca", "plm_rsh_no_tree_spawn", "1", "--hostfile", hostfile,
               "-np", str(nranks), "-x", "LD_PRELOAD=" + args.library, args.probe, outdir]
    with Nodes(layout) as nodes:
        lt.run(command, nodes.env(lt.clean_env(), log), "mpirun")
    records = lt.read_records(outdir, None, count=nranks)
    check_agent_log(log, layout)
    check_nodes(records, layout, "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE")


def mpich(args, workdir, outdir, count):
    lt.require("mpiexec.mpich", "mpich")
    layout = node_layout(count)
    hosts = ",".join("%s:%d" % (host, ranks) for host, _, ranks in layout)
    nranks = sum(ranks for _, _, ranks in layout)
    log = os.path.join(workdir, "agent.log")
    command = ["mpiexec.mpich", "-launcher", "ssh", "-launcher-exec", AGENT, "-hosts", hosts,
               "-n", str(nranks), "-genv", "LD_PRELOAD", args.library, args.probe, outdir]
    with Nodes(layout) as nodes:
        lt.run(command, nodes.env(lt.clean_env(), log), "mpiexec.mpich")
    records = lt.read_records(outdir, None, count=nranks)
    check_agent_log(log, layout)
    check_nodes(records, layout, "MPI_LOCALRANKID", "MPI_LOCALNRANKS")


class SlurmNodes(SlurmCluster):
    """slurmctld on this host and one `slurmd -N HOST` per node, each started through the agent
    (its cpuset, its host name); stopped, with what they forked, as SlurmCluster stops its own."""

    prefix = "xp-multinode-slurm-"

    def __init__(self, layout, nodes, log):
        super().__init__(timeout=30.0)
        self.layout = layout
        self.nodes = nodes
        self.log = log

    def _start(self):
        os.mkdir(os.path.join(self.state, "ctld"))
        host = socket.gethostname().split(".")[0]
        node_lines = []
        for name, cpus, _ in self.layout:
            node_lines.append("NodeName=%s NodeHostname=%s NodeAddr=127.0.0.1 Port=%d CPUs=%d "
                              "State=UNKNOWN" % (name, host, free_port(), len(cpus)))
        with open(os.path.join(HERE, "slurm.conf.in")) as f:
            text = f.read()
        for key, value in {"HOST": host, "STATE": self.state, "CTLD_PORT": str(free_port()),
                           "NODES": "\n".join(node_lines)}.items():
            text = text.replace("@%s@" % key, value)
        self.conf = os.path.join(self.state, "slurm.conf")
        with open(self.conf, "w") as f:
            f.write(text)
        env = self.env(self.nodes.env(lt.clean_env(), self.log))
        subprocess.run(["slurmctld", "-f", self.conf], env=env, check=True, timeout=30,
                       stdout=subprocess.DEVNULL)
        for name, _, _ in self.layout:  # slurmd daemonizes inside the node
            subprocess.run([AGENT, name, "slurmd", "-f", self.conf, "-N", name], env=env,
                           check=True, timeout=30, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        wanted = sorted(name for name, _, _ in self.layout)
        while time.monotonic() < deadline:
            lines = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %T"], env=env,
                                   capture_output=True, text=True, timeout=30).stdout.split("\n")
            idle = sorted(l.split()[0] for l in lines if l.strip().endswith("idle"))
            if idle == wanted:
                return
            time.sleep(0.2)
        raise lt.Failure("the Slurm nodes did not come up within 30 s: %s" % self.logs())


def slurm(args, workdir, outdir, count):
    lt.require("srun", "slurm-wlm")
    layout = node_layout(count)
    nranks = sum(ranks for _, _, ranks in layout)
    hosts = ",".join(host for host, _, _ in layout)
    # --cpu-bind=none: task/affinity maps a node's first CPU to CPU 0 of the machine, which node
    # b's cpuset does not allow ("task_g_set_affinity: Invalid argument"); the library then plans
    # each task over its node's cpuset, as it replaces Slurm's default binding anyway.
    command = ["srun", "-N", str(len(layout)), "-n", str(nranks), "-w", hosts,
               "--distribution=block", "--cpu-bind=none",
               "--export=ALL,LD_PRELOAD=" + args.library, args.probe, outdir]
    log = os.path.join(workdir, "agent.log")
    with Nodes(layout) as nodes:
        with SlurmNodes(layout, nodes, log) as cluster:
            lt.run(command, cluster.env(nodes.env(lt.clean_env(), log)), "srun")
    records = lt.read_records(outdir, None, count=nranks)
    check_agent_log(log, layout)
    check_nodes(records, layout, "SLURM_LOCALID", None)
    lists = {r["env"].get("SLURM_STEP_TASKS_PER_NODE") for r in records}
    wanted = tasks_per_node_list([ranks for _, _, ranks in layout])
    if lists != {wanted}:
        raise lt.Failure("SLURM_STEP_TASKS_PER_NODE %s, expected %s" % (sorted(lists), wanted))
    print("ok: SLURM_STEP_TASKS_PER_NODE=%s" % wanted, flush=True)


def tasks_per_node_list(counts):
    """Slurm's compressed list: [1, 1, 2] -> "1(x2),2"."""
    entries = []
    for count in counts:
        if entries and entries[-1][0] == count:
            entries[-1][1] += 1
        else:
            entries.append([count, 1])
    return ",".join(str(c) if n == 1 else "%d(x%d)" % (c, n) for c, n in entries)


SCENARIOS = {
    "slurm_2_nodes": lambda a, w, o: slurm(a, w, o, 2),
    "slurm_3_nodes_uneven": lambda a, w, o: slurm(a, w, o, 3),
    "openmpi_2_nodes": lambda a, w, o: openmpi(a, w, o, 2),
    "openmpi_3_nodes_uneven": lambda a, w, o: openmpi(a, w, o, 3),
    "mpich_2_nodes": lambda a, w, o: mpich(a, w, o, 2),
    "mpich_3_nodes_uneven": lambda a, w, o: mpich(a, w, o, 3),
    "slurm_4_nodes_2x3_1": lambda a, w, o: slurm(a, w, o, 4),
    "openmpi_4_nodes_2x3_1": lambda a, w, o: openmpi(a, w, o, 4),
    "mpich_4_nodes_2x3_1": lambda a, w, o: mpich(a, w, o, 4),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", required=True, help="path of libxeonplace.so")
    parser.add_argument("--probe", required=True, help="path of the compiled probe.c")
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("FAIL: the multinode suite needs root (cgroups, namespaces)")
        return 1
    return lt.run_scenario(args.scenario, "xp-multinode-",
                           lambda workdir, outdir: SCENARIOS[args.scenario](args, workdir, outdir))


if __name__ == "__main__":
    sys.exit(main())
