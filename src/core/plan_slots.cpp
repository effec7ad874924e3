#include "core/plan_slots.h"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <utility>

namespace xeonplace::planning {

const NumaNode* find_node(const Topology& topology, unsigned id) {
  for (const NumaNode& node : topology.nodes) {
    if (node.id == id) return &node;
  }
  return nullptr;
}

const Pu* find_pu(const Topology& topology, unsigned cpu) {
  // pus are ascending by cpu (Topology::finalize).
  auto it = std::lower_bound(topology.pus.begin(), topology.pus.end(), cpu,
                             [](const Pu& pu, unsigned id) { return pu.cpu < id; });
  if (it == topology.pus.end() || it->cpu != cpu) return nullptr;
  return &*it;
}

std::vector<Slot> core_slots(const Topology& topology, bool efficient, bool logical) {
  std::vector<Slot> slots;
  for (Core& core : topology.usable_cores(efficient)) {
    Slot slot;
    slot.node = core.node;
    slot.borrowed = core.node_link != NodeLink::Own;
    slot.package = core.package;
    slot.core = core.id;
    slot.l3 = core.l3;
    if (logical) {
      slot.cpus = std::move(core.cpus);
    } else {
      slot.cpus.push_back(core.cpus.front());
    }
    slots.push_back(std::move(slot));
  }
  return slots;
}

std::vector<Group> group_by_node(const std::vector<Slot>& slots) {
  std::map<std::tuple<unsigned, bool, unsigned>, Group> by_node;
  for (std::size_t i = 0; i < slots.size(); ++i) by_node[locality(slots[i])].push_back(i);
  std::vector<Group> groups;
  groups.reserve(by_node.size());
  for (auto& entry : by_node) groups.push_back(std::move(entry.second));
  return groups;
}

namespace {

CpuSet nodes_with_cpus(const Topology& topology) {
  CpuSet set;
  for (const NumaNode& node : topology.nodes) {
    if (!node.cpuless()) set.add(node.id);
  }
  return set;
}

// XEONRUN_CORE_LIST: the listed CPUs, grouped by node and ascending within it, each a slot; in
// logical mode the listed siblings of one core form one slot, so that ranks still never share a
// core.
// With `one_per_core` (XEONRUN_COMPAT=ipexrun without logical cores) only the first listed PU of
// each core is a slot: ipexrun drops SMT siblings from its list, and a list of siblings only then
// still gets one PU per core instead of nothing (docs/design.md §11).
Expected<std::vector<Slot>> listed_slots(const Topology& topology, const CpuSet& list, bool logical,
                                         bool one_per_core) {
  const std::string what = "XEONRUN_CORE_LIST=" + list.format();
  const std::string accepted = "; accepted: usable CPUs " + topology.allowed_cpus.format();
  if (list.empty()) return make_error(what + ": the list is empty" + accepted);
  std::vector<Slot> slots;
  std::map<unsigned, std::size_t> slot_of_core;
  for (unsigned cpu : list.ids()) {
    const Pu* pu = find_pu(topology, cpu);
    if (pu == nullptr) {
      return make_error(what + ": CPU " + std::to_string(cpu) + " does not exist on " +
                        topology.source + accepted);
    }
    if (!pu->online) {
      // An export made inside a cgroup leaves the CPUs outside it out, as the OS does offline ones.
      return make_error(what + ": CPU " + std::to_string(cpu) +
                        (pu->allowed ? " is offline"
                                     : " is offline or outside the CPUs this "
                                       "process may use") +
                        accepted);
    }
    if (!pu->allowed) {
      return make_error(what + ": CPU " + std::to_string(cpu) +
                        " is outside the CPUs this process may use" + accepted);
    }
    if (logical || one_per_core) {
      auto [it, inserted] = slot_of_core.try_emplace(pu->core, slots.size());
      if (!inserted) {
        if (logical) slots[it->second].cpus.push_back(cpu);
        continue;
      }
    }
    slots.push_back(
        Slot{pu->node, {cpu}, pu->node_link != NodeLink::Own, pu->package, pu->core, pu->l3});
  }
  // Machines that number CPUs round-robin across nodes (0,2,4.. on node 0) would otherwise get
  // ranks spanning nodes from a list that has a node-local split.
  std::stable_sort(slots.begin(), slots.end(),
                   [](const Slot& a, const Slot& b) { return locality(a) < locality(b); });
  return slots;
}

Expected<std::vector<Slot>> restrict_to_node(const Topology& topology, std::vector<Slot> slots,
                                             unsigned node_id) {
  const std::string what = "XEONRUN_NODE_ID=" + std::to_string(node_id);
  const std::string accepted = "; accepted: " + nodes_with_cpus(topology).format();
  const NumaNode* node = find_node(topology, node_id);
  if (node == nullptr) return make_error(what + ": no such NUMA node" + accepted);
  if (node->cpuless()) {
    return make_error(what + ": node " + std::to_string(node_id) +
                      " has no CPUs (a memory-only node)" + accepted);
  }
  CpuSet usable_nodes;
  for (const Slot& slot : slots) usable_nodes.add(slot.node);
  slots.erase(
      std::remove_if(slots.begin(), slots.end(),
                     // Borrowed CPUs are no node's own (an offline node's package).
                     [&](const Slot& slot) { return slot.node != node_id || slot.borrowed; }),
      slots.end());
  if (slots.empty()) {
    return make_error(what + ": none of node " + std::to_string(node_id) +
                      "'s CPUs is usable here (offline, outside the allowed set, efficient cores "
                      "not enabled, or not in XEONRUN_CORE_LIST); accepted: " +
                      usable_nodes.format());
  }
  return slots;
}

}  // namespace

std::size_t cap_slots(std::vector<Slot>& slots, unsigned cpus, bool spread) {
  std::size_t total = 0;
  for (const Slot& slot : slots) total += weight(slot);
  if (total <= cpus || slots.empty()) return 0;
  // The order slots are taken in: node by node, or one of each node in turn.
  std::vector<std::size_t> order;
  const std::vector<Group> groups = spread ? group_by_node(slots) : std::vector<Group>{};
  for (std::size_t round = 0; spread && order.size() < slots.size(); ++round) {
    for (const Group& group : groups) {
      if (round < group.size()) order.push_back(group[round]);
    }
  }
  for (std::size_t i = 0; !spread && i < slots.size(); ++i) order.push_back(i);
  std::vector<bool> kept(slots.size(), false);
  std::size_t taken = 0;
  for (std::size_t index : order) {
    if (taken > 0 && taken + weight(slots[index]) > cpus) continue;
    kept[index] = true;
    taken += weight(slots[index]);
  }
  std::vector<Slot> capped;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (kept[i]) capped.push_back(std::move(slots[i]));
  }
  slots = std::move(capped);
  return total;
}

Expected<std::vector<Slot>> restrict_to_nodes(const Topology& topology, std::vector<Slot> slots,
                                              const CpuSet& nodes) {
  const std::string what = "XEONRUN_NODES_LIST=" + nodes.format();
  const std::string accepted = "; accepted: nodes with CPUs " + nodes_with_cpus(topology).format();
  if (nodes.empty()) return make_error(what + ": the list is empty" + accepted);
  for (unsigned id : nodes.ids()) {
    const NumaNode* node = find_node(topology, id);
    if (node == nullptr) {
      return make_error(what + ": node " + std::to_string(id) + " does not exist on " +
                        topology.source + accepted);
    }
    if (node->cpuless()) {
      return make_error(what + ": node " + std::to_string(id) +
                        " has no CPUs (a memory-only node)" + accepted);
    }
  }
  slots.erase(
      std::remove_if(slots.begin(), slots.end(),
                     [&](const Slot& slot) { return !nodes.contains(slot.node) || slot.borrowed; }),
      slots.end());
  if (slots.empty()) {
    return make_error(what +
                      ": none of these nodes' CPUs is usable here (offline, outside the allowed "
                      "set, efficient cores not enabled, or not in XEONRUN_CORE_LIST)" +
                      accepted);
  }
  return slots;
}

Expected<std::vector<Slot>> select_slots(const Topology& topology, const Config& config) {
  std::vector<Slot> slots;
  if (config.core_list) {
    auto listed = listed_slots(topology, *config.core_list, config.use_logical_core,
                               config.compat == Compat::Ipexrun);
    if (!listed) return listed.error();
    slots = std::move(*listed);
  } else {
    slots = core_slots(topology, config.use_efficient_cores, config.use_logical_core);
  }
  if (config.node_id) return restrict_to_node(topology, std::move(slots), *config.node_id);
  if (config.nodes_list) return restrict_to_nodes(topology, std::move(slots), *config.nodes_list);
  if (slots.empty()) {
    return make_error(
        "no usable CPUs on " + topology.source + " (all offline or outside the allowed set" +
        (topology.has_hybrid_cpus() ? std::string(", and efficient cores are not enabled "
                                                  "(XEONRUN_USE_EFFICIENT_CORES)")
                                    : std::string()) +
        ")");
  }
  return slots;
}

}  // namespace xeonplace::planning
