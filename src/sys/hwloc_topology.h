// hwloc -> Topology: the one conversion every hwloc-based loader (live machine, XML, synthetic)
// goes through, and the discovery settings that keep a live load cheap.
#pragma once

#include <hwloc.h>

#include <string>

#include "core/expected.h"
#include "core/topology.h"

namespace xeonplace {

// Live (`live`): keeps only PU/Core/Package/NUMANode and the Groups NUMA nodes hang from (no
// caches, dies, misc, I/O), skips distances and memory attributes, blacklists the backends that
// only feed what was filtered out, and drops the x86 CPUID backend unless the CPU is hybrid, where
// it is the reliable source of core types. CPU kinds stay on. Imported (XML, synthetic): keeps
// every CPU-side object and the distances, so that each NUMA node keeps its own cpuset.
void configure_lean_discovery(hwloc_topology_t topology, bool live);

// Converts a loaded topology. PUs outside `allowed_cpus` get allowed=false; CPUs in the complete
// cpuset without a PU object (offline) become PUs with online=false; nodes outside
// `allowed_nodes` get allowed=false. A CPU that no node holds gets the nearest allowed node
// (NodeLink). Each node carries its row of hwloc's distance matrix when there is one. Core ids are
// the cores' logical indexes, packages' too. OS indexes above kMaxSetId (only a hand-made XML has
// them) are an error.
Expected<Topology> topology_from_hwloc(hwloc_topology_t topology, hwloc_const_cpuset_t allowed_cpus,
                                       hwloc_const_nodeset_t allowed_nodes,
                                       const std::string& source);

}  // namespace xeonplace
