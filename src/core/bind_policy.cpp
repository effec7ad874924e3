#include "core/bind_policy.h"

#include <optional>

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

PlanningScope planning_scope(BindPolicy policy, bool launcher_binds_by_default,
                             LauncherBinding binding, std::size_t inherited_affinity_cpus) {
  if (policy != BindPolicy::Auto || binding == LauncherBinding::Unknown) {
    return planning_scope(policy, launcher_binds_by_default, inherited_affinity_cpus);
  }
  return binding == LauncherBinding::Default ? PlanningScope::CgroupOnly
                                             : PlanningScope::CgroupAndAffinity;
}

LauncherBinding launcher_binding(Launcher launcher, const EnvMap& env) {
  if (launcher == Launcher::OpenMpi) {
    if (lookup(env, "OMPI_MCA_orte_bound_at_launch") != std::optional<std::string>{"1"}) {
      return LauncherBinding::None;
    }
    const bool chosen = lookup(env, "OMPI_MCA_hwloc_base_binding_policy").has_value() ||
                        lookup(env, "OMPI_MCA_orte_rankfile").has_value();
    return chosen ? LauncherBinding::Explicit : LauncherBinding::Default;
  }
  if (launcher == Launcher::Slurm) {
    const std::optional<std::string> type = lookup(env, "SLURM_CPU_BIND_TYPE");
    if (!type) return LauncherBinding::Unknown;
    if (type->empty() || *type == "none") return LauncherBinding::None;
    return *type == "mask_cpu:" ? LauncherBinding::Default : LauncherBinding::Explicit;
  }
  return LauncherBinding::Unknown;
}

bool binding_is_per_rank(LauncherBinding binding, bool binding_is_whole_cgroup,
                         std::size_t cores_inside, unsigned nranks) {
  const bool launcher_bound =
      binding == LauncherBinding::Default || binding == LauncherBinding::Explicit;
  return (launcher_bound && !binding_is_whole_cgroup) || cores_inside < nranks;
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

const char* to_string(LauncherBinding binding) {
  switch (binding) {
    case LauncherBinding::None:
      return "not bound by the launcher";
    case LauncherBinding::Default:
      return "the launcher's default binding";
    case LauncherBinding::Explicit:
      return "a binding the user gave the launcher";
    case LauncherBinding::Unknown:
      break;
  }
  return "no binding information from the launcher";
}

}  // namespace xeonplace
