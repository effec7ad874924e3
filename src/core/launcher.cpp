#include "core/launcher.h"

#include <cstdint>
#include <string_view>

#include "core/option_values.h"

namespace xeonplace {
namespace {

// 65535 ranks on one machine is far beyond any real node; the bound turns typos into errors.
constexpr unsigned kMaxLocalRanks = 65535;

std::string rank_accepted(const char* launcher) {
  return std::string("an integer 0..") + std::to_string(kMaxLocalRanks - 1) + " (set by " +
         launcher + ")";
}

std::string size_accepted(const char* launcher) {
  return std::string("an integer 1..") + std::to_string(kMaxLocalRanks) + " (set by " + launcher +
         ")";
}

// Reads `variable` as a local rank (0-based) or local size (>= 1) set by `launcher`.
Expected<std::optional<unsigned>> read_count(const EnvMap& env, const char* variable,
                                             const char* launcher, bool is_size) {
  auto text = lookup(env, variable);
  if (!text) return std::optional<unsigned>{};
  auto value = is_size
                   ? parse_decimal(variable, *text, 1, kMaxLocalRanks, size_accepted(launcher))
                   : parse_decimal(variable, *text, 0, kMaxLocalRanks - 1, rank_accepted(launcher));
  if (!value) return value.error();
  return std::optional<unsigned>{*value};
}

// A launcher that announces both numbers in two plain variables (SizeSource::Pair), or only the
// rank (SizeSource::None: the size stays unknown).
Expected<std::optional<LauncherRank>> detect_pair(const EnvMap& env, const LauncherSpec& l) {
  auto rank = read_count(env, l.rank_variable, l.name, false);
  if (!rank) return rank.error();
  if (!*rank) return std::optional<LauncherRank>{};
  LauncherRank result;
  result.launcher = l.id;
  result.local_rank = **rank;
  result.binds_by_default = l.binds_by_default;
  result.rank_variable = l.rank_variable;
  if (l.size_variable == nullptr) return std::optional<LauncherRank>{result};
  auto size = read_count(env, l.size_variable, l.name, true);
  if (!size) return size.error();
  result.local_nranks = *size;
  if (*size) result.size_variable = l.size_variable;
  return std::optional<LauncherRank>{result};
}

// Flux gives no local size; FLUX_JOB_SIZE counts the tasks of the whole job, which are the local
// ones only on a one-node job (flux-core src/shell/task.c, docs/launchers.md).
Expected<std::optional<LauncherRank>> detect_flux(const EnvMap& env, const LauncherSpec& l) {
  auto found = detect_pair(env, l);
  if (!found || !*found) return found;
  if (lookup(env, "FLUX_JOB_NNODES") != std::optional<std::string>{"1"}) return found;
  auto size = read_count(env, "FLUX_JOB_SIZE", l.name, true);
  if (!size) return size.error();
  (*found)->local_nranks = *size;
  if (*size) (*found)->size_variable = "FLUX_JOB_SIZE";
  return found;
}

// torchrun and DeepSpeed's launcher share LOCAL_RANK; torchrun sets LOCAL_WORLD_SIZE, DeepSpeed's
// launch.py LOCAL_SIZE. torchrun is the one unless only DeepSpeed's size is present.
bool is_deepspeeds_local_rank(const EnvMap& env, const LauncherSpec& l) {
  return l.id == Launcher::Torchrun && !lookup(env, "LOCAL_WORLD_SIZE") &&
         lookup(env, "LOCAL_SIZE");
}

constexpr const char* kSlurmTasksAccepted = "task counts like 2(x3),1 (set by Slurm)";

// One "count" or "count(xrepeat)" entry of a Slurm tasks-per-node list.
struct SlurmEntry {
  unsigned count = 0;
  unsigned repeat = 1;
};

std::optional<unsigned> leading_decimal(std::string_view& text) {
  std::size_t digits = 0;
  std::uint64_t value = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    value = value * 10 + static_cast<unsigned>(text[digits] - '0');
    if (value > kMaxLocalRanks) return std::nullopt;
    ++digits;
  }
  if (digits == 0 || value == 0) return std::nullopt;
  text.remove_prefix(digits);
  return static_cast<unsigned>(value);
}

std::optional<SlurmEntry> parse_slurm_entry(std::string_view text) {
  SlurmEntry entry;
  auto count = leading_decimal(text);
  if (!count) return std::nullopt;
  entry.count = *count;
  if (text.empty()) return entry;
  if (text.substr(0, 2) != "(x") return std::nullopt;
  text.remove_prefix(2);
  auto repeat = leading_decimal(text);
  if (!repeat || text != ")") return std::nullopt;
  entry.repeat = *repeat;
  return entry;
}

Expected<std::optional<unsigned>> slurm_nodes_in(const std::string& tasks_per_node,
                                                 const std::string& variable);

// Slurm gives the local size only as a per-node list ("2(x3),1") to index by SLURM_NODEID.
Expected<std::optional<LauncherRank>> detect_slurm(const EnvMap& env, const LauncherSpec& l) {
  auto rank = read_count(env, l.rank_variable, l.name, false);
  if (!rank) return rank.error();
  if (!*rank) return std::optional<LauncherRank>{};
  LauncherRank result;
  result.launcher = l.id;
  result.local_rank = **rank;
  result.binds_by_default = l.binds_by_default;
  result.rank_variable = l.rank_variable;

  std::optional<unsigned> node_id;
  if (auto text = lookup(env, "SLURM_NODEID")) {
    auto id = parse_decimal("SLURM_NODEID", *text, 0, kMaxLocalRanks * 16u,
                            "a node index 0..1048560 (set by Slurm)");
    if (!id) return id.error();
    node_id = *id;
  }
  for (const char* variable : {"SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"}) {
    auto list = lookup(env, variable);
    if (!list) continue;
    auto nodes = slurm_nodes_in(*list, variable);
    if (!nodes) return nodes.error();
    // Without SLURM_NODEID only a one-node list says which entry is ours.
    if (!node_id && **nodes != 1) return std::optional<LauncherRank>{result};
    auto size = slurm_tasks_on_node(*list, node_id.value_or(0), variable);
    if (!size) return size.error();
    result.local_nranks = *size;
    result.size_variable = variable;
    return std::optional<LauncherRank>{result};
  }
  // SLURM_NTASKS counts the tasks of the whole step: the local size only on a one-node step.
  if (lookup(env, "SLURM_NNODES") == std::optional<std::string>{"1"}) {
    auto size = read_count(env, "SLURM_NTASKS", "Slurm", true);
    if (!size) return size.error();
    result.local_nranks = *size;
    if (*size) result.size_variable = "SLURM_NTASKS";
  }
  return std::optional<LauncherRank>{result};
}

// Number of nodes the list describes, after validating its syntax.
Expected<std::optional<unsigned>> slurm_nodes_in(const std::string& tasks_per_node,
                                                 const std::string& variable) {
  std::uint64_t nodes = 0;
  std::string_view rest = tasks_per_node;
  while (true) {
    auto comma = rest.find(',');
    auto entry = parse_slurm_entry(rest.substr(0, comma));
    if (!entry) {
      return value_error(variable, tasks_per_node, "malformed task count list",
                         kSlurmTasksAccepted);
    }
    nodes += entry->repeat;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (nodes > kMaxLocalRanks * 16ull) {
    return value_error(variable, tasks_per_node, "too many nodes", kSlurmTasksAccepted);
  }
  return std::optional<unsigned>{static_cast<unsigned>(nodes)};
}

}  // namespace

Expected<unsigned> slurm_tasks_on_node(const std::string& tasks_per_node, unsigned node_id,
                                       const std::string& variable) {
  auto nodes = slurm_nodes_in(tasks_per_node, variable);
  if (!nodes) return nodes.error();
  if (node_id >= **nodes) {
    return make_error("SLURM_NODEID=" + std::to_string(node_id) + ": no entry in " + variable +
                      "=" + tasks_per_node + "; accepted: 0.." + std::to_string(**nodes - 1));
  }
  std::string_view rest = tasks_per_node;
  std::uint64_t first_node = 0;
  while (true) {
    auto comma = rest.find(',');
    auto entry = parse_slurm_entry(rest.substr(0, comma));  // validated above
    if (node_id < first_node + entry->repeat) return entry->count;
    first_node += entry->repeat;
    rest.remove_prefix(comma + 1);
  }
}

Expected<std::optional<LauncherRank>> detect_launcher(const EnvMap& env) {
  for (const auto& launcher : kLaunchers) {
    if (is_deepspeeds_local_rank(env, launcher)) continue;
    Expected<std::optional<LauncherRank>> found = std::optional<LauncherRank>{};
    switch (launcher.size_source) {
      case SizeSource::Slurm:
        found = detect_slurm(env, launcher);
        break;
      case SizeSource::Flux:
        found = detect_flux(env, launcher);
        break;
      case SizeSource::Pair:
      case SizeSource::None:
        found = detect_pair(env, launcher);
        break;
    }
    if (!found || *found) return found;
  }
  return std::optional<LauncherRank>{};
}

const char* to_string(Launcher launcher) {
  for (const LauncherSpec& spec : kLaunchers) {
    if (spec.id == launcher) return spec.name;
  }
  return "";
}

}  // namespace xeonplace
