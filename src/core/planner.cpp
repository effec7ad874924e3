// The planner: which CPUs and memory nodes every rank gets.
//
// It follows torch.backends.xeon.run_cpu as released (torch 2.4-2.11). Where this file deliberately
// differs from run_cpu, and why:
// - A physical core is a core: a rank gets the first usable PU of each of its cores. run_cpu uses
//   lscpu's Core column as a CPU id, which names the wrong CPUs when SMT siblings are numbered
//   adjacently (CPUs 2k and 2k+1 share a core on QEMU, many AMD and Arm machines).
// - With XEONRUN_USE_LOGICAL_CORE a unit is a whole core with all its usable PUs, so ranks never
//   share a physical core; a count of logical CPUs must therefore cover whole cores.
// - Offline CPUs and CPUs outside the allowed set are never planned; efficient cores of hybrid
//   parts only with XEONRUN_USE_EFFICIENT_CORES.
// - XEONRUN_CORE_LIST does not need XEONRUN_NCORES_PER_INSTANCE (run_cpu refuses): without sizing
//   one rank runs on the whole list; XEONRUN_NINSTANCES splits it. A listed CPU that does not exist
//   or is not usable is an error (run_cpu passes it to numactl). With XEONRUN_NODE_ID as well, only
//   the listed CPUs of that node are used (run_cpu ignores the node).
// - Sizes that leave no rank at all are errors (run_cpu silently launches nothing): more cores per
//   rank than usable cores, latency mode on fewer than 4 cores.
// - XEONRUN_SKIP_CROSS_NODE_CORES is computed per node (run_cpu uses node 0's size for every node,
//   which is wrong on uneven machines), and is honoured with XEONRUN_NINSTANCES as well.
// - Throughput mode, multi-instance without sizing, and a rank without any sizing give one rank per
//   NUMA node with usable cores, each with exactly that node's cores (run_cpu slices
//   len(cores) // nodes contiguously, which spans nodes on uneven machines). run_cpu plans a single
//   instance for a bare --rank, so any rank above 0 got no CPUs.
// - Memory nodes are the nodes of the rank's CPUs that this process may allocate on;
//   XEONRUN_MEM_NODES replaces them and may name CPU-less nodes (HBM, CXL).
#include "core/planner.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/runtime_env.h"

namespace xeonplace {
namespace {

// What the planner slices: a physical core's first PU, or a whole core's usable PUs in logical
// mode, or one listed CPU of XEONRUN_CORE_LIST.
struct Slot {
  unsigned node = 0;
  std::vector<unsigned> cpus;  // ascending
};

// One rank's units, as indices into the unit list.
using Group = std::vector<std::size_t>;

std::size_t weight(const Slot& unit) { return unit.cpus.size(); }

std::string join_sizes(const std::vector<unsigned>& sizes) {
  std::string text;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (i) text += ',';
    text += std::to_string(sizes[i]);
  }
  return text;
}

CpuSet cpus_of(const std::vector<Slot>& units, const Group& group) {
  CpuSet set;
  for (std::size_t i : group) {
    for (unsigned cpu : units[i].cpus) set.add(cpu);
  }
  return set;
}

CpuSet nodes_with_cpus(const Topology& topology) {
  CpuSet set;
  for (const NumaNode& node : topology.nodes) {
    if (!node.cpuless()) set.add(node.id);
  }
  return set;
}

const Pu* find_pu(const Topology& topology, unsigned cpu) {
  // pus are ascending by cpu (Topology::finalize).
  auto it = std::lower_bound(topology.pus.begin(), topology.pus.end(), cpu,
                             [](const Pu& pu, unsigned id) { return pu.cpu < id; });
  if (it == topology.pus.end() || it->cpu != cpu) return nullptr;
  return &*it;
}

const NumaNode* find_node(const Topology& topology, unsigned id) {
  for (const NumaNode& node : topology.nodes) {
    if (node.id == id) return &node;
  }
  return nullptr;
}

std::vector<Slot> core_units(const Topology& topology, bool efficient, bool logical) {
  std::vector<Slot> units;
  for (Core& core : topology.usable_cores(efficient)) {
    Slot unit;
    unit.node = core.node;
    if (logical) {
      unit.cpus = std::move(core.cpus);
    } else {
      unit.cpus.push_back(core.cpus.front());
    }
    units.push_back(std::move(unit));
  }
  return units;
}

// XEONRUN_CORE_LIST: the listed CPUs, ascending, each a unit; in logical mode the listed siblings
// of one core form one unit, so that ranks still never share a core.
Expected<std::vector<Slot>> listed_units(const Topology& topology, const CpuSet& list,
                                         bool logical) {
  const std::string what = "XEONRUN_CORE_LIST=" + list.format();
  const std::string accepted = "; accepted: usable CPUs " + topology.allowed_cpus.format();
  if (list.empty()) return make_error(what + ": the list is empty" + accepted);
  std::vector<Slot> units;
  std::map<unsigned, std::size_t> unit_of_core;
  for (unsigned cpu : list.ids()) {
    const Pu* pu = find_pu(topology, cpu);
    if (pu == nullptr) {
      return make_error(what + ": CPU " + std::to_string(cpu) + " does not exist on " +
                        topology.source + accepted);
    }
    if (!pu->online) {
      return make_error(what + ": CPU " + std::to_string(cpu) + " is offline" + accepted);
    }
    if (!pu->allowed) {
      return make_error(what + ": CPU " + std::to_string(cpu) +
                        " is outside the CPUs this process may use" + accepted);
    }
    if (logical) {
      auto [it, inserted] = unit_of_core.try_emplace(pu->core, units.size());
      if (!inserted) {
        units[it->second].cpus.push_back(cpu);
        continue;
      }
    }
    units.push_back(Slot{pu->node, {cpu}});
  }
  return units;
}

Expected<std::vector<Slot>> restrict_to_node(const Topology& topology, std::vector<Slot> units,
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
  for (const Slot& unit : units) usable_nodes.add(unit.node);
  units.erase(std::remove_if(units.begin(), units.end(),
                             [&](const Slot& unit) { return unit.node != node_id; }),
              units.end());
  if (units.empty()) {
    return make_error(what + ": none of node " + std::to_string(node_id) +
                      "'s CPUs is usable here (offline, outside the allowed set, efficient cores "
                      "not enabled, or not in XEONRUN_CORE_LIST); accepted: " +
                      usable_nodes.format());
  }
  return units;
}

// One group per NUMA node, ascending by node id.
std::vector<Group> group_by_node(const std::vector<Slot>& units) {
  std::map<unsigned, Group> by_node;
  for (std::size_t i = 0; i < units.size(); ++i) by_node[units[i].node].push_back(i);
  std::vector<Group> groups;
  groups.reserve(by_node.size());
  for (auto& entry : by_node) groups.push_back(std::move(entry.second));
  return groups;
}

// Sizes of consecutive ranks: either a finite list, or one size repeated while units remain.
struct Sizes {
  std::vector<unsigned> list;
  bool repeat = false;
};

// Cuts units into consecutive ranks of the given sizes (in logical CPUs; a physical unit weighs
// one). A rank never splits a unit. With within_nodes, a rank that does not fit in the rest of its
// node's run of units starts at the next node instead. Stops at the first size that no longer fits.
Expected<std::vector<Group>> cut(const std::vector<Slot>& units, const Sizes& sizes,
                                 bool within_nodes, const std::string& what) {
  const std::size_t n = units.size();
  // run_end[i]: one past the last unit of the node run that contains unit i; prefix[i]: weight of
  // units before i. Both make the per-rank node-fit test O(1).
  std::vector<std::size_t> run_end(n);
  std::vector<std::size_t> prefix(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + weight(units[i]);
  for (std::size_t i = n; i-- > 0;) {
    run_end[i] = (i + 1 < n && units[i + 1].node == units[i].node) ? run_end[i + 1] : i + 1;
  }

  std::vector<Group> groups;
  std::size_t p = 0;
  for (std::size_t r = 0; sizes.repeat || r < sizes.list.size(); ++r) {
    const std::size_t k = sizes.repeat ? sizes.list.front() : sizes.list[r];
    if (within_nodes) {
      while (p < n && prefix[run_end[p]] - prefix[p] < k) p = run_end[p];
    }
    const std::size_t limit = within_nodes && p < n ? run_end[p] : n;
    std::size_t q = p;
    std::size_t w = 0;
    while (q < limit && w < k) w += weight(units[q++]);
    if (w < k) break;
    if (w > k) {
      const Slot& split = units[q - 1];
      return make_error(what +
                        ": with XEONRUN_USE_LOGICAL_CORE a rank takes whole cores, and rank " +
                        std::to_string(r) + " would split the core of CPUs " +
                        CpuSet::from_ids(split.cpus).format() +
                        "; accepted: counts of logical CPUs that cover whole cores");
    }
    Group group;
    group.reserve(q - p);
    for (std::size_t i = p; i < q; ++i) group.push_back(i);
    groups.push_back(std::move(group));
    p = q;
  }
  return groups;
}

// In logical mode every core usually has the same number of usable PUs; a count that is not a
// multiple of it can never cover whole cores, and saying so up front is clearer than the cut error.
Status check_whole_cores(const std::vector<Slot>& units, const std::vector<unsigned>& counts,
                         const std::string& what) {
  if (units.empty()) return Unit{};
  const std::size_t per_core = weight(units.front());
  for (const Slot& unit : units) {
    if (weight(unit) != per_core) return Unit{};
  }
  if (per_core <= 1) return Unit{};
  for (unsigned k : counts) {
    if (k % per_core != 0) {
      return make_error(what +
                        ": with XEONRUN_USE_LOGICAL_CORE the count is of logical CPUs and a "
                        "rank takes whole cores of " +
                        std::to_string(per_core) + " logical CPUs each, so " + std::to_string(k) +
                        " would split a core; accepted: a multiple of " + std::to_string(per_core));
    }
  }
  return Unit{};
}

std::size_t total_weight(const std::vector<Slot>& units) {
  std::size_t total = 0;
  for (const Slot& unit : units) total += weight(unit);
  return total;
}

// Warns about units that no rank got, so a user never loses cores without being told.
void warn_unused(const std::vector<Slot>& units, const std::vector<Group>& groups,
                 const std::string& why, std::vector<std::string>& warnings) {
  std::vector<bool> used(units.size(), false);
  for (const Group& group : groups) {
    for (std::size_t i : group) used[i] = true;
  }
  CpuSet unused;
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (!used[i]) {
      for (unsigned cpu : units[i].cpus) unused.add(cpu);
    }
  }
  if (!unused.empty()) {
    warnings.push_back("CPUs " + unused.format() + " are not used by any rank: " + why);
  }
}

struct Slicing {
  std::vector<Slot> units;
  std::vector<Group> groups;
};

// run_cpu: "--latency-mode is exclusive to --ninstances, --ncores-per-instance, --node-id and
// --use-logical-core. They won't take effect even they are set explicitly." (likewise throughput).
void warn_exclusive(const Config& config, const char* mode, std::vector<std::string>& warnings) {
  std::vector<std::string> ignored;
  if (config.ninstances) ignored.push_back("XEONRUN_NINSTANCES");
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

Expected<Slicing> slice_latency(const Topology& topology, const Config& config,
                                std::vector<std::string>& warnings) {
  constexpr unsigned kLatencyCores = 4;  // run_cpu's latency mode
  warn_exclusive(config, "latency", warnings);
  Slicing s;
  s.units = core_units(topology, config.use_efficient_cores, false);
  if (s.units.size() < kLatencyCores) {
    return make_error("XEONRUN_MODE=latency: latency mode gives each rank " +
                      std::to_string(kLatencyCores) + " physical cores, but only " +
                      std::to_string(s.units.size()) + " usable cores exist (CPUs " +
                      topology.allowed_cpus.format() +
                      "); accepted: a machine or allowed set with at least 4 cores, or "
                      "XEONRUN_NCORES_PER_INSTANCE");
  }
  auto groups = cut(s.units, Sizes{{kLatencyCores}, true}, false, "XEONRUN_MODE=latency");
  if (!groups) return groups.error();
  s.groups = std::move(*groups);
  warn_unused(s.units, s.groups, "latency mode gives each rank 4 cores", warnings);
  return s;
}

Expected<Slicing> slice_throughput(const Topology& topology, const Config& config,
                                   std::vector<std::string>& warnings) {
  warn_exclusive(config, "throughput", warnings);
  Slicing s;
  s.units = core_units(topology, config.use_efficient_cores, false);
  if (s.units.empty()) {
    return make_error("XEONRUN_MODE=throughput: no usable cores on " + topology.source);
  }
  s.groups = group_by_node(s.units);
  return s;
}

Expected<std::vector<Slot>> select_units(const Topology& topology, const Config& config) {
  std::vector<Slot> units;
  if (config.core_list) {
    auto listed = listed_units(topology, *config.core_list, config.use_logical_core);
    if (!listed) return listed.error();
    units = std::move(*listed);
  } else {
    units = core_units(topology, config.use_efficient_cores, config.use_logical_core);
  }
  if (config.node_id) return restrict_to_node(topology, std::move(units), *config.node_id);
  if (units.empty()) {
    return make_error(
        "no usable CPUs on " + topology.source + " (all offline or outside the allowed set" +
        (topology.has_hybrid_cpus() ? std::string(", and efficient cores are not enabled "
                                                  "(XEONRUN_USE_EFFICIENT_CORES)")
                                    : std::string()) +
        ")");
  }
  return units;
}

// Splits the units into `ninstances` ranks of units.size() // ninstances units each (run_cpu's
// --ninstances without --ncores-per-instance; counted in cores in logical mode too).
Expected<std::vector<Group>> split_evenly(const std::vector<Slot>& units, unsigned ninstances,
                                          std::vector<std::string>& warnings) {
  const std::string what = "XEONRUN_NINSTANCES=" + std::to_string(ninstances);
  if (ninstances == 0) return make_error(what + ": accepted: 1 or more");
  const std::size_t n = units.size();
  if (ninstances > n) {
    // run_cpu's message.
    return make_error(what + ": there are " + std::to_string(n) + " total cores but you specify " +
                      std::to_string(ninstances) +
                      " ninstances; please make sure ninstances <= total_cores");
  }
  const std::size_t each = n / ninstances;
  std::vector<Group> groups(ninstances);
  for (std::size_t r = 0; r < ninstances; ++r) {
    for (std::size_t i = r * each; i < (r + 1) * each; ++i) groups[r].push_back(i);
  }
  warn_unused(units, groups,
              std::to_string(n) + " cores do not split evenly into " + std::to_string(ninstances) +
                  " ranks",
              warnings);
  return groups;
}

Expected<std::vector<Group>> slice_by_count(const std::vector<Slot>& units, const Config& config,
                                            std::vector<std::string>& warnings) {
  const std::vector<unsigned>& counts = config.ncores_per_instance;
  const std::string what = "XEONRUN_NCORES_PER_INSTANCE=" + join_sizes(counts);
  for (unsigned k : counts) {
    if (k == 0) return make_error(what + ": accepted: counts of 1 or more");
  }
  if (auto whole = check_whole_cores(units, counts, what); !whole) return whole.error();
  const std::size_t total = total_weight(units);
  const char* noun = plans_logical_cores(config) ? " logical CPUs" : " cores";

  Sizes sizes;
  std::uint64_t wanted = 0;  // CPUs the sizing asks for, when it asks for a fixed number of ranks
  bool fixed = false;
  if (counts.size() > 1) {
    if (config.ninstances && *config.ninstances != counts.size()) {
      return make_error("XEONRUN_NINSTANCES=" + std::to_string(*config.ninstances) + ": " + what +
                        " lists " + std::to_string(counts.size()) +
                        " ranks; accepted: XEONRUN_NINSTANCES=" + std::to_string(counts.size()) +
                        " or unset");
    }
    sizes.list = counts;
    for (unsigned k : counts) wanted += k;
    fixed = true;
  } else if (config.ninstances) {
    if (*config.ninstances == 0) {
      return make_error("XEONRUN_NINSTANCES=0: accepted: 1 or more");
    }
    wanted = std::uint64_t{*config.ninstances} * counts.front();
    if (wanted <= total) sizes.list.assign(*config.ninstances, counts.front());
    fixed = true;
  } else {
    if (counts.front() > total) {
      return make_error(what + ": only " + std::to_string(total) + noun +
                        " are usable, so no rank fits; accepted: 1-" + std::to_string(total));
    }
    sizes.list = counts;
    sizes.repeat = true;
  }
  if (fixed && wanted > total) {
    std::string ask = counts.size() > 1
                          ? what + " asks for "
                          : "XEONRUN_NINSTANCES=" + std::to_string(*config.ninstances) + " x " +
                                what + " asks for ";
    // run_cpu: "Please make sure ninstances * ncores_per_instance <= total_cores".
    return make_error(ask + std::to_string(wanted) + noun + " but only " + std::to_string(total) +
                      " are usable; please make sure ninstances * ncores_per_instance <= "
                      "total_cores");
  }

  bool within_nodes = config.skip_cross_node_cores;
  if (within_nodes) {
    std::size_t largest_node = 0;
    for (const Group& group : group_by_node(units)) {
      std::size_t w = 0;
      for (std::size_t i : group) w += weight(units[i]);
      largest_node = std::max(largest_node, w);
    }
    const unsigned biggest = *std::max_element(counts.begin(), counts.end());
    if (biggest > largest_node) {
      // run_cpu's warning; the ranks then span nodes as if the switch were off.
      warnings.push_back("there are " + std::to_string(largest_node) + noun +
                         " per node at most, but you specify " + std::to_string(biggest) +
                         " ncores_per_instance and skip_cross_node_cores; please make sure "
                         "--ncores-per-instance <= cores per node (ranks now span nodes)");
      within_nodes = false;
    }
  }

  auto groups = cut(units, sizes, within_nodes, what);
  if (!groups) return groups.error();
  if (fixed && groups->size() < sizes.list.size()) {
    // Only possible within nodes: the total fits but the nodes' leftovers cannot be combined.
    return make_error(what + " with XEONRUN_SKIP_CROSS_NODE_CORES: only " +
                      std::to_string(groups->size()) + " of the " +
                      std::to_string(sizes.list.size()) +
                      " ranks fit inside single NUMA nodes; accepted: fewer or smaller ranks, or "
                      "XEONRUN_SKIP_CROSS_NODE_CORES=0");
  }
  warn_unused(units, *groups,
              within_nodes ? "skip_cross_node_cores leaves each node's remainder unused"
                           : "the usable" + std::string(noun) + " do not divide into " + what,
              warnings);
  return groups;
}

Expected<Slicing> slice(const Topology& topology, const Config& config,
                        std::vector<std::string>& warnings) {
  if (config.mode == Mode::Latency) return slice_latency(topology, config, warnings);
  if (config.mode == Mode::Throughput) return slice_throughput(topology, config, warnings);

  Slicing s;
  auto units = select_units(topology, config);
  if (!units) return units.error();
  s.units = std::move(*units);

  const bool sized = config.ninstances || !config.ncores_per_instance.empty();
  if (!sized) {
    // A bare rank, or multi-instance: one rank per node. Otherwise run_cpu's default: one rank on
    // every unit.
    if (config.rank || config.mode == Mode::MultiInstance) {
      s.groups = group_by_node(s.units);
    } else {
      Group all(s.units.size());
      for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
      s.groups.push_back(std::move(all));
    }
    return s;
  }
  auto groups = config.ncores_per_instance.empty()
                    ? split_evenly(s.units, *config.ninstances, warnings)
                    : slice_by_count(s.units, config, warnings);
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

RankPlacement place(const Topology& topology, const Config& config, const Slicing& s, unsigned rank,
                    const std::optional<CpuSet>& mem_nodes) {
  RankPlacement placement;
  placement.rank = rank;
  const Group& group = s.groups[rank];
  placement.cpus = cpus_of(s.units, group);
  CpuSet cpu_nodes;
  std::size_t threads = 0;
  for (std::size_t i : group) {
    cpu_nodes.add(s.units[i].node);
    threads += weight(s.units[i]);
  }
  placement.omp_threads = static_cast<unsigned>(threads);
  if (cpu_nodes.count() > 1) {
    // run_cpu's numa_aware_check.
    placement.warnings.push_back("Numa Aware: cores " + placement.cpus.format() +
                                 " on different NUMA nodes " + cpu_nodes.format() +
                                 "; to avoid performance degradation, use cores from the same "
                                 "NUMA node");
  }
  if (mem_nodes) {
    placement.mems = *mem_nodes;
  } else {
    placement.mems = cpu_nodes & topology.allowed_mems;
    if (placement.mems.empty()) {
      // The CPUs' own nodes are outside cpuset.mems (a container): memory can only come from
      // elsewhere, so say so rather than bind to a node the kernel refuses.
      placement.mems = topology.allowed_mems;
      placement.warnings.push_back(
          "the nodes " + cpu_nodes.format() + " of CPUs " + placement.cpus.format() +
          " are outside the allowed memory nodes; using nodes " + topology.allowed_mems.format());
    }
  }
  placement.env = planned_runtime_env(placement, config);
  return placement;
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
  auto sliced = slice(topology, config, result.warnings);
  if (!sliced) return sliced.error();
  const Slicing& s = *sliced;
  result.nranks = static_cast<unsigned>(s.groups.size());

  if (config.rank) {
    if (*config.rank >= result.nranks) {
      return make_error(
          "XEONRUN_RANK=" + std::to_string(*config.rank) + ": rank out of range; accepted: " +
          (result.nranks == 1 ? std::string("0") : "0-" + std::to_string(result.nranks - 1)) +
          " (" + std::to_string(result.nranks) + (result.nranks == 1 ? " rank" : " ranks") +
          " planned)");
    }
    result.ranks.push_back(place(topology, config, s, *config.rank, mem_nodes));
    return result;
  }
  result.ranks.reserve(s.groups.size());
  for (unsigned r = 0; r < result.nranks; ++r) {
    result.ranks.push_back(place(topology, config, s, r, mem_nodes));
  }
  return result;
}

}  // namespace xeonplace
