"""What each rank should get, computed from /sys independently of the library's planner.

The recipe is torch.backends.xeon.run_cpu's: the physical cores (first logical CPU of each core) of
the CPUs this process may use, sorted, cut into equal slices `cores[i*n:(i+1)*n]`; memory is bound
to the NUMA nodes of the slice's CPUs; OMP_NUM_THREADS is the slice's size. Checking the library
against its own planner would prove nothing, so this file re-derives the answer.
"""

import glob
import os
import re


def parse_list(text):
    """'0-3,8' -> [0, 1, 2, 3, 8]; '' -> []."""
    members = []
    for part in text.strip().split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        members.extend(range(int(low), int(high or low) + 1))
    return sorted(set(members))


def format_list(members):
    """[0, 1, 2, 3, 8] -> '0-3,8'."""
    members = sorted(set(members))
    runs = []
    for cpu in members:
        if runs and cpu == runs[-1][1] + 1:
            runs[-1][1] = cpu
        else:
            runs.append([cpu, cpu])
    return ",".join(str(a) if a == b else "%d-%d" % (a, b) for a, b in runs)


def _read(path):
    with open(path) as f:
        return f.read().strip()


def cpu_node(cpu):
    nodes = glob.glob("/sys/devices/system/cpu/cpu%d/node*" % cpu)
    if not nodes:
        return 0  # a kernel without NUMA support shows one implicit node 0
    return int(re.search(r"node(\d+)$", nodes[0]).group(1))


def physical_cores(allowed):
    """First allowed logical CPU of every (package, core), sorted by CPU number."""
    first = {}
    for cpu in sorted(allowed):
        base = "/sys/devices/system/cpu/cpu%d/topology/" % cpu
        key = (_read(base + "physical_package_id"), _read(base + "core_id"))
        first.setdefault(key, cpu)
    return sorted(first.values())


def allowed_cpus():
    return sorted(os.sched_getaffinity(0))


def plan(nranks, allowed=None):
    """[(cpus, nodes), ...] for ranks 0..nranks-1."""
    cores = physical_cores(allowed if allowed is not None else allowed_cpus())
    per_rank = len(cores) // nranks
    if per_rank == 0:
        raise ValueError("%d ranks need at least %d physical cores; this process may use %s"
                         % (nranks, nranks, format_list(cores)))
    slices = [cores[i * per_rank:(i + 1) * per_rank] for i in range(nranks)]
    return [(s, sorted({cpu_node(c) for c in s})) for s in slices]
