#include "core/topology.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace xeonplace {

bool Topology::has_hybrid_cpus() const {
  return std::any_of(pus.begin(), pus.end(),
                     [](const Pu& pu) { return pu.kind == CpuKind::Efficient; });
}

bool Topology::has_l3_domains() const {
  bool any = false;
  for (const Pu& pu : pus) {
    if (!usable(pu)) continue;
    if (!pu.l3) return false;
    any = true;
  }
  return any;
}

std::vector<Core> Topology::usable_cores(bool include_efficient) const {
  // Keyed by Pu::core, which is machine-wide unique. A core takes its node, package and kind from
  // its first PU; its siblings share them on every real machine.
  std::map<unsigned, Core> by_id;
  for (const Pu& pu : pus) {
    if (!usable(pu)) continue;
    if (!include_efficient && pu.kind == CpuKind::Efficient) continue;
    auto [it, inserted] = by_id.try_emplace(pu.core);
    Core& core = it->second;
    if (inserted || pu.cpu < core.cpus.front()) {
      core.id = pu.core;
      core.package = pu.package;
      core.node = pu.node;
      core.l3 = pu.l3;
      core.kind = pu.kind;
      core.node_link = pu.node_link;
    }
    core.cpus.push_back(pu.cpu);
    std::sort(core.cpus.begin(), core.cpus.end());
  }
  std::vector<Core> cores;
  cores.reserve(by_id.size());
  for (auto& entry : by_id) cores.push_back(std::move(entry.second));
  std::sort(cores.begin(), cores.end(), [](const Core& a, const Core& b) {
    // CPUs no node holds sort after the node's own, package by package (planning::locality).
    const bool a_borrowed = a.node_link != NodeLink::Own;
    const bool b_borrowed = b.node_link != NodeLink::Own;
    const unsigned a_package = a_borrowed ? a.package : 0;
    const unsigned b_package = b_borrowed ? b.package : 0;
    return std::tie(a.node, a_borrowed, a_package, a.cpus.front()) <
           std::tie(b.node, b_borrowed, b_package, b.cpus.front());
  });
  return cores;
}

std::optional<unsigned> Topology::nearest_allowed_node(unsigned id) const {
  const std::vector<unsigned> allowed = allowed_mems.ids();
  if (std::find(allowed.begin(), allowed.end(), id) != allowed.end()) return id;
  if (allowed.size() == 1) return allowed.front();
  std::optional<std::pair<std::uint64_t, unsigned>> best;  // (distance, id)
  for (const NodeDistance& d : distances) {
    if (d.from != id) continue;
    if (std::find(allowed.begin(), allowed.end(), d.to) == allowed.end()) continue;
    const std::pair<std::uint64_t, unsigned> candidate{d.value, d.to};
    if (!best || candidate < *best) best = candidate;
  }
  if (best) return best->second;
  return std::nullopt;
}

void Topology::finalize() {
  std::stable_sort(pus.begin(), pus.end(), [](const Pu& a, const Pu& b) { return a.cpu < b.cpu; });

  // Merge nodes by id (a loader may list one twice) and create any node a PU names but the
  // loader did not list, so the planner can always look a PU's node up.
  std::map<unsigned, NumaNode> by_id;
  for (const NumaNode& node : nodes) {
    auto [it, inserted] = by_id.try_emplace(node.id, node);
    if (!inserted) it->second.allowed = it->second.allowed && node.allowed;
  }
  for (auto& entry : by_id) entry.second.cpus = CpuSet{};
  for (const Pu& pu : pus) {
    // A CPU whose own node is missing is not one of its nearest node's CPUs.
    if (pu.node_link != NodeLink::Own) continue;
    auto [it, inserted] = by_id.try_emplace(pu.node);
    if (inserted) it->second.id = pu.node;
    it->second.cpus.add(pu.cpu);
  }

  nodes.clear();
  allowed_mems = CpuSet{};
  for (auto& entry : by_id) {
    if (entry.second.allowed) allowed_mems.add(entry.first);
    nodes.push_back(std::move(entry.second));
  }

  allowed_cpus = CpuSet{};
  for (const Pu& pu : pus) {
    if (usable(pu)) allowed_cpus.add(pu.cpu);
  }
}

}  // namespace xeonplace
