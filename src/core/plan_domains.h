// Cache domains (internal to the planner, docs/design.md "Cache domains"): the domain a rank must
// not straddle when the sizes allow it (XEONRUN_DOMAIN), and the domain each rank ended up in.
#pragma once

#include <string>
#include <vector>

#include "core/expected.h"
#include "core/options.h"
#include "core/plan_slicing.h"
#include "core/plan_slots.h"
#include "core/topology.h"

namespace xeonplace::planning {

// Finest first. A domain of a level below Numa is nested in its NUMA locality (an L3 shared by
// two sub-NUMA nodes counts as one domain per node), so a rank inside it is inside one node too.
// None: no constraint at all (run_cpu without --skip-cross-node-cores).
enum class Level { Core, L3, Numa, Package, None };

// Every slot's domain at `level` as a run id: consecutive slots of one domain share an id. A
// domain whose slots are not consecutive becomes several runs, which only ever narrows a rank.
std::vector<unsigned> domain_runs(const std::vector<Slot>& slots, Level level);

// One group per run of the level (throughput and multi-instance under XEONRUN_DOMAIN).
std::vector<Group> group_by_domain(const std::vector<Slot>& slots, Level level);

// The level XEONRUN_DOMAIN gives throughput and multi-instance mode's one-rank-per-domain:
// Auto and Numa are run_cpu's NUMA nodes; a level the topology cannot describe (L3 without cache
// information) warns and is Numa too.
Level grouping_level(const std::vector<Slot>& slots, Domain domain,
                     std::vector<std::string>& warnings);

// Cuts slots into ranks of `sizes` (cut()'s arithmetic) so that no rank straddles a domain of the
// level XEONRUN_DOMAIN chooses, falling back to coarser levels until `wanted` ranks fit (0: at
// least one). `within_nodes` (XEONRUN_SKIP_CROSS_NODE_CORES) makes Numa the coarsest level.
Expected<std::vector<Group>> cut_in_domains(const std::vector<Slot>& slots, const Sizes& sizes,
                                            bool within_nodes, Domain domain, std::size_t wanted,
                                            const std::string& what,
                                            std::vector<std::string>& warnings,
                                            Level* used = nullptr);

// "L3", "NUMA node", ...: how warnings name a level.
const char* level_name(Level level);

// The smallest domain holding all of `cpus`: "l3:2", "numa:0", "package:1" or "machine".
std::string domain_of(const Topology& topology, const CpuSet& cpus);

}  // namespace xeonplace::planning
