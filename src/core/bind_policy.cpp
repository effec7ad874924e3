#include "core/bind_policy.h"

#include <cstdint>
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

namespace {

std::optional<std::uint64_t> distance(const Topology& topology, unsigned from, unsigned to) {
  for (const NodeDistance& d : topology.distances) {
    if (d.from == from && d.to == to) return d.value;
  }
  return std::nullopt;
}

}  // namespace

CpuSet memory_tier_nodes(const Topology& topology, const CpuSet& home) {
  CpuSet tiers;
  for (const NumaNode& node : topology.nodes) {
    if (node.cpuless() && node.allowed && topology.allowed_mems.contains(node.id)) {
      tiers.add(node.id);
    }
  }
  if (tiers.empty() || topology.distances.empty()) return tiers;
  CpuSet nearest;
  for (unsigned from : home.ids()) {
    std::optional<std::uint64_t> best;
    for (unsigned to : tiers.ids()) {
      const auto d = distance(topology, from, to);
      if (d && (!best || *d < *best)) best = d;
    }
    for (unsigned to : tiers.ids()) {
      if (best && distance(topology, from, to) == best) nearest.add(to);
    }
  }
  return nearest.empty() ? tiers : nearest;
}

CpuSet memory_nodes_for(Membind policy, const Topology& topology, const CpuSet& home,
                        std::vector<std::string>& warnings) {
  if (policy != Membind::PreferredMany && policy != Membind::WeightedInterleave) return home;
  const CpuSet tiers = memory_tier_nodes(topology, home);
  if (policy == Membind::WeightedInterleave) return home | tiers;
  if (tiers.empty()) {
    warnings.push_back(
        "XEONRUN_MEMBIND=preferred-many: no CPU-less memory node (HBM, CXL) is "
        "allowed on " +
        topology.source + "; preferring the rank's own nodes " + home.format());
    return home;
  }
  return tiers;
}

bool release_at_least(const std::string& release, unsigned major, unsigned minor) {
  unsigned found_major = 0;
  unsigned found_minor = 0;
  std::size_t i = 0;
  auto digits = [&](unsigned& out) {
    const std::size_t start = i;
    while (i < release.size() && release[i] >= '0' && release[i] <= '9' && i - start < 6) {
      out = out * 10 + static_cast<unsigned>(release[i++] - '0');
    }
    return i > start;
  };
  if (!digits(found_major) || i >= release.size() || release[i++] != '.' || !digits(found_minor)) {
    return true;
  }
  return found_major > major || (found_major == major && found_minor >= minor);
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
