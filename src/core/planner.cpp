// The planner: which CPUs and memory nodes every rank gets.
//
// It follows torch.backends.xeon.run_cpu as released (torch 2.4-2.11). Where this file deliberately
// differs from run_cpu, and why:
// - A physical core is a core: a rank gets the first usable PU of each of its cores. run_cpu uses
//   lscpu's Core column as a CPU id, which names the wrong CPUs when SMT siblings are numbered
//   adjacently (CPUs 2k and 2k+1 share a core on QEMU, many AMD and Arm machines).
// - With XEONRUN_USE_LOGICAL_CORE a slot is a whole core with all its usable PUs, so ranks never
//   share a physical core; a count of logical CPUs must therefore cover whole cores, and
//   XEONRUN_NINSTANCES splits whole cores (run_cpu splits the sorted logical CPU list: on the
//   upstream fixture its two ranks are CPUs 0-7 and their siblings 8-15).
// - Offline CPUs and CPUs outside the allowed set are never planned; efficient cores of hybrid
//   parts only with XEONRUN_USE_EFFICIENT_CORES.
// - XEONRUN_CORE_LIST does not need XEONRUN_NCORES_PER_INSTANCE (run_cpu refuses): without sizing
//   one rank runs on the whole list; XEONRUN_NINSTANCES splits it. A listed CPU that does not exist
//   or is not usable is an error (run_cpu passes it to numactl). With XEONRUN_NODE_ID as well, only
//   the listed CPUs of that node are used (run_cpu ignores the node).
// - Sizes that leave no rank at all are errors (run_cpu silently launches nothing): more cores per
//   rank than usable cores, latency mode on fewer than 4 cores. Cores no rank gets are warned
//   about.
// - XEONRUN_SKIP_CROSS_NODE_CORES is computed per node (run_cpu uses node 0's size for every node,
//   which is wrong on uneven machines), and is honoured with XEONRUN_NINSTANCES as well, alone too
//   (run_cpu ignores it there: each rank then takes its cores from one node). A count
//   larger than every node warns and spans nodes (run_cpu 1.13 exits).
// - Latency and throughput mode ignore XEONRUN_CORE_LIST as run_cpu does, and say so in the
//   warning run_cpu gives for the flags it ignores.
// - Throughput mode, multi-instance without sizing, and a rank without any sizing give one rank per
//   NUMA node with usable cores, each with exactly that node's cores (run_cpu slices
//   len(cores) // nodes contiguously, which spans nodes on uneven machines). run_cpu plans a single
//   instance for a bare --rank, so any rank above 0 got no CPUs.
// - Memory nodes are the nodes of the rank's CPUs that this process may allocate on, else the
//   nearest allowed ones (home_nodes); XEONRUN_MEM_NODES replaces them and may name CPU-less nodes
//   (HBM, CXL).
#include "core/planner.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/bind_policy.h"
#include "core/plan_domains.h"
#include "core/plan_slicing.h"
#include "core/plan_slots.h"
#include "core/runtime_env.h"
#include "core/text.h"

namespace xeonplace {
namespace {

using planning::cap_slots;
using planning::core_slots;
using planning::find_node;
using planning::Group;
using planning::select_slots;
using planning::Sizes;
using planning::slice_by_count;
using planning::Slot;
using planning::split_evenly;
using planning::warn_unused;
using planning::weight;

CpuSet cpus_of(const std::vector<Slot>& slots, const Group& group) {
  CpuSet set;
  for (std::size_t i : group) {
    for (unsigned cpu : slots[i].cpus) set.add(cpu);
  }
  return set;
}

struct Slicing {
  std::vector<Slot> slots;
  std::vector<Group> groups;
};

// run_cpu: "--latency-mode is exclusive to --ninstances, --ncores-per-instance, --node-id and
// --use-logical-core. They won't take effect even they are set explicitly." (likewise throughput).
void warn_exclusive(const Config& config, const char* mode, std::vector<std::string>& warnings) {
  std::vector<std::string> ignored;
  if (config.nranks) ignored.push_back("XEONRUN_NINSTANCES");
  if (!config.ncores_per_instance.empty()) ignored.push_back("XEONRUN_NCORES_PER_INSTANCE");
  if (config.node_id) ignored.push_back("XEONRUN_NODE_ID");
  if (config.use_logical_core) ignored.push_back("XEONRUN_USE_LOGICAL_CORE");
  if (config.core_list) ignored.push_back("XEONRUN_CORE_LIST");
  if (ignored.empty()) return;
  std::string names;
  for (std::size_t i = 0; i < ignored.size(); ++i) {
    if (i) names += i + 1 == ignored.size() ? " and " : ", ";
    names += ignored[i];
  }
  warnings.push_back(std::string("XEONRUN_MODE=") + mode + " is exclusive to " + names +
                     "; they take no effect even though they are set");
}

// Config::cpu_limit (a CPU quota, docs/design.md §9): fewer slots, and the one line that says so.
void apply_cpu_limit(std::vector<Slot>& slots, const Config& config,
                     std::vector<std::string>& info) {
  if (!config.cpu_limit) return;
  const bool sized = config.nranks || !config.ncores_per_instance.empty();
  const bool by_node = config.nranks.value_or(1) > 1 || config.mode == Mode::Throughput ||
                       config.mode == Mode::MultiInstance || (config.rank && !sized);
  const std::size_t before = cap_slots(slots, *config.cpu_limit, by_node);
  if (before == 0) return;
  std::size_t after = 0;
  for (const Slot& slot : slots) after += weight(slot);
  info.push_back(config.cpu_limit_why + ": planning " + std::to_string(after) + " of the " +
                 std::to_string(before) + " usable CPUs (XEONRUN_CPU_QUOTA=ignore plans them all)");
}

// Latency and throughput mode plan every physical core, over XEONRUN_NODES_LIST when it is set:
// ipexrun warns that --nodes-list takes no effect there and applies it all the same, so the list
// is honoured and not warned about (docs/design.md §11).
Expected<std::vector<Slot>> mode_slots(const Topology& topology, const Config& config) {
  std::vector<Slot> slots = core_slots(topology, config.use_efficient_cores, false);
  if (!config.nodes_list) return slots;
  return planning::restrict_to_nodes(topology, std::move(slots), *config.nodes_list);
}

// Groups whose slots were handed out past their run made contiguous again: the k-th group takes
// the next size(k) slots, so that a rank's cores stay neighbours.
std::vector<Group> renumbered(std::vector<Group> groups) {
  std::size_t at = 0;
  for (Group& g : groups) {
    for (std::size_t& i : g) i = at++;
  }
  return groups;
}

Expected<Slicing> slice_latency(const Topology& topology, const Config& config,
                                std::vector<std::string>& warnings,
                                std::vector<std::string>& info) {
  constexpr unsigned kLatencyCores = 4;  // run_cpu's latency mode
  warn_exclusive(config, "latency", warnings);
  Slicing s;
  auto slots = mode_slots(topology, config);
  if (!slots) return slots.error();
  s.slots = std::move(*slots);
  apply_cpu_limit(s.slots, config, info);
  if (s.slots.size() < kLatencyCores) {
    return make_error("XEONRUN_MODE=latency: latency mode gives each rank " +
                      std::to_string(kLatencyCores) + " physical cores, but only " +
                      std::to_string(s.slots.size()) + " usable cores exist (CPUs " +
                      topology.allowed_cpus.format() +
                      "); accepted: a machine or allowed set with at least 4 cores, or "
                      "XEONRUN_NCORES_PER_INSTANCE");
  }
  auto groups = planning::cut_in_domains(s.slots, Sizes{{kLatencyCores}, true}, false,
                                         config.domain, 0, "XEONRUN_MODE=latency", warnings);
  if (!groups) return groups.error();
  s.groups = std::move(*groups);
  if (config.leftover_cores == Leftover::Spread) {
    // The cores past the last whole rank go one each to the first ranks.
    std::size_t next = s.groups.empty() ? 0 : s.groups.back().back() + 1;
    for (std::size_t r = 0; next < s.slots.size() && r < s.groups.size(); ++r, ++next) {
      s.groups[r].push_back(next);
    }
    s.groups = renumbered(std::move(s.groups));
  }
  warn_unused(s.slots, s.groups, "latency mode gives each rank 4 cores", warnings);
  return s;
}

Expected<Slicing> slice_throughput(const Topology& topology, const Config& config,
                                   std::vector<std::string>& warnings,
                                   std::vector<std::string>& info) {
  warn_exclusive(config, "throughput", warnings);
  Slicing s;
  auto slots = mode_slots(topology, config);
  if (!slots) return slots.error();
  s.slots = std::move(*slots);
  apply_cpu_limit(s.slots, config, info);
  if (s.slots.empty()) {
    return make_error("XEONRUN_MODE=throughput: no usable cores on " + topology.source);
  }
  s.groups = planning::group_by_domain(s.slots,
                                       planning::grouping_level(s.slots, config.domain, warnings));
  return s;
}

Expected<Slicing> slice(const Topology& topology, const Config& config,
                        std::vector<std::string>& warnings, std::vector<std::string>& info) {
  if (config.mode == Mode::Latency) return slice_latency(topology, config, warnings, info);
  if (config.mode == Mode::Throughput) return slice_throughput(topology, config, warnings, info);

  Slicing s;
  auto slots = select_slots(topology, config);
  if (!slots) return slots.error();
  s.slots = std::move(*slots);
  apply_cpu_limit(s.slots, config, info);

  const bool sized = config.nranks || !config.ncores_per_instance.empty();
  if (!sized) {
    // A bare rank, or multi-instance: one rank per node. Otherwise run_cpu's default: one rank on
    // every slot.
    if (config.rank || config.mode == Mode::MultiInstance) {
      s.groups = planning::group_by_domain(
          s.slots, planning::grouping_level(s.slots, config.domain, warnings));
    } else {
      Group all(s.slots.size());
      for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
      s.groups.push_back(std::move(all));
    }
    return s;
  }
  auto groups = config.ncores_per_instance.empty()
                    ? split_evenly(s.slots, *config.nranks, config, warnings)
                    : slice_by_count(s.slots, config, warnings);
  if (!groups) return groups.error();
  s.groups = std::move(*groups);
  return s;
}

Expected<CpuSet> chosen_mem_nodes(const Topology& topology, const CpuSet& requested) {
  const std::string what = "XEONRUN_MEM_NODES=" + requested.format();
  CpuSet existing;
  for (const NumaNode& node : topology.nodes) existing.add(node.id);
  const std::string accepted = "; accepted: allowed nodes " + topology.allowed_mems.format();
  if (requested.empty()) return make_error(what + ": the list is empty" + accepted);
  for (unsigned id : requested.ids()) {
    const NumaNode* node = find_node(topology, id);
    if (node == nullptr) {
      return make_error(what + ": node " + std::to_string(id) + " does not exist on " +
                        topology.source + accepted);
    }
    if (!node->allowed || !topology.allowed_mems.contains(id)) {
      return make_error(what + ": node " + std::to_string(id) +
                        " is outside the memory nodes this process may use" + accepted);
    }
  }
  return requested;
}

// The memory nodes of a rank: its CPUs' nodes where allowed; for a node outside cpuset.mems (a
// container) the nearest allowed one; CPUs no node holds (NodeLink) come with their nearest node
// already. Where no node can be chosen, memory stays on every allowed node, with a warning.
CpuSet home_nodes(const Topology& topology, RankPlacement& placement, const CpuSet& cpu_nodes) {
  bool unknown = false;
  for (unsigned cpu : placement.cpus.ids()) {
    const Pu* pu = planning::find_pu(topology, cpu);
    unknown = unknown || (pu != nullptr && pu->node_link == NodeLink::None);
  }
  CpuSet mems;
  CpuSet replaced;
  CpuSet unresolved;
  for (unsigned id : cpu_nodes.ids()) {
    std::optional<unsigned> nearest = topology.nearest_allowed_node(id);
    if (!nearest) unresolved.add(id);
    if (nearest) mems.add(*nearest);
    if (nearest && *nearest != id) replaced.add(id);
  }
  if (unknown || !unresolved.empty() || mems.empty()) {
    const std::string why =
        unresolved.empty() ? "no NUMA node holds some of CPUs " + placement.cpus.format()
                           : "the nodes " + unresolved.format() + " of CPUs " +
                                 placement.cpus.format() + " are outside the allowed memory nodes";
    placement.warnings.push_back(why +
                                 " and no allowed node is known to be nearest; memory is left "
                                 "unbound (allowed nodes " +
                                 topology.allowed_mems.format() + ")");
    return topology.allowed_mems;
  }
  if (!replaced.empty()) {
    placement.warnings.push_back("the nodes " + replaced.format() + " of CPUs " +
                                 placement.cpus.format() +
                                 " are outside the allowed memory nodes; using the nearest allowed "
                                 "nodes " +
                                 mems.format());
  }
  return mems;
}

// XEONRUN_HELPER_CORES: the last `helper_cores` slots of a group are its helper cores.
std::size_t compute_slots(const Config& config, const Group& group) {
  return group.size() - std::min<std::size_t>(config.helper_cores, group.size());
}

RankPlacement place(const Topology& topology, const Config& config, const Slicing& s, unsigned rank,
                    const std::optional<CpuSet>& mem_nodes) {
  RankPlacement placement;
  placement.rank = rank;
  const Group& group = s.groups[rank];
  placement.cpus = cpus_of(s.slots, group);
  CpuSet cpu_nodes;
  std::size_t threads = 0;
  const std::size_t computing = compute_slots(config, group);
  for (std::size_t at = 0; at < group.size(); ++at) {
    const Slot& slot = s.slots[group[at]];
    cpu_nodes.add(slot.node);
    if (at < computing) threads += weight(slot);
    for (unsigned cpu : slot.cpus) {
      if (at >= computing) placement.helper_cpus.add(cpu);
    }
  }
  placement.omp_threads = static_cast<unsigned>(threads);
  placement.domain = planning::domain_of(topology, placement.cpus);
  if (cpu_nodes.count() > 1) {
    // run_cpu's numa_aware_check.
    placement.warnings.push_back("Numa Aware: cores " + placement.cpus.format() +
                                 " on different NUMA nodes " + cpu_nodes.format() +
                                 "; to avoid performance degradation, use cores from the same "
                                 "NUMA node");
  }
  placement.mems =
      mem_nodes ? *mem_nodes
                : memory_nodes_for(config.membind, topology,
                                   home_nodes(topology, placement, cpu_nodes), placement.warnings);
  placement.env = planned_runtime_env(placement, config);
  return placement;
}

// Every rank keeps at least one core for compute.
Status check_helper_cores(const Config& config, const Slicing& s) {
  if (config.helper_cores == 0) return Unit{};
  std::size_t smallest = s.groups.empty() ? 0 : s.groups.front().size();
  for (const Group& group : s.groups) smallest = std::min(smallest, group.size());
  if (config.helper_cores < smallest) return Unit{};
  return make_error("XEONRUN_HELPER_CORES=" + std::to_string(config.helper_cores) +
                    ": the smallest rank has " + std::to_string(smallest) +
                    (smallest == 1 ? " core" : " cores") +
                    " and keeps at least one for compute; accepted: 0.." +
                    std::to_string(smallest == 0 ? 0 : smallest - 1));
}

// oneCCL's workers (docs/design.md, helper cores): CCL_WORKER_AFFINITY lists one CPU per worker
// of every local rank, rank after rank (oneCCL reads entry local_rank * count + worker).
std::vector<EnvVar> ccl_env(const Config& config, const Slicing& s) {
  if (config.helper_cores == 0) return {};
  std::vector<std::string> cpus;
  for (const Group& group : s.groups) {
    for (std::size_t at = compute_slots(config, group); at < group.size(); ++at) {
      cpus.push_back(std::to_string(s.slots[group[at]].cpus.front()));
    }
  }
  return {{"CCL_WORKER_COUNT", std::to_string(config.helper_cores)},
          {"CCL_WORKER_AFFINITY", join(cpus, ",")}};
}

}  // namespace

bool plans_logical_cores(const Config& config) {
  return config.use_logical_core && config.mode != Mode::Latency && config.mode != Mode::Throughput;
}

Expected<Plan> plan(const Topology& topology, const Config& config) {
  Plan result;
  std::optional<CpuSet> mem_nodes;
  if (config.mem_nodes) {
    auto chosen = chosen_mem_nodes(topology, *config.mem_nodes);
    if (!chosen) return chosen.error();
    mem_nodes = std::move(*chosen);
  }
  auto sliced = slice(topology, config, result.warnings, result.info);
  if (!sliced) return sliced.error();
  const Slicing& s = *sliced;
  result.nranks = static_cast<unsigned>(s.groups.size());
  if (Status helpers = check_helper_cores(config, s); !helpers) return helpers.error();
  const std::vector<EnvVar> ccl = ccl_env(config, s);
  auto placed = [&](unsigned rank) {
    RankPlacement placement = place(topology, config, s, rank, mem_nodes);
    placement.env.insert(placement.env.end(), ccl.begin(), ccl.end());
    return placement;
  };

  if (config.instance_idx) {
    const CpuSet& wanted = *config.instance_idx;
    if (wanted.empty() || wanted.ids().back() >= result.nranks) {
      return make_error(
          "XEONRUN_INSTANCE_IDX=" + wanted.format() +
          ": rank out of range; accepted: -1 (every rank) or ranks " +
          (result.nranks == 1 ? std::string("0") : "0-" + std::to_string(result.nranks - 1)) +
          " (" + std::to_string(result.nranks) + " planned)");
    }
    if (config.rank && !wanted.contains(*config.rank)) {
      return make_error("XEONRUN_RANK=" + std::to_string(*config.rank) +
                        ": not one of XEONRUN_INSTANCE_IDX=" + wanted.format() +
                        "; accepted: one of those ranks, or XEONRUN_INSTANCE_IDX=-1");
    }
  }
  if (config.rank) {
    if (*config.rank >= result.nranks) {
      return make_error(
          "XEONRUN_RANK=" + std::to_string(*config.rank) + ": rank out of range; accepted: " +
          (result.nranks == 1 ? std::string("0") : "0-" + std::to_string(result.nranks - 1)) +
          " (" + std::to_string(result.nranks) + (result.nranks == 1 ? " rank" : " ranks") +
          " planned)");
    }
    result.ranks.push_back(placed(*config.rank));
    return result;
  }
  result.ranks.reserve(s.groups.size());
  for (unsigned r = 0; r < result.nranks; ++r) {
    if (config.instance_idx && !config.instance_idx->contains(r)) continue;
    result.ranks.push_back(placed(r));
  }
  return result;
}

}  // namespace xeonplace
