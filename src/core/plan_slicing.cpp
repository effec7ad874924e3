#include "core/plan_slicing.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/cpuset.h"
#include "core/option_values.h"
#include "core/plan_domains.h"
#include "core/planner.h"

namespace xeonplace::planning {
namespace {

std::string join_sizes(const std::vector<unsigned>& sizes) {
  std::string text;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (i) text += ',';
    text += std::to_string(sizes[i]);
  }
  return printable(text);  // a list of 40000 counts must not make a 80 KB error line
}

// In logical mode every core usually has the same number of usable PUs; a count that is not a
// multiple of it can never cover whole cores, and saying so up front is clearer than the cut error.
Status check_whole_cores(const std::vector<Slot>& slots, const std::vector<unsigned>& counts,
                         const std::string& what) {
  if (slots.empty()) return Unit{};
  const std::size_t per_core = weight(slots.front());
  for (const Slot& slot : slots) {
    if (weight(slot) != per_core) return Unit{};
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

std::size_t total_weight(const std::vector<Slot>& slots) {
  std::size_t total = 0;
  for (const Slot& slot : slots) total += weight(slot);
  return total;
}

}  // namespace

Expected<std::vector<Group>> cut(const std::vector<Slot>& slots, const Sizes& sizes,
                                 bool within_nodes, const std::string& what) {
  return cut_in_runs(
      slots, sizes, within_nodes ? domain_runs(slots, Level::Numa) : std::vector<unsigned>{}, what);
}

Expected<std::vector<Group>> cut_in_runs(const std::vector<Slot>& slots, const Sizes& sizes,
                                         const std::vector<unsigned>& runs,
                                         const std::string& what) {
  const bool within_nodes = !runs.empty();  // within runs: nodes, or the domains of a level
  const std::size_t n = slots.size();
  // run_end[i]: one past the last slot of the node run that contains slot i; prefix[i]: weight of
  // slots before i. Both make the per-rank node-fit test O(1).
  std::vector<std::size_t> run_end(n);
  std::vector<std::size_t> prefix(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + weight(slots[i]);
  for (std::size_t i = n; i-- > 0;) {
    run_end[i] = (within_nodes && i + 1 < n && runs[i + 1] == runs[i]) ? run_end[i + 1] : i + 1;
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
    while (q < limit && w < k) w += weight(slots[q++]);
    if (w < k) break;
    if (w > k) {
      const Slot& split = slots[q - 1];
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

void warn_unused(const std::vector<Slot>& slots, const std::vector<Group>& groups,
                 const std::string& why, std::vector<std::string>& warnings) {
  std::vector<bool> used(slots.size(), false);
  for (const Group& group : groups) {
    for (std::size_t i : group) used[i] = true;
  }
  CpuSet unused;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (!used[i]) {
      for (unsigned cpu : slots[i].cpus) unused.add(cpu);
    }
  }
  if (!unused.empty()) {
    warnings.push_back("CPUs " + unused.format() + " are not used by any rank: " + why);
  }
}

namespace {

std::vector<Group> split_within_nodes(const std::vector<Slot>& slots, unsigned nranks) {
  const std::vector<Group> nodes = group_by_node(slots);
  std::size_t each = 0;
  for (std::size_t k = slots.size() / nranks; k >= 1 && each == 0; --k) {
    std::size_t fit = 0;
    for (const Group& node : nodes) fit += node.size() / k;
    if (fit >= nranks) each = k;
  }
  std::vector<Group> groups;
  if (each == 0) return groups;  // only when nranks exceeds the slots, refused before
  for (const Group& node : nodes) {
    for (std::size_t at = 0; at + each <= node.size() && groups.size() < nranks; at += each) {
      groups.emplace_back(node.begin() + static_cast<std::ptrdiff_t>(at),
                          node.begin() + static_cast<std::ptrdiff_t>(at + each));
    }
  }
  return groups;
}

// XEONRUN_COMPAT=ipexrun inside nodes: how many ranks each node gets, as ipexrun's
// gen_pools_ondemand shares them: each node its share of the ranks rounded up, then while there
// are too many, one fewer for the node whose ranks are smallest (a node left with one rank counts
// as the whole machine), then for the smallest nodes.
std::vector<std::size_t> ranks_per_node(const std::vector<Group>& nodes, std::size_t nranks,
                                        std::size_t total) {
  std::vector<std::size_t> count;
  for (const Group& node : nodes) {
    std::size_t c = nranks * node.size() / total;
    if (c == 0 || nranks * node.size() % total > 0) ++c;
    count.push_back(c);
  }
  auto sum = [&] {
    std::size_t s = 0;
    for (std::size_t c : count) s += c;
    return s;
  };
  for (std::size_t extra = sum() - std::min(sum(), nranks); extra > 0; --extra) {
    std::size_t best = 0;
    double smallest = 0;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const double size = count[i] <= 1 ? static_cast<double>(total)
                                        : static_cast<double>(nodes[i].size()) / count[i];
      if (i == 0 || size < smallest) best = i, smallest = size;
    }
    if (smallest == static_cast<double>(total)) break;
    --count[best];
  }
  std::vector<std::size_t> order(nodes.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return nodes[a].size() != nodes[b].size() ? nodes[a].size() < nodes[b].size() : a > b;
  });
  for (std::size_t k = 0; sum() > nranks && k < order.size(); ++k) {
    if (count[order[k]] > 0) --count[order[k]];
  }
  return count;
}

// Each node's share of ranks (ranks_per_node), each rank node_size / share cores; with `spread`
// the node's remainder goes one each to its first ranks.
std::vector<Group> split_in_proportion(const std::vector<Slot>& slots, unsigned nranks,
                                       bool spread) {
  const std::vector<Group> nodes = group_by_node(slots);
  const std::vector<std::size_t> count = ranks_per_node(nodes, nranks, slots.size());
  std::vector<Group> groups;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (count[i] == 0) continue;
    const std::size_t each = nodes[i].size() / count[i];
    const std::size_t extra = spread ? nodes[i].size() % count[i] : 0;
    std::size_t at = 0;
    for (std::size_t k = 0; k < count[i]; ++k) {
      const std::size_t size = each + (k < extra ? 1 : 0);
      groups.emplace_back(nodes[i].begin() + static_cast<std::ptrdiff_t>(at),
                          nodes[i].begin() + static_cast<std::ptrdiff_t>(at + size));
      at += size;
    }
  }
  return groups;
}

// XEONRUN_LEFTOVER_CORES=spread inside nodes: each node's slots no rank got are shared out evenly
// over that node's ranks, first ranks first; groups stay contiguous runs of the node's slots.
void spread_within_nodes(const std::vector<Slot>& slots, std::vector<Group>& groups) {
  for (const Group& node : group_by_node(slots)) {
    std::vector<std::size_t> ranks;  // the ranks on this node, in order
    std::size_t used = 0;
    for (std::size_t r = 0; r < groups.size(); ++r) {
      if (!groups[r].empty() && same_locality(slots[groups[r].front()], slots[node.front()])) {
        ranks.push_back(r);
        used += groups[r].size();
      }
    }
    if (ranks.empty()) continue;
    const std::size_t left = node.size() - used;
    std::size_t at = 0;
    for (std::size_t k = 0; k < ranks.size(); ++k) {
      const std::size_t size =
          groups[ranks[k]].size() + left / ranks.size() + (k < left % ranks.size() ? 1 : 0);
      groups[ranks[k]].assign(node.begin() + static_cast<std::ptrdiff_t>(at),
                              node.begin() + static_cast<std::ptrdiff_t>(at + size));
      at += size;
    }
  }
}

// Spread `wanted` ranks over the candidate groups (XEONRUN_STRATEGY=scatter). Across nodes
// (within_nodes): round robin over the nodes that still have a candidate, each node keeping its
// first candidates, as ipexrun; otherwise evenly spaced candidates (ipexrun's step of
// ceil(candidates / wanted) drops ranks when it does not divide: 8 candidates, 5 ranks start 4).
std::vector<Group> scatter(const std::vector<Slot>& slots, std::vector<Group> candidates,
                           std::size_t wanted, bool within_nodes) {
  std::vector<Group> chosen;
  if (!within_nodes) {
    for (std::size_t i = 0; i < wanted; ++i) {
      chosen.push_back(std::move(candidates[i * candidates.size() / wanted]));
    }
    return chosen;
  }
  std::vector<std::vector<Group>> by_node;
  for (Group& g : candidates) {
    if (by_node.empty() || !same_locality(slots[by_node.back().front().front()], slots[g.front()]))
      by_node.emplace_back();
    by_node.back().push_back(std::move(g));
  }
  std::vector<std::size_t> take(by_node.size(), 0);
  for (std::size_t placed = 0, node = 0; placed < wanted; node = (node + 1) % by_node.size()) {
    if (take[node] < by_node[node].size()) {
      ++take[node];
      ++placed;
    }
  }
  for (std::size_t node = 0; node < by_node.size(); ++node) {
    for (std::size_t k = 0; k < take[node]; ++k) chosen.push_back(std::move(by_node[node][k]));
  }
  return chosen;
}

}  // namespace

Expected<std::vector<Group>> split_evenly(const std::vector<Slot>& slots, unsigned nranks,
                                          const Config& config,
                                          std::vector<std::string>& warnings) {
  const bool within_nodes = config.skip_cross_node_cores;
  const bool spread = config.leftover_cores == Leftover::Spread;
  const bool proportional = config.compat == Compat::Ipexrun;
  const std::string what = "XEONRUN_NINSTANCES=" + std::to_string(nranks);
  if (nranks == 0) return make_error(what + ": accepted: 1 or more");
  const std::size_t n = slots.size();
  if (nranks > n) {
    // run_cpu's message.
    return make_error(what + ": there are " + std::to_string(n) + " total cores but you specify " +
                      std::to_string(nranks) +
                      " ninstances; please make sure ninstances <= total_cores");
  }
  if (within_nodes && proportional) {
    std::vector<Group> groups = split_in_proportion(slots, nranks, spread);
    warn_unused(
        slots, groups,
        "XEONRUN_SKIP_CROSS_NODE_CORES keeps each rank inside one NUMA node and each node's "
        "cores are split evenly over its ranks",
        warnings);
    return groups;
  }
  if (within_nodes) {
    // Always possible once nranks <= cores: ranks of one core fit anywhere.
    std::vector<Group> groups = split_within_nodes(slots, nranks);
    if (groups.size() < nranks) return make_error(what + ": accepted: 1-" + std::to_string(n));
    if (spread) spread_within_nodes(slots, groups);
    warn_unused(slots, groups,
                "XEONRUN_SKIP_CROSS_NODE_CORES keeps each of the " + std::to_string(nranks) +
                    " ranks of " + std::to_string(groups.front().size()) +
                    " cores inside one NUMA node",
                warnings);
    return groups;
  }
  const std::size_t each = n / nranks;
  const std::size_t extra = spread ? n % nranks : 0;  // the first `extra` ranks get one more
  std::vector<Group> groups(nranks);
  std::size_t at = 0;
  for (std::size_t r = 0; r < nranks; ++r) {
    const std::size_t size = each + (r < extra ? 1 : 0);
    for (std::size_t i = at; i < at + size; ++i) groups[r].push_back(i);
    at += size;
  }
  // Sizes are counted in slots here, in logical CPUs by cut(): the domains apply when every slot
  // weighs the same, and every rank is of one size (no leftover spread).
  const std::size_t per_slot = weight(slots.front());
  const bool uniform = std::all_of(slots.begin(), slots.end(),
                                   [&](const Slot& slot) { return weight(slot) == per_slot; });
  if (uniform && extra == 0 && config.domain != Domain::Numa) {
    const Sizes sizes{std::vector<unsigned>(nranks, static_cast<unsigned>(each * per_slot)), false};
    auto in_domains = cut_in_domains(slots, sizes, false, config.domain, nranks, what, warnings);
    if (!in_domains) return in_domains.error();
    groups = std::move(*in_domains);
  }
  warn_unused(
      slots, groups,
      std::to_string(n) + " cores do not split evenly into " + std::to_string(nranks) + " ranks",
      warnings);
  return groups;
}

Expected<std::vector<Group>> slice_by_count(const std::vector<Slot>& slots, const Config& config,
                                            std::vector<std::string>& warnings) {
  const std::vector<unsigned>& counts = config.ncores_per_instance;
  const std::string what = "XEONRUN_NCORES_PER_INSTANCE=" + join_sizes(counts);
  for (unsigned k : counts) {
    if (k == 0) return make_error(what + ": accepted: counts of 1 or more");
  }
  if (auto whole = check_whole_cores(slots, counts, what); !whole) return whole.error();
  const std::size_t total = total_weight(slots);
  const char* noun = plans_logical_cores(config) ? " logical CPUs" : " cores";

  Sizes sizes;
  std::uint64_t wanted = 0;  // CPUs the sizing asks for, when it asks for a fixed number of ranks
  bool fixed = false;
  if (counts.size() > 1) {
    if (config.nranks && *config.nranks != counts.size()) {
      return make_error("XEONRUN_NINSTANCES=" + std::to_string(*config.nranks) + ": " + what +
                        " lists " + std::to_string(counts.size()) +
                        " ranks; accepted: XEONRUN_NINSTANCES=" + std::to_string(counts.size()) +
                        " or unset");
    }
    sizes.list = counts;
    for (unsigned k : counts) wanted += k;
    fixed = true;
  } else if (config.nranks) {
    if (*config.nranks == 0) {
      return make_error("XEONRUN_NINSTANCES=0: accepted: 1 or more");
    }
    wanted = std::uint64_t{*config.nranks} * counts.front();
    if (wanted <= total) sizes.list.assign(*config.nranks, counts.front());
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
    std::string ask = counts.size() > 1 ? what + " asks for "
                                        : "XEONRUN_NINSTANCES=" + std::to_string(*config.nranks) +
                                              " x " + what + " asks for ";
    // run_cpu: "Please make sure ninstances * ncores_per_instance <= total_cores".
    return make_error(ask + std::to_string(wanted) + noun + " but only " + std::to_string(total) +
                      " are usable; please make sure ninstances * ncores_per_instance <= "
                      "total_cores");
  }

  bool within_nodes = config.skip_cross_node_cores;
  if (within_nodes) {
    std::size_t largest_node = 0;
    for (const Group& group : group_by_node(slots)) {
      std::size_t w = 0;
      for (std::size_t i : group) w += weight(slots[i]);
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

  const bool scattered =
      fixed && counts.size() == 1 && effective_strategy(config) == Strategy::Scatter;
  if (scattered) sizes = Sizes{{counts.front()}, true};
  // Scattered ranks are cut as run_cpu cuts them, then spread (scatter()); the others keep
  // inside XEONRUN_DOMAIN's domains where the sizes allow.
  Level level = Level::None;
  auto groups = scattered ? cut(slots, sizes, within_nodes, what)
                          : cut_in_domains(slots, sizes, within_nodes, config.domain,
                                           fixed ? sizes.list.size() : 0, what, warnings, &level);
  if (!groups) return groups.error();
  if (scattered) {
    if (groups->size() < *config.nranks) {
      return make_error(what + " with XEONRUN_SKIP_CROSS_NODE_CORES: only " +
                        std::to_string(groups->size()) + " of the " +
                        std::to_string(*config.nranks) +
                        " ranks fit inside single NUMA nodes; accepted: fewer or smaller ranks, or "
                        "XEONRUN_SKIP_CROSS_NODE_CORES=0");
    }
    *groups = scatter(slots, std::move(*groups), *config.nranks, within_nodes);
    sizes.list.assign(*config.nranks, counts.front());
  }
  if (fixed && groups->size() < sizes.list.size()) {
    // Only possible within nodes: the total fits but the nodes' leftovers cannot be combined.
    return make_error(what + " with XEONRUN_SKIP_CROSS_NODE_CORES: only " +
                      std::to_string(groups->size()) + " of the " +
                      std::to_string(sizes.list.size()) +
                      " ranks fit inside single NUMA nodes; accepted: fewer or smaller ranks, or "
                      "XEONRUN_SKIP_CROSS_NODE_CORES=0");
  }
  std::string why;
  if (within_nodes) {
    why = "XEONRUN_SKIP_CROSS_NODE_CORES leaves each node's remainder unused";
  } else if (fixed) {
    why = "the ranks asked for take " + std::to_string(wanted) + " of the " +
          std::to_string(total) + " usable" + noun;
  } else {
    why = std::to_string(total) + noun + " do not divide into ranks of " + join_sizes(counts);
  }
  if (level < Level::Numa) {
    why += std::string(", and XEONRUN_DOMAIN keeps each rank inside one ") + level_name(level) +
           " domain, leaving each domain's remainder unused";
  }
  warn_unused(slots, *groups, why, warnings);
  return groups;
}

}  // namespace xeonplace::planning
