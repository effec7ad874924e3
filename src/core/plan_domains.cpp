#include "core/plan_domains.h"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

namespace xeonplace::planning {
namespace {

using Key = std::tuple<unsigned, bool, unsigned, unsigned>;

// A slot's domain at a level. Levels below Numa nest inside the slot's NUMA locality.
Key domain_key(const Slot& slot, Level level) {
  const auto [node, borrowed, package] = locality(slot);
  switch (level) {
    case Level::Core:
      return {node, borrowed, package, slot.core};
    case Level::L3:
      return {node, borrowed, package, slot.l3.value_or(0)};
    case Level::Numa:
      return {node, borrowed, package, 0};
    case Level::Package:
      return {slot.package, false, 0, 0};
    case Level::None:
      break;
  }
  return {0, false, 0, 0};
}

bool level_known(const std::vector<Slot>& slots, Level level) {
  if (level != Level::L3) return true;
  return !slots.empty() &&
         std::all_of(slots.begin(), slots.end(), [](const Slot& s) { return s.l3.has_value(); });
}

Level level_of(Domain domain) {
  switch (domain) {
    case Domain::Core:
      return Level::Core;
    case Domain::L3:
      return Level::L3;
    case Domain::Package:
      return Level::Package;
    case Domain::Auto:
    case Domain::Numa:
      break;
  }
  return Level::Numa;
}

// Weight (logical CPUs) of each run of a level.
std::vector<std::size_t> run_weights(const std::vector<Slot>& slots,
                                     const std::vector<unsigned>& runs) {
  std::vector<std::size_t> weights;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (i == 0 || runs[i] != runs[i - 1]) weights.push_back(0);
    weights.back() += weight(slots[i]);
  }
  return weights;
}

// Auto: the finest level whose every domain holds a whole number of ranks of every size.
std::optional<Level> level_without_leftovers(const std::vector<Slot>& slots, const Sizes& sizes) {
  for (Level level : {Level::Core, Level::L3, Level::Numa, Level::Package}) {
    if (!level_known(slots, level)) continue;
    const std::vector<std::size_t> weights = run_weights(slots, domain_runs(slots, level));
    const bool whole = std::all_of(weights.begin(), weights.end(), [&](std::size_t w) {
      return std::all_of(sizes.list.begin(), sizes.list.end(),
                         [&](unsigned k) { return k > 0 && w >= k && w % k == 0; });
    });
    if (whole) return level;
  }
  return std::nullopt;
}

// The levels to try, finest first, ending with the one run_cpu's arithmetic uses (`baseline`).
std::vector<Level> levels_to_try(const std::vector<Slot>& slots, const Sizes& sizes, Domain domain,
                                 Level baseline, std::vector<std::string>& warnings) {
  std::vector<Level> levels;
  if (domain == Domain::Auto) {
    std::optional<Level> level = level_without_leftovers(slots, sizes);
    if (level && *level < baseline) levels.push_back(*level);
  } else if (domain != Domain::Numa) {
    const Level first = level_of(domain);
    if (!level_known(slots, first)) {
      warnings.push_back(std::string("XEONRUN_DOMAIN=") + to_string(domain) +
                         ": the topology describes no L3 caches; ranks are cut as with numa");
    } else {
      for (Level level : {Level::Core, Level::L3, Level::Numa, Level::Package}) {
        if (level >= first && level < baseline) levels.push_back(level);
      }
    }
  }
  levels.push_back(baseline);
  return levels;
}

}  // namespace

const char* level_name(Level level) {
  switch (level) {
    case Level::Core:
      return "core";
    case Level::L3:
      return "L3";
    case Level::Numa:
      return "NUMA node";
    case Level::Package:
      return "package";
    case Level::None:
      break;
  }
  return "machine";
}

std::vector<unsigned> domain_runs(const std::vector<Slot>& slots, Level level) {
  std::vector<unsigned> runs(slots.size(), 0);
  for (std::size_t i = 1; i < slots.size(); ++i) {
    const bool same =
        level == Level::None || domain_key(slots[i], level) == domain_key(slots[i - 1], level);
    runs[i] = runs[i - 1] + (same ? 0 : 1);
  }
  return runs;
}

std::vector<Group> group_by_domain(const std::vector<Slot>& slots, Level level) {
  if (level == Level::Numa) return group_by_node(slots);
  std::map<Key, Group> by_domain;
  for (std::size_t i = 0; i < slots.size(); ++i)
    by_domain[domain_key(slots[i], level)].push_back(i);
  std::vector<Group> groups;
  groups.reserve(by_domain.size());
  for (auto& entry : by_domain) groups.push_back(std::move(entry.second));
  return groups;
}

Level grouping_level(const std::vector<Slot>& slots, Domain domain,
                     std::vector<std::string>& warnings) {
  const Level level = level_of(domain);
  if (level_known(slots, level)) return level;
  warnings.push_back(std::string("XEONRUN_DOMAIN=") + to_string(domain) +
                     ": the topology describes no L3 caches; one rank per NUMA node instead");
  return Level::Numa;
}

Expected<std::vector<Group>> cut_in_domains(const std::vector<Slot>& slots, const Sizes& sizes,
                                            bool within_nodes, Domain domain, std::size_t wanted,
                                            const std::string& what,
                                            std::vector<std::string>& warnings, Level* used) {
  const Level baseline = within_nodes ? Level::Numa : Level::None;
  const std::vector<Level> levels = levels_to_try(slots, sizes, domain, baseline, warnings);
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const bool last = i + 1 == levels.size();
    std::vector<unsigned> runs;
    if (levels[i] != Level::None) runs = domain_runs(slots, levels[i]);
    auto groups = cut_in_runs(slots, sizes, runs, what);
    if (!groups) return groups;
    if (last || groups->size() >= std::max<std::size_t>(wanted, 1)) {
      if (used != nullptr) *used = levels[i];
      return groups;
    }
    if (domain != Domain::Auto) {
      warnings.push_back(
          std::string("XEONRUN_DOMAIN=") + to_string(domain) + ": " + what +
          " does not fit inside single " + level_name(levels[i]) + " domains; " +
          (levels[i + 1] == Level::None
               ? std::string("ranks are cut as run_cpu cuts them")
               : std::string("ranks are cut by ") + level_name(levels[i + 1]) + " instead"));
    }
  }
  return make_error("internal error: no level to cut " + what + " by");
}

std::string domain_of(const Topology& topology, const CpuSet& cpus) {
  std::optional<unsigned> l3, node, package;
  bool same_l3 = true, same_node = true, same_package = true, first = true;
  for (unsigned cpu : cpus.ids()) {
    const Pu* pu = find_pu(topology, cpu);
    if (pu == nullptr) return "machine";
    if (first) {
      l3 = pu->l3;
      node = pu->node;
      package = pu->package;
      first = false;
      continue;
    }
    same_l3 = same_l3 && pu->l3 && l3 && *pu->l3 == *l3;
    same_node = same_node && pu->node == *node;
    same_package = same_package && pu->package == *package;
  }
  if (first) return "machine";
  if (same_l3 && same_node && l3) return "l3:" + std::to_string(*l3);
  if (same_node) return "numa:" + std::to_string(*node);
  if (same_package) return "package:" + std::to_string(*package);
  return "machine";
}

}  // namespace xeonplace::planning
