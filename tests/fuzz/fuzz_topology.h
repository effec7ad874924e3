// Invariants of a Topology any loader returns, and of the cores the planner builds from it.
#pragma once

#include <string>

#include "core/topology.h"
#include "fuzz_common.h"

namespace xeonplace::fuzz {

inline void check_topology(const Topology& topology) {
  CpuSet existing;
  CpuSet usable;
  for (std::size_t i = 0; i < topology.pus.size(); ++i) {
    const Pu& pu = topology.pus[i];
    if (i) require(topology.pus[i - 1].cpu < pu.cpu, "PUs not ascending and unique");
    require(pu.cpu <= kMaxSetId && pu.node <= kMaxSetId, "id above kMaxSetId");
    existing.add(pu.cpu);
    if (topology.usable(pu)) usable.add(pu.cpu);
  }
  require(topology.allowed_cpus == usable, "allowed_cpus is not the online, allowed PUs",
          topology.allowed_cpus.format() + " vs " + usable.format());
  CpuSet node_ids;
  for (std::size_t i = 0; i < topology.nodes.size(); ++i) {
    const NumaNode& node = topology.nodes[i];
    if (i) require(topology.nodes[i - 1].id < node.id, "nodes not ascending and unique");
    require(node.cpus.is_subset_of(existing), "node holds a CPU with no PU");
    node_ids.add(node.id);
  }
  require(topology.allowed_mems.is_subset_of(node_ids), "allowed_mems names a missing node");
  for (const Pu& pu : topology.pus) {
    require(node_ids.contains(pu.node), "PU on a node that is not listed", std::to_string(pu.cpu));
  }
  for (bool efficient : {false, true}) {
    CpuSet seen;
    for (const Core& core : topology.usable_cores(efficient)) {
      require(!core.cpus.empty(), "usable core without usable PUs");
      for (unsigned cpu : core.cpus) {
        require(usable.contains(cpu), "usable core holds an unusable CPU", std::to_string(cpu));
        require(!seen.contains(cpu), "a CPU in two cores", std::to_string(cpu));
        seen.add(cpu);
      }
    }
  }
}

}  // namespace xeonplace::fuzz
