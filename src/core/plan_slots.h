// The slots the planner cuts into ranks, and how they are chosen (internal to the planner).
// A slot is a physical core's first usable PU, or in logical mode a whole core's usable PUs, or one
// CPU of XEONRUN_CORE_LIST. Ordered by NUMA node, then first PU (XEONRUN_CORE_LIST: ascending).
#pragma once

#include <cstddef>
#include <optional>
#include <tuple>
#include <vector>

#include "core/expected.h"
#include "core/options.h"
#include "core/topology.h"

namespace xeonplace::planning {

struct Slot {
  unsigned node = 0;
  std::vector<unsigned> cpus;  // ascending
  // No node holds these CPUs; `node` is only their nearest (NodeLink). Each package of them forms
  // a locality of its own (a package whose node is offline or outside the export), never merged
  // with a node's own CPUs.
  bool borrowed = false;
  unsigned package = 0;
  unsigned core = 0;             // Pu::core of its CPUs
  std::optional<unsigned> l3{};  // its L3 domain, when the topology describes caches
};

// What slots are grouped by: the node, or for borrowed CPUs their package.
inline std::tuple<unsigned, bool, unsigned> locality(const Slot& slot) {
  return {slot.node, slot.borrowed, slot.borrowed ? slot.package : 0U};
}

inline bool same_locality(const Slot& a, const Slot& b) { return locality(a) == locality(b); }

// One rank's slots, as indices into the slot list.
using Group = std::vector<std::size_t>;

// Logical CPUs in a slot: what a count of XEONRUN_NCORES_PER_INSTANCE measures.
inline std::size_t weight(const Slot& slot) { return slot.cpus.size(); }

const NumaNode* find_node(const Topology& topology, unsigned id);
const Pu* find_pu(const Topology& topology, unsigned cpu);

// Every usable core (efficient ones only when asked), as its first PU or with all its PUs.
std::vector<Slot> core_slots(const Topology& topology, bool efficient, bool logical);

// The slots XEONRUN_CORE_LIST, XEONRUN_NODE_ID and XEONRUN_USE_LOGICAL_CORE select; an error names
// the variable, the bad value and what is accepted.
Expected<std::vector<Slot>> select_slots(const Topology& topology, const Config& config);

// At most `cpus` logical CPUs of `slots` (whole slots, at least one): a CPU quota (docs/design.md
// §9). `spread`: taken in turn from each NUMA node, for ranks that are cut by node; otherwise the
// first ones, which keeps a rank on as few nodes as possible. Returns how many CPUs the slots held
// before, 0 when nothing was taken away.
std::size_t cap_slots(std::vector<Slot>& slots, unsigned cpus, bool spread);

// XEONRUN_NODES_LIST: only the slots of these nodes; each node must exist and have CPUs.
Expected<std::vector<Slot>> restrict_to_nodes(const Topology& topology, std::vector<Slot> slots,
                                              const CpuSet& nodes);

// One group per NUMA node (and per borrowed locality), ascending by node id.
std::vector<Group> group_by_node(const std::vector<Slot>& slots);

}  // namespace xeonplace::planning
