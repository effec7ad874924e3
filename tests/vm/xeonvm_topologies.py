"""The guests: a virtual machine shape each, and the cases one boot of it runs.

Expected CPUs and nodes written here are worked out by hand from the topology (run_cpu's
semantics: one PU per physical core unless logical cores are asked for, cores sorted and sliced
per rank, memory on the nodes of the rank's CPUs). They are an oracle independent of the planner:
the guest's own plan must match them, and the ranks must match the plan.

QEMU numbers vCPUs socket-major, then core, then thread, so with threads=2 the SMT siblings are
CPUs 2k and 2k+1 -- unlike most Intel machines (k and k+ncores). A planner that takes core ids for
CPU ids, or assumes the second half of the CPUs are siblings, fails here.
"""

import dataclasses

from xeonvm_guest import QemuTopology


@dataclasses.dataclass
class Case:
    name: str
    env: dict                     # XEONRUN_* variables every rank sees (flags for xeonrun-spawn)
    nranks: int                   # ranks the plan must have
    expect_cpus: list = None      # per rank, the oracle; None: only the generic checks
    expect_mems: list = None      # per rank: the nodes of the memory policy
    launch: tuple = ("spawn", "preload")
    memory: str = "bind"          # policy the ranks must report: bind, preferred, interleave
    threads: int = 0              # pthreads (and --omp) the probe starts; checks XEONRUN_PIN=thread
    omp: bool = False
    one_pu_per_core: bool = True  # without logical cores: first PU of distinct cores
    wrapper: tuple = ()           # command prefix for the plan and every launch (taskset -c ...)
    # Run the plan and every launch inside this cgroup v2 (a Guest.cgroups path). The expected
    # plan is then derived from the cgroup's effective cpuset as the guest's kernel reports it
    # (xeonvm_checks.cgroup_expectation), so expect_cpus/expect_mems stay None.
    cgroup: str = None
    quota_cpus: int = 0           # the cgroup's CPU quota rounded up: the plan's CPUs, at most
    mib: int = 0                  # MiB the probe touches (0: its default, 4)
    # A mode the guest's kernel may lack (XEONRUN_MEMBIND=weighted-interleave needs Linux 6.9):
    # (major, minor) of the first release that has it. On an older guest kernel the plan and every
    # launch must exit 2 naming that release; on a newer one the case is checked as placed.
    needs_kernel: tuple = None
    # {node: weight} written to /sys/kernel/mm/mempolicy/weighted_interleave/node<N> before the
    # case's launches, where the guest's kernel has them (6.9+); the pages must follow them.
    node_weights: dict = None


@dataclasses.dataclass
class Control:
    """numactl pins the probe: proves the probe and the harness measure what they claim."""
    cpu: int
    node: int


@dataclasses.dataclass
class Cgroup:
    """A cgroup v2 cpuset the guest creates before its cases run (under /sys/fs/cgroup). Its CPUs
    are chosen inside the guest from what the kernel reports: the last `ncpus` CPUs of node
    `cpus_of_node` (sysfs cpulist), or, without a node, of the parent cgroup's effective set."""
    path: str                 # "socket1", "socket1/one"
    ncpus: int
    cpus_of_node: int = None
    mems: str = ""            # cpuset.mems to write; "" inherits the parent's effective nodes
    home_mems: bool = True    # whether cpuset.mems.effective holds the node of its CPUs
    cpu_max: str = ""         # cgroup v2 cpu.max to write ("150000 100000"); "" leaves "max"


@dataclasses.dataclass
class Guest:
    name: str
    qemu: QemuTopology
    control: Control
    cases: list
    offline_cpus: list = dataclasses.field(default_factory=list)
    cgroups: list = dataclasses.field(default_factory=list)  # mounts cgroup2 when not empty
    # The placement report (XEONRUN_REPORT, --report) of two ranks, placed and with memory left
    # unplaced: xeonvm_script.REPORT_SCRIPT, checked by xeonvm_checks.check_placement_reports.
    report: bool = False


def _two_sockets_smt():
    return Guest(
        name="2s4c2t",
        qemu=QemuTopology(smp="16,sockets=2,cores=4,threads=2",
                          nodes=[(512, "0-7"), (512, "8-15")], distances=[(0, 1, 21)]),
        control=Control(cpu=13, node=1),
        report=True,
        cases=[
            Case("default", {"XEONRUN_NINSTANCES": "2"}, 2,
                 expect_cpus=[[0, 2, 4, 6], [8, 10, 12, 14]], expect_mems=[[0], [1]]),
            Case("logical", {"XEONRUN_NINSTANCES": "2", "XEONRUN_USE_LOGICAL_CORE": "1"}, 2,
                 expect_cpus=[list(range(0, 8)), list(range(8, 16))], expect_mems=[[0], [1]],
                 one_pu_per_core=False),
            # Started inside a narrower affinity (as a batch system's binding would): plan
            # within it, memory on the node of those CPUs.
            Case("inherited-affinity", {"XEONRUN_NINSTANCES": "2"}, 2,
                 expect_cpus=[[8, 10], [12, 14]], expect_mems=[[1], [1]],
                 wrapper=("taskset", "-c", "8-15")),
            # run_cpu's latency mode: 4 physical cores per rank over all of them.
            Case("latency", {"XEONRUN_MODE": "latency"}, 2,
                 expect_cpus=[[0, 2, 4, 6], [8, 10, 12, 14]], expect_mems=[[0], [1]],
                 launch=("spawn",)),
            Case("interleave", {"XEONRUN_NINSTANCES": "1", "XEONRUN_MEMBIND": "interleave"}, 1,
                 expect_cpus=[[0, 2, 4, 6, 8, 10, 12, 14]], expect_mems=[[0, 1]],
                 memory="interleave"),
            Case("pin-thread", {"XEONRUN_NINSTANCES": "2", "XEONRUN_PIN": "thread"}, 2,
                 expect_cpus=[[0, 2, 4, 6], [8, 10, 12, 14]], expect_mems=[[0], [1]],
                 threads=4),
            Case("pin-thread-omp", {"XEONRUN_NINSTANCES": "2", "XEONRUN_PIN": "thread"}, 2,
                 expect_cpus=[[0, 2, 4, 6], [8, 10, 12, 14]], expect_mems=[[0], [1]], omp=True),
            # The same with libgomp itself (no libiomp5 preloaded): OMP_PROC_BIND/OMP_PLACES.
            Case("pin-thread-gomp", {"XEONRUN_NINSTANCES": "2", "XEONRUN_PIN": "thread",
                                     "XEONRUN_OMP_RUNTIME": "default"}, 2,
                 expect_cpus=[[0, 2, 4, 6], [8, 10, 12, 14]], expect_mems=[[0], [1]], omp=True,
                 launch=("spawn",)),
        ])


def _four_sockets():
    # 4 sockets x 2 cores, no SMT: node k holds CPUs 2k and 2k+1.
    return Guest(
        name="4s",
        qemu=QemuTopology(smp="8,sockets=4,cores=2,threads=1",
                          nodes=[(256, "0-1"), (256, "2-3"), (256, "4-5"), (256, "6-7")]),
        control=Control(cpu=7, node=3),
        cases=[
            Case("default", {"XEONRUN_NINSTANCES": "4"}, 4,
                 expect_cpus=[[0, 1], [2, 3], [4, 5], [6, 7]],
                 expect_mems=[[0], [1], [2], [3]]),
            Case("throughput", {"XEONRUN_MODE": "throughput"}, 4,
                 expect_cpus=[[0, 1], [2, 3], [4, 5], [6, 7]],
                 expect_mems=[[0], [1], [2], [3]]),
            # run_cpu lets a slice cross nodes; memory then binds to every node it touches.
            Case("cross-node", {"XEONRUN_NINSTANCES": "2", "XEONRUN_NCORES_PER_INSTANCE": "3"}, 2,
                 expect_cpus=[[0, 1, 2], [3, 4, 5]], expect_mems=[[0, 1], [1, 2]]),
            Case("interleave", {"XEONRUN_NINSTANCES": "1", "XEONRUN_MEMBIND": "interleave"}, 1,
                 expect_cpus=[list(range(8))], expect_mems=[[0, 1, 2, 3]], memory="interleave",
                 launch=("preload",)),
        ])


def _snc_with_memory_node():
    # 2 sockets x 4 cores x 2 threads, sub-NUMA clustering: 2 nodes per socket (2 cores each),
    # plus node 4: memory without CPUs (HBM/CXL-like, 128 MiB: small enough to fill), near
    # socket 0.
    distances = [(0, 1, 11), (0, 2, 21), (0, 3, 21), (1, 2, 21), (1, 3, 21), (2, 3, 11),
                 (0, 4, 14), (1, 4, 14), (2, 4, 24), (3, 4, 24)]
    return Guest(
        name="snc-memnode",
        qemu=QemuTopology(smp="16,sockets=2,cores=4,threads=2",
                          nodes=[(256, "0-3"), (256, "4-7"), (256, "8-11"), (256, "12-15"),
                                 (128, None)], distances=distances),
        control=Control(cpu=5, node=4),
        cases=[
            Case("default", {"XEONRUN_NINSTANCES": "4"}, 4,
                 expect_cpus=[[0, 2], [4, 6], [8, 10], [12, 14]],
                 expect_mems=[[0], [1], [2], [3]]),
            Case("throughput", {"XEONRUN_MODE": "throughput"}, 4,
                 expect_cpus=[[0, 2], [4, 6], [8, 10], [12, 14]],
                 expect_mems=[[0], [1], [2], [3]], launch=("preload",)),
            Case("memnode-bind", {"XEONRUN_NINSTANCES": "2", "XEONRUN_MEM_NODES": "4"}, 2,
                 expect_cpus=[[0, 2, 4, 6], [8, 10, 12, 14]], expect_mems=[[4], [4]]),
            Case("memnode-preferred", {"XEONRUN_NINSTANCES": "2", "XEONRUN_MEM_NODES": "4",
                                       "XEONRUN_MEMBIND": "preferred"}, 2,
                 expect_cpus=[[0, 2, 4, 6], [8, 10, 12, 14]], expect_mems=[[4], [4]],
                 memory="preferred"),
            Case("interleave", {"XEONRUN_NINSTANCES": "2", "XEONRUN_MEMBIND": "interleave"}, 2,
                 expect_cpus=[[0, 2, 4, 6], [8, 10, 12, 14]], expect_mems=[[0, 1], [2, 3]],
                 memory="interleave", launch=("spawn",)),
            # Memory tiers (issue #15): each rank prefers the CPU-less node nearest its CPUs'
            # nodes (node 4 is the only one: both ranks), found without XEONRUN_MEM_NODES.
            Case("preferred-many", {"XEONRUN_NINSTANCES": "2", "XEONRUN_MEMBIND": "preferred-many"},
                 2, expect_cpus=[[0, 2, 4, 6], [8, 10, 12, 14]], expect_mems=[[4], [4]],
                 memory="preferred-many"),
            # More than node 4 holds (128 MiB): it fills, the rest falls back to DDR nodes.
            Case("preferred-many-full", {"XEONRUN_NINSTANCES": "1",
                                         "XEONRUN_MEMBIND": "preferred-many"}, 1,
                 expect_cpus=[[0, 2, 4, 6, 8, 10, 12, 14]], expect_mems=[[4]],
                 memory="preferred-many-full", mib=160, launch=("spawn",)),
            # Linux 6.9's mode: Debian 12's 6.1 kernel lacks it, and must be told so (the spawner
            # by its plan, the library by each LD_PRELOAD rank); on 6.12 (linux-image-6.12-amd64)
            # the pages follow the kernel's node weights, set here to 3 for the CXL-like node 4:
            # 3 pages of 5 there, where a plain interleave over three nodes would put 1 of 3.
            Case("weighted-interleave", {"XEONRUN_NINSTANCES": "2",
                                         "XEONRUN_MEMBIND": "weighted-interleave"}, 2,
                 expect_cpus=[[0, 2, 4, 6], [8, 10, 12, 14]], expect_mems=[[0, 1, 4], [2, 3, 4]],
                 memory="weighted-interleave", needs_kernel=(6, 9), launch=("preload",),
                 node_weights={0: 1, 1: 1, 2: 1, 3: 1, 4: 3}, mib=16),
        ])


def _twelve_nodes():
    # 12 nodes of one CPU each: node ids of two digits, masks wider than a byte. Node 0 gets more
    # memory because the kernel and the unpacked initramfs live there first.
    nodes = [(256, "0")] + [(64, str(k)) for k in range(1, 12)]
    one_each = [[k] for k in range(12)]
    return Guest(
        name="12nodes",
        qemu=QemuTopology(smp="12,sockets=2,cores=6,threads=1", nodes=nodes),
        control=Control(cpu=11, node=11),
        cases=[
            Case("throughput", {"XEONRUN_MODE": "throughput"}, 12,
                 expect_cpus=one_each, expect_mems=one_each),
            Case("node-id", {"XEONRUN_NINSTANCES": "1", "XEONRUN_NODE_ID": "10"}, 1,
                 expect_cpus=[[10]], expect_mems=[[10]]),
            Case("interleave", {"XEONRUN_NINSTANCES": "1", "XEONRUN_MEMBIND": "interleave"}, 1,
                 expect_cpus=[list(range(12))], expect_mems=[list(range(12))],
                 memory="interleave", launch=("spawn",)),
        ])


def _offline_cpu():
    # 2 sockets x 2 cores x 2 threads; the guest takes CPU 2 (first PU of core 1) offline before
    # anything runs, so core 1 must be represented by its other PU, CPU 3.
    return Guest(
        name="offline-cpu",
        qemu=QemuTopology(smp="8,sockets=2,cores=2,threads=2",
                          nodes=[(512, "0-3"), (512, "4-7")]),
        offline_cpus=[2],
        control=Control(cpu=3, node=0),
        cases=[
            Case("default", {"XEONRUN_NINSTANCES": "2"}, 2,
                 expect_cpus=[[0, 3], [4, 6]], expect_mems=[[0], [1]]),
            Case("logical", {"XEONRUN_NINSTANCES": "2", "XEONRUN_USE_LOGICAL_CORE": "1"}, 2,
                 one_pu_per_core=False),
            Case("pin-thread", {"XEONRUN_NINSTANCES": "2", "XEONRUN_PIN": "thread"}, 2,
                 expect_cpus=[[0, 3], [4, 6]], expect_mems=[[0], [1]], threads=2),
            Case("pin-thread-omp", {"XEONRUN_NINSTANCES": "2", "XEONRUN_PIN": "thread"}, 2,
                 expect_cpus=[[0, 3], [4, 6]], expect_mems=[[0], [1]], omp=True,
                 launch=("spawn",)),
        ])


def _cgroup2():
    # 2 sockets x 4 cores, one node per socket (node 1 = socket 1), the cpuset controller of cgroup
    # v2 as Kubernetes, Docker and systemd use it. Every case runs in a cgroup; its plan must stay
    # inside cpuset.cpus.effective and bind memory inside cpuset.mems.effective.
    one_rank = {"XEONRUN_NINSTANCES": "1"}
    replace = dict(one_rank, XEONRUN_BIND_POLICY="replace")
    return Guest(
        name="cgroup2",
        qemu=QemuTopology(smp="8,sockets=2,cores=4,threads=1",
                          nodes=[(512, "0-3"), (512, "4-7")], distances=[(0, 1, 21)]),
        control=Control(cpu=7, node=1),
        cgroups=[
            Cgroup("socket1", ncpus=2, cpus_of_node=1, mems="1"),
            # Nested, one CPU, cpuset.mems left empty: only its effective file names the node.
            # socket1 runs cases of its own too: cpuset is a threaded controller, so cgroup v2's
            # no-internal-process rule allows that while socket1/one is empty (cases run in turn).
            Cgroup("socket1/one", ncpus=1),
            # A container pinned to socket 1 whose memory must come from node 0.
            Cgroup("far-memory", ncpus=2, cpus_of_node=1, mems="0", home_mems=False),
            # A CPU quota of 1.5 CPUs over a cpuset of 4 (issue #15): cgroup v2's cpu.max.
            Cgroup("quota", ncpus=4, cpus_of_node=0, cpu_max="150000 100000"),
        ],
        cases=[
            Case("cgroup", one_rank, 1, cgroup="socket1"),
            Case("cgroup-ranks", {"XEONRUN_NINSTANCES": "2"}, 2, cgroup="socket1"),
            # replace plans over the cgroup's CPUs, not the inherited affinity: the plan can only
            # be the cgroup's when the library read cpuset.cpus.effective itself.
            Case("cgroup-replace", replace, 1, cgroup="socket1"),
            Case("nested", replace, 1, cgroup="socket1/one"),
            Case("far-memory", one_rank, 1, cgroup="far-memory"),
            Case("quota", one_rank, 1, cgroup="quota", quota_cpus=2),
        ])


GUESTS = {g.name: g for g in (_two_sockets_smt(), _four_sockets(), _snc_with_memory_node(),
                              _twelve_nodes(), _offline_cpu(), _cgroup2())}
