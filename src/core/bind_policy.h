// Which CPUs a rank may be planned on when a launcher may already have bound it (issue #6).
// Pure: the engine passes in what it read from the process.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/cpuset.h"
#include "core/env_map.h"
#include "core/launcher.h"
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

// What the launcher that gave the local rank says about the affinity the rank inherited. Measured
// with Open MPI 4.1 and Slurm 22.05 (docs/launchers.md): Open MPI exports
// OMPI_MCA_orte_bound_at_launch=1 when it bound the rank, and OMPI_MCA_hwloc_base_binding_policy
// or OMPI_MCA_orte_rankfile when the user chose the binding; Slurm's SLURM_CPU_BIND_TYPE is
// "mask_cpu:" for its default binding (and for --cpu-bind=cores), "none" for none, and names the
// user's choice otherwise (map_cpu:, mask_ldom:, ...).
enum class LauncherBinding {
  Unknown,   // the launcher does not say (torchrun, MPICH, no launcher)
  None,      // the launcher says it did not bind
  Default,   // bound by the launcher's default
  Explicit,  // bound as the user asked
};

// `launcher` is RankSource::launcher.
LauncherBinding launcher_binding(Launcher launcher, const EnvMap& env);

// As above, with what the launcher says: under `auto` a Default binding is replaced, an Explicit
// one or None kept; Unknown falls back to the one-CPU rule.
PlanningScope planning_scope(BindPolicy policy, bool launcher_binds_by_default,
                             LauncherBinding binding, std::size_t inherited_affinity_cpus);

// When a kept affinity is this rank's own slice, not a set all ranks share: the launcher says it
// bound the rank to less than the whole cgroup, or the set is too small to hold `nranks` slices
// (MPICH -bind-to core says nothing). The launcher did the slicing then, and the rank is planned
// as the only one inside its binding instead of being sliced a second time.
bool binding_is_per_rank(LauncherBinding binding, bool binding_is_whole_cgroup,
                         std::size_t cores_inside, unsigned nranks);

// The memory-tier nodes of a rank whose memory is on `home` (docs/design.md §9):
// the allowed CPU-less nodes (HBM, CXL) nearest to each home node by the distance matrix (ties
// all), or every allowed CPU-less node when the topology gives no distances. Empty: none.
CpuSet memory_tier_nodes(const Topology& topology, const CpuSet& home);

// A rank's memory nodes under XEONRUN_MEMBIND=`policy`: preferred-many prefers its memory-tier
// nodes (its home nodes when there are none, with a warning); weighted-interleave spreads over its
// home nodes and their tiers. Any other policy keeps `home`.
CpuSet memory_nodes_for(Membind policy, const Topology& topology, const CpuSet& home,
                        std::vector<std::string>& warnings);

// Whether a kernel release ("6.1.0-57-amd64", uname -r) is at least major.minor. An unreadable
// release counts as recent enough: the kernel's own refusal then says what is missing.
bool release_at_least(const std::string& release, unsigned major, unsigned minor);

const char* to_string(PlanningScope scope);
const char* to_string(LauncherBinding binding);

// Marks every PU outside `affinity` as not allowed (CgroupAndAffinity applied to a topology loaded
// over the cgroup alone). The engine restricts by the affinity the process started with, which
// after a re-exec (issue #4) is not the one the re-executed image inherits: that one is already
// the rank's slice.
void restrict_to_affinity(Topology& topology, const CpuSet& affinity);

}  // namespace xeonplace
