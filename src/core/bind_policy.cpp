#include "core/bind_policy.h"

namespace xeonplace {

PlanningScope planning_scope(BindPolicy policy, bool launcher_binds_by_default,
                             std::size_t inherited_affinity_cpus) {
  switch (policy) {
    case BindPolicy::Replace:
      return PlanningScope::CgroupOnly;
    case BindPolicy::Respect:
      return PlanningScope::CgroupAndAffinity;
    case BindPolicy::Auto:
      break;
  }
  return launcher_binds_by_default && inherited_affinity_cpus == 1
             ? PlanningScope::CgroupOnly
             : PlanningScope::CgroupAndAffinity;
}

void restrict_to_affinity(Topology& topology, const CpuSet& affinity) {
  for (Pu& pu : topology.pus) {
    if (!affinity.contains(pu.cpu)) pu.allowed = false;
  }
  topology.finalize();
}

const char* to_string(PlanningScope scope) {
  return scope == PlanningScope::CgroupOnly ? "the cgroup's CPUs (inherited binding replaced)"
                                            : "the inherited affinity";
}

}  // namespace xeonplace
