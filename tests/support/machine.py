"""The machine a test runs on, as the library sees it, and the plan run_cpu's rules give there.

Every suite that runs real processes takes its expected CPUs, memory nodes and thread counts from
here instead of writing CPU ids or node counts into a test (STYLE.md: tests derive their
expectations from the machine they run on). The facts come from the kernel, independently of the
library: this process's affinity (`os.sched_getaffinity`, which a cgroup cpuset or `taskset`
already narrowed), `Mems_allowed_list` of /proc/self/status, the node of each CPU from
/sys/devices/system/node, its core from /sys/devices/system/cpu/cpuN/topology, and Intel's hybrid
efficient cores from /sys/devices/cpu_atom/cpus.

The plan is the README's "How ranks are planned": one slot per physical core (its first allowed
CPU), cores in order of their CPU ids, `ninstances` ranks of `cores // ninstances` consecutive
cores each, memory nodes = the nodes of a rank's CPUs, OMP_NUM_THREADS = its core count.
"""
import functools
import glob
import os
import re

SYS_CPU = "/sys/devices/system/cpu"
SYS_NODE = "/sys/devices/system/node"


def cpu_ids(text):
    """ "0-3,8" -> [0, 1, 2, 3, 8] (the kernel's and the library's list format)."""
    ids = []
    for part in filter(None, text.strip().split(",")):
        first, _, last = part.partition("-")
        ids.extend(range(int(first), int(last or first) + 1))
    return ids


def list_text(ids):
    """[0, 1, 2, 3, 8] -> "0-3,8", as XEONRUN_PLACED_CPUS and the log lines print a set."""
    ids = sorted(set(ids))
    parts = []
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        parts.append(str(ids[i]) if i == j else f"{ids[i]}-{ids[j]}")
        i = j + 1
    return ",".join(parts)


def comma_text(ids):
    """[0, 1, 3] -> "0,1,3", as the probes print an affinity mask or a memory policy's nodes."""
    return ",".join(str(i) for i in sorted(ids))


def _read(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


class Rank:
    """One rank of a plan: its CPUs, memory nodes and OpenMP thread count."""

    def __init__(self, index, nranks, cpus, mems, cpu_nodes):
        self.index = index
        self.nranks = nranks
        self.cpus = cpus
        self.mems = mems
        self.cpu_nodes = cpu_nodes
        self.threads = len(cpus)

    @property
    def cpus_text(self):
        return list_text(self.cpus)

    @property
    def mems_text(self):
        return list_text(self.mems)

    def __repr__(self):
        return f"rank {self.index} of {self.nranks}: CPUs {self.cpus_text}, nodes {self.mems_text}"


class Plan:
    def __init__(self, ranks, unused_cpus):
        self.ranks = ranks
        self.unused_cpus = unused_cpus

    def __getitem__(self, index):
        return self.ranks[index]

    def __len__(self):
        return len(self.ranks)

    def warnings(self):
        """Substrings of the warnings the library prints for this plan at the default level:
        cores left over by an uneven split, ranks spanning NUMA nodes (run_cpu's)."""
        found = []
        if self.unused_cpus:
            found.append("are not used by any rank")
        if any(len(rank.cpu_nodes) > 1 for rank in self.ranks):
            found.append("Numa Aware")
        if any(not set(rank.cpu_nodes) & set(rank.mems) for rank in self.ranks):
            found.append("are outside the allowed memory nodes")
        return found

    def is_own_warning(self, line):
        """Whether a log line is one of this plan's own warnings."""
        return line.startswith("xeonplace: warning: ") and any(w in line for w in self.warnings())

    def without_own_warnings(self, text):
        """The lines of `text` that are not this plan's own warnings."""
        return [line for line in text.splitlines() if line and not self.is_own_warning(line)]

    def expected_stderr_problems(self, stderr):
        """None when `stderr` is what a placed program prints by default under this plan: nothing,
        or only the plan's own warnings; else a description of what is wrong."""
        if self.without_own_warnings(stderr):
            return f"silent by default (plan warnings {self.warnings()}), got stderr {stderr!r}"
        return None


class Machine:
    """This process's CPUs, cores and NUMA nodes, read once from the kernel."""

    def __init__(self, affinity=None):
        self.allowed = sorted(affinity if affinity is not None else os.sched_getaffinity(0))
        self.node_of = {}
        for path in glob.glob(os.path.join(SYS_NODE, "node[0-9]*")):
            node = int(re.search(r"node(\d+)$", path).group(1))
            for cpu in cpu_ids(_read(os.path.join(path, "cpulist"))):
                self.node_of[cpu] = node
        nodes_online = cpu_ids(_read(os.path.join(SYS_NODE, "online"), "0"))
        self.nodes = sorted(nodes_online)
        status = _read("/proc/self/status")
        match = re.search(r"^Mems_allowed_list:\s*(\S+)", status, re.M)
        self.mems_allowed = sorted(set(cpu_ids(match.group(1)) if match else self.nodes))
        efficient = set(cpu_ids(_read("/sys/devices/cpu_atom/cpus")))
        cores = {}
        for cpu in self.allowed:
            if cpu in efficient:
                continue
            topo = os.path.join(SYS_CPU, f"cpu{cpu}", "topology")
            key = (_read(os.path.join(topo, "physical_package_id"), "0"),
                   _read(os.path.join(topo, "die_id"), "0"),  # core ids repeat across dies
                   _read(os.path.join(topo, "core_id"), str(cpu)))
            cores.setdefault(key, []).append(cpu)
        # One list of allowed CPUs per physical core, cores in the order of their CPU ids.
        self.cores = sorted(cores.values())
        self.slots = [core[0] for core in self.cores]

    def node(self, cpu):
        return self.node_of.get(cpu, 0)

    @property
    def allowed_text(self):
        return comma_text(self.allowed)

    def cpu_nodes(self):
        """The nodes of the allowed CPUs."""
        return sorted({self.node(cpu) for cpu in self.allowed})

    def plan(self, nranks):
        """Ranks of an even split of the cores over `nranks` (XEONRUN_NINSTANCES)."""
        each = len(self.slots) // nranks
        if each == 0 and self.slots:
            raise ValueError(f"{nranks} ranks on {len(self.slots)} cores")
        # No usable core at all (an affinity of efficient cores only): ranks without CPUs, so that
        # the drivers still list their cases and the cases fail saying what they expected.
        ranks = []
        for index in range(nranks):
            cpus = self.slots[index * each:(index + 1) * each]
            cpu_nodes = sorted({self.node(cpu) for cpu in cpus})
            mems = [n for n in cpu_nodes if n in self.mems_allowed] or list(self.mems_allowed)
            ranks.append(Rank(index, nranks, cpus, mems, cpu_nodes))
        return Plan(ranks, self.slots[nranks * each:])

    def ranks_up_to(self, wanted=2):
        """How many ranks a test of `wanted` ranks runs with here: `wanted`, or fewer when this
        process has fewer cores (then the test exercises what it can with what there is)."""
        return max(1, min(wanted, len(self.slots)))

    def absent_cpu(self):
        """A CPU id that does not exist on this machine."""
        possible = cpu_ids(_read(os.path.join(SYS_CPU, "possible"))) or self.allowed
        return max(possible + self.allowed) + 1

    def absent_node(self):
        """A NUMA node id that does not exist on this machine."""
        existing = cpu_ids(_read(os.path.join(SYS_NODE, "possible"))) or self.nodes or [0]
        return max(existing + self.nodes) + 1

    def other_cpus(self, cpus):
        """The allowed CPUs outside `cpus`."""
        return [cpu for cpu in self.allowed if cpu not in set(cpus)]

    def describe(self):
        return (f"affinity {list_text(self.allowed)}, {len(self.cores)} cores, nodes of its CPUs "
                f"{list_text(self.cpu_nodes())}, allowed memory nodes {list_text(self.mems_allowed)}")


def cgroup_cpus():
    """The CPUs of this process's cgroup cpuset (v2 `cpuset.cpus.effective`, v1
    `cpuset.effective_cpus`), what XEONRUN_BIND_POLICY=replace plans over; all online CPUs when
    no cpuset says otherwise."""
    for line in _read("/proc/self/cgroup").splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            candidates = [os.path.join("/sys/fs/cgroup", path.lstrip("/"), "cpuset.cpus.effective"),
                          os.path.join("/sys/fs/cgroup/unified", path.lstrip("/"),
                                       "cpuset.cpus.effective")]
        elif "cpuset" in controllers.split(","):
            candidates = [os.path.join("/sys/fs/cgroup/cpuset", path.lstrip("/"),
                                       "cpuset.effective_cpus")]
        else:
            continue
        for candidate in candidates:
            cpus = cpu_ids(_read(candidate))
            if cpus:
                return cpus
    return cpu_ids(_read(os.path.join(SYS_CPU, "online"))) or sorted(os.sched_getaffinity(0))


@functools.lru_cache(maxsize=None)
def cgroup_machine():
    """The Machine over every CPU of the cgroup cpuset, whatever this process's affinity."""
    return Machine(cgroup_cpus())


@functools.lru_cache(maxsize=None)
def this_machine():
    """The Machine of this process, read on first use."""
    return Machine()
