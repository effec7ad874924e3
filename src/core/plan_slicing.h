// Cutting slots into ranks (internal to the planner): run_cpu's --ninstances and
// --ncores-per-instance arithmetic, per NUMA node where asked, never splitting a slot.
#pragma once

#include <string>
#include <vector>

#include "core/expected.h"
#include "core/options.h"
#include "core/plan_slots.h"

namespace xeonplace::planning {

// Sizes of consecutive ranks: either a finite list, or one size repeated while slots remain.
struct Sizes {
  std::vector<unsigned> list;
  bool repeat = false;
};

// Cuts slots into consecutive ranks of the given sizes (in logical CPUs; a physical slot weighs
// one). A rank never splits a slot. With within_nodes, a rank that does not fit in the rest of its
// node's run of slots starts at the next node instead. Stops at the first size that no longer fits.
// `what` ("XEONRUN_NCORES_PER_INSTANCE=3") starts the error when a rank would split a core.
Expected<std::vector<Group>> cut(const std::vector<Slot>& slots, const Sizes& sizes,
                                 bool within_nodes, const std::string& what);

// cut() where a rank never straddles a run of `runs` (one id per slot, consecutive slots of a run
// share it: plan_domains.h's domain_runs); empty `runs`: no constraint.
Expected<std::vector<Group>> cut_in_runs(const std::vector<Slot>& slots, const Sizes& sizes,
                                         const std::vector<unsigned>& runs,
                                         const std::string& what);

// XEONRUN_NINSTANCES alone: slots.size() // nranks slots each (counted in cores in logical
// mode too, so that ranks never share a core). With within_nodes (XEONRUN_SKIP_CROSS_NODE_CORES)
// every rank takes its slots from one node: the largest equal size the nodes can hold nranks
// times, ranks filling node after node.
// XEONRUN_DOMAIN keeps the ranks inside domains where the sizes allow (plan_domains.h).
// With `spread` (XEONRUN_LEFTOVER_CORES=spread) the slots the equal split leaves go one each to
// the first ranks (inside each node with XEONRUN_SKIP_CROSS_NODE_CORES), as ipexrun's
// --ncores-per-instance -1. With XEONRUN_COMPAT=ipexrun and XEONRUN_SKIP_CROSS_NODE_CORES, each
// node gets its share of the ranks as ipexrun shares them and splits its own cores evenly over them
// (ranks of different nodes may differ in size).
Expected<std::vector<Group>> split_evenly(const std::vector<Slot>& slots, unsigned nranks,
                                          const Config& config, std::vector<std::string>& warnings);

// XEONRUN_NCORES_PER_INSTANCE (one count or a comma list), with or without XEONRUN_NINSTANCES and
// XEONRUN_SKIP_CROSS_NODE_CORES. One count with XEONRUN_NINSTANCES under XEONRUN_STRATEGY=scatter:
// every slice that fits is a candidate and the ranks are spread over them.
Expected<std::vector<Group>> slice_by_count(const std::vector<Slot>& slots, const Config& config,
                                            std::vector<std::string>& warnings);

// Warns about slots that no rank got, so a user never loses cores without being told.
void warn_unused(const std::vector<Slot>& slots, const std::vector<Group>& groups,
                 const std::string& why, std::vector<std::string>& warnings);

}  // namespace xeonplace::planning
