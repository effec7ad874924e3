// Which CPUs a rank may be planned on when a launcher may already have bound it (issue #6).
// Pure: the engine passes in what it read from the process.
#pragma once

#include <cstddef>

#include "core/cpuset.h"
#include "core/options.h"
#include "core/topology.h"

namespace xeonplace {

enum class PlanningScope {
  CgroupAndAffinity,  // plan inside the inherited affinity (and the cgroup cpuset)
  CgroupOnly,         // plan over the cgroup cpuset; the inherited affinity is replaced
};

// XEONRUN_BIND_POLICY: `replace` → CgroupOnly; `respect` → CgroupAndAffinity; `auto` → CgroupOnly
// only when the launcher binds ranks by default (Open MPI, Slurm) and the inherited affinity is a
// single CPU, which is what their default per-rank binding looks like on a machine we are asked
// to slice; anything else the user chose (taskset, numactl, a cpuset) is respected.
PlanningScope planning_scope(BindPolicy policy, bool launcher_binds_by_default,
                             std::size_t inherited_affinity_cpus);

const char* to_string(PlanningScope scope);

// Marks every PU outside `affinity` as not allowed (CgroupAndAffinity applied to a topology loaded
// over the cgroup alone). The engine restricts by the affinity the process started with, which
// after a re-exec (issue #4) is not the one the re-executed image inherits: that one is already
// the rank's slice.
void restrict_to_affinity(Topology& topology, const CpuSet& affinity);

}  // namespace xeonplace
