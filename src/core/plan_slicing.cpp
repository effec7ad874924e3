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

}  // namespace

Expected<std::vector<Group>> split_evenly(const std::vector<Slot>& slots, unsigned nranks,
                                          const Config& config,
                                          std::vector<std::string>& warnings) {
  const bool within_nodes = config.skip_cross_node_cores;
  const std::string what = "XEONRUN_NINSTANCES=" + std::to_string(nranks);
  if (nranks == 0) return make_error(what + ": accepted: 1 or more");
  const std::size_t n = slots.size();
  if (nranks > n) {
    // run_cpu's message.
    return make_error(what + ": there are " + std::to_string(n) + " total cores but you specify " +
                      std::to_string(nranks) +
                      " ninstances; please make sure ninstances <= total_cores");
  }
  if (within_nodes) {
    // Always possible once nranks <= cores: ranks of one core fit anywhere.
    std::vector<Group> groups = split_within_nodes(slots, nranks);
    if (groups.size() < nranks) return make_error(what + ": accepted: 1-" + std::to_string(n));
    warn_unused(slots, groups,
                "XEONRUN_SKIP_CROSS_NODE_CORES keeps each of the " + std::to_string(nranks) +
                    " ranks of " + std::to_string(groups.front().size()) +
                    " cores inside one NUMA node",
                warnings);
    return groups;
  }
  const std::size_t each = n / nranks;
  std::vector<Group> groups(nranks);
  for (std::size_t r = 0; r < nranks; ++r) {
    for (std::size_t i = r * each; i < (r + 1) * each; ++i) groups[r].push_back(i);
  }
  // Sizes are counted in slots here, in logical CPUs by cut(): the domains apply when every slot
  // weighs the same.
  const std::size_t per_slot = weight(slots.front());
  const bool uniform = std::all_of(slots.begin(), slots.end(),
                                   [&](const Slot& slot) { return weight(slot) == per_slot; });
  if (uniform && config.domain != Domain::Numa) {
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

  Level level = Level::None;
  auto groups = cut_in_domains(slots, sizes, within_nodes, config.domain,
                               fixed ? sizes.list.size() : 0, what, warnings, &level);
  if (!groups) return groups.error();
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
