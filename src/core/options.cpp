// The XEONRUN_* table and its parse functions. Each row is the single source of a variable's name,
// default, accepted values and help; parse_config only walks the environment and dispatches.
#include "core/options.h"

#include <cstddef>
#include <string_view>

#include "core/launcher.h"
#include "core/option_values.h"

namespace xeonplace {
namespace {

// Ranks and instances share one machine: 65535 is far beyond any real machine and keeps typos
// ("40000000") from reaching the planner.
constexpr unsigned kMaxInstances = 65535;
// Linux's MAX_NUMNODES is at most 1024 (NODES_SHIFT 10).
constexpr unsigned kMaxNodes = 1024;

bool has_control_character(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

Error spec_error(const OptionSpec& spec, std::string_view value, std::string_view reason) {
  return value_error(spec.variable, value, reason, spec.accepted);
}

template <class E>
struct Choice {
  const char* text;
  E value;
};

// Choices are case-insensitive like the booleans: "Latency" is not a different wish.
template <class E, std::size_t N>
Expected<E> choose(const OptionSpec& spec, const std::string& value,
                   const Choice<E> (&choices)[N]) {
  for (const auto& choice : choices) {
    if (equals_ignore_case(value, choice.text)) return choice.value;
  }
  return spec_error(spec, value, value.empty() ? "empty value" : "unknown value");
}

template <class E, std::size_t N>
const char* name_of(E value, const Choice<E> (&choices)[N]) {
  for (const auto& choice : choices) {
    if (choice.value == value) return choice.text;
  }
  return "?";
}

constexpr Choice<Mode> kModes[] = {{"default", Mode::Default},
                                   {"latency", Mode::Latency},
                                   {"throughput", Mode::Throughput},
                                   {"multi-instance", Mode::MultiInstance}};
constexpr Choice<Allocator> kAllocators[] = {{"auto", Allocator::Auto},
                                             {"tcmalloc", Allocator::Tcmalloc},
                                             {"jemalloc", Allocator::Jemalloc},
                                             {"mimalloc", Allocator::Mimalloc},
                                             {"default", Allocator::Default}};
constexpr Choice<OmpRuntime> kOmpRuntimes[] = {{"intel", OmpRuntime::Intel},
                                               {"default", OmpRuntime::Default}};
constexpr Choice<Membind> kMembinds[] = {{"bind", Membind::Bind},
                                         {"preferred", Membind::Preferred},
                                         {"interleave", Membind::Interleave},
                                         {"none", Membind::None}};
constexpr Choice<Pin> kPins[] = {
    {"process", Pin::Process}, {"thread", Pin::Thread}, {"none", Pin::None}};
constexpr Choice<LogLevel> kLogLevels[] = {{"debug", LogLevel::Debug},
                                           {"info", LogLevel::Info},
                                           {"warn", LogLevel::Warn},
                                           {"error", LogLevel::Error},
                                           {"off", LogLevel::Off}};
constexpr Choice<OnError> kOnErrors[] = {{"abort", OnError::Abort}, {"warn", OnError::Warn}};
constexpr Choice<BindPolicy> kBindPolicies[] = {
    {"auto", BindPolicy::Auto}, {"respect", BindPolicy::Respect}, {"replace", BindPolicy::Replace}};

Expected<unsigned> integer(const OptionSpec& spec, const std::string& value, unsigned min,
                           unsigned max) {
  return parse_decimal(spec.variable, value, min, max, spec.accepted);
}

Status set_flag(const OptionSpec& spec, const std::string& value, bool& field) {
  auto parsed = parse_boolean(spec.variable, value);
  if (!parsed) return parsed.error();
  field = *parsed;
  return Unit{};
}

template <class E, std::size_t N>
Status set_choice(const OptionSpec& spec, const std::string& value, const Choice<E> (&choices)[N],
                  E& field) {
  auto parsed = choose(spec, value, choices);
  if (!parsed) return parsed.error();
  field = *parsed;
  return Unit{};
}

Status parse_rank(const OptionSpec& spec, const std::string& value, Config& config) {
  auto parsed = integer(spec, value, 0, kMaxInstances - 1);
  if (!parsed) return parsed.error();
  config.rank = *parsed;
  return Unit{};
}

Status parse_ninstances(const OptionSpec& spec, const std::string& value, Config& config) {
  auto parsed = integer(spec, value, 1, kMaxInstances);
  if (!parsed) return parsed.error();
  config.ninstances = *parsed;
  return Unit{};
}

Status parse_ncores(const OptionSpec& spec, const std::string& value, Config& config) {
  std::vector<unsigned> counts;
  std::string_view rest = value;
  while (true) {
    auto comma = rest.find(',');
    auto piece = rest.substr(0, comma);
    auto count = parse_decimal(spec.variable, piece, 1, kMaxSetId + 1, spec.accepted);
    if (!count) {
      std::string_view reason = value.empty()   ? "empty value"
                                : piece.empty() ? "empty entry in the list"
                                                : "each count must be a decimal integer 1..65536";
      return spec_error(spec, value, reason);
    }
    counts.push_back(*count);
    if (counts.size() > kMaxInstances) return spec_error(spec, value, "more than 65535 counts");
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  config.ncores_per_instance = std::move(counts);
  return Unit{};
}

Status parse_core_list(const OptionSpec& spec, const std::string& value, Config& config) {
  if (value.empty()) return spec_error(spec, value, "empty value");
  if (has_control_character(value)) return spec_error(spec, value, "control character in value");
  auto parsed = CpuSet::parse(value, spec.variable);
  if (!parsed) return parsed.error();
  config.core_list = *parsed;
  return Unit{};
}

Status parse_node_id(const OptionSpec& spec, const std::string& value, Config& config) {
  auto parsed = integer(spec, value, 0, kMaxNodes - 1);
  if (!parsed) return parsed.error();
  config.node_id = *parsed;
  return Unit{};
}

Status parse_mem_nodes(const OptionSpec& spec, const std::string& value, Config& config) {
  if (value.empty()) return spec_error(spec, value, "empty value");
  if (has_control_character(value)) return spec_error(spec, value, "control character in value");
  auto parsed = CpuSet::parse(value, spec.variable, kMaxNodes);
  if (!parsed) return parsed.error();
  config.mem_nodes = *parsed;
  return Unit{};
}

Status parse_logical(const OptionSpec& spec, const std::string& value, Config& config) {
  return set_flag(spec, value, config.use_logical_core);
}

Status parse_skip_cross(const OptionSpec& spec, const std::string& value, Config& config) {
  return set_flag(spec, value, config.skip_cross_node_cores);
}

Status parse_efficient(const OptionSpec& spec, const std::string& value, Config& config) {
  return set_flag(spec, value, config.use_efficient_cores);
}

Status parse_mode(const OptionSpec& spec, const std::string& value, Config& config) {
  return set_choice(spec, value, kModes, config.mode);
}

// A library path must be absolute: a relative one would depend on the working directory of
// whatever program the library is preloaded into.
Status check_library_path(const OptionSpec& spec, const std::string& value) {
  if (has_control_character(value)) return spec_error(spec, value, "control character in path");
  if (value.size() < 2 || value.back() == '/') return spec_error(spec, value, "not a library file");
  return Unit{};
}

Status parse_allocator(const OptionSpec& spec, const std::string& value, Config& config) {
  if (value.empty() || value[0] != '/') {
    auto status = set_choice(spec, value, kAllocators, config.allocator);
    if (status) config.allocator_path.clear();
    return status;
  }
  auto status = check_library_path(spec, value);
  if (!status) return status;
  std::string_view file = std::string_view(value).substr(value.rfind('/') + 1);
  config.allocator = Allocator::Auto;
  for (const auto& choice : kAllocators) {
    if (file.find(choice.text) != std::string_view::npos && choice.value != Allocator::Auto &&
        choice.value != Allocator::Default) {
      config.allocator = choice.value;
    }
  }
  config.allocator_path = value;
  return Unit{};
}

Status parse_omp_runtime(const OptionSpec& spec, const std::string& value, Config& config) {
  if (value.empty() || value[0] != '/') {
    auto status = set_choice(spec, value, kOmpRuntimes, config.omp_runtime);
    if (status) config.omp_runtime_path.clear();
    return status;
  }
  auto status = check_library_path(spec, value);
  if (!status) return status;
  config.omp_runtime = OmpRuntime::Intel;
  config.omp_runtime_path = value;
  return Unit{};
}

Status parse_membind(const OptionSpec& spec, const std::string& value, Config& config) {
  return set_choice(spec, value, kMembinds, config.membind);
}

Status parse_pin(const OptionSpec& spec, const std::string& value, Config& config) {
  return set_choice(spec, value, kPins, config.pin);
}

Status parse_bind_policy(const OptionSpec& spec, const std::string& value, Config& config) {
  return set_choice(spec, value, kBindPolicies, config.bind_policy);
}

Status parse_log_level(const OptionSpec& spec, const std::string& value, Config& config) {
  return set_choice(spec, value, kLogLevels, config.log_level);
}

// Empty means stderr, so a wrapper script can switch file logging off by exporting it empty.
Status parse_log_file(const OptionSpec& spec, const std::string& value, Config& config) {
  if (has_control_character(value)) return spec_error(spec, value, "control character in path");
  if (!value.empty() && value.back() == '/') return spec_error(spec, value, "a directory");
  config.log_file = value;
  return Unit{};
}

// Only the syntax: the file is read later by the topology loader, which reports its own errors.
Status parse_topology(const OptionSpec& spec, const std::string& value, Config& config) {
  if (has_control_character(value)) return spec_error(spec, value, "control character in value");
  if (!value.empty()) {
    bool known = false;
    for (std::string_view prefix : {"lscpu:", "xml:", "synthetic:"}) {
      if (value.size() > prefix.size() && value.compare(0, prefix.size(), prefix) == 0)
        known = true;
      if (value == prefix) return spec_error(spec, value, "nothing after the prefix");
    }
    if (!known) return spec_error(spec, value, "unknown topology source");
  }
  config.topology = value;
  return Unit{};
}

Status parse_dry_run(const OptionSpec& spec, const std::string& value, Config& config) {
  return set_flag(spec, value, config.dry_run);
}

Status parse_on_error(const OptionSpec& spec, const std::string& value, Config& config) {
  return set_choice(spec, value, kOnErrors, config.on_error);
}

Status parse_disable(const OptionSpec& spec, const std::string& value, Config& config) {
  return set_flag(spec, value, config.disable);
}

}  // namespace

const std::vector<OptionSpec>& option_table() {
  using T = OptionType;
  static const std::vector<OptionSpec> table = {
      {"XEONRUN_RANK", T::Integer, "the launcher's local rank", "an integer 0..65534",
       "this process's rank among the ranks sharing this machine", parse_rank},
      {"XEONRUN_NINSTANCES", T::Integer,
       "the launcher's local size, else 1 (one per NUMA node when only a rank is set)",
       "an integer 1..65535", "number of ranks sharing this machine", parse_ninstances},
      {"XEONRUN_NCORES_PER_INSTANCE", T::IntegerList, "all cores / ranks",
       "a count 1..65536, or one count per rank like 4,4,8", "cores per rank", parse_ncores},
      {"XEONRUN_CORE_LIST", T::IdList, "every allowed CPU", "a list of CPU ids like 0-3,8,10-11",
       "plan only on these CPUs", parse_core_list},
      {"XEONRUN_NODE_ID", T::Integer, "every node", "a NUMA node id 0..1023",
       "plan only on the cores of this NUMA node", parse_node_id},
      {"XEONRUN_MEM_NODES", T::IdList, "the nodes of the rank's CPUs",
       "a list of NUMA node ids like 0-1,4",
       "memory nodes for every rank, e.g. CPU-less HBM or CXL nodes", parse_mem_nodes},
      {"XEONRUN_USE_LOGICAL_CORE", T::Boolean, "0", kBooleanAccepted,
       "use SMT siblings too (ranks never share a physical core)", parse_logical},
      {"XEONRUN_SKIP_CROSS_NODE_CORES", T::Boolean, "0", kBooleanAccepted,
       "never let a rank span NUMA nodes; leftover cores stay unused", parse_skip_cross},
      {"XEONRUN_USE_EFFICIENT_CORES", T::Boolean, "0", kBooleanAccepted,
       "hybrid CPUs: plan on efficient cores too, not only performance cores", parse_efficient},
      {"XEONRUN_MODE", T::Choice, "default", "default, latency, throughput, multi-instance",
       "latency: 4 cores per rank; throughput, multi-instance: one rank per NUMA node", parse_mode},
      {"XEONRUN_ALLOCATOR", T::Choice, "auto",
       "auto, tcmalloc, jemalloc, mimalloc, default, or an absolute library path",
       "memory allocator to preload; auto: tcmalloc, else jemalloc", parse_allocator},
      {"XEONRUN_OMP_RUNTIME", T::Choice, "intel", "intel, default, or an absolute library path",
       "intel: preload libiomp5/libomp; default: the program's own OpenMP", parse_omp_runtime},
      {"XEONRUN_MEMBIND", T::Choice, "bind", "bind, preferred, interleave, none",
       "memory policy over the rank's memory nodes", parse_membind},
      {"XEONRUN_PIN", T::Choice, "process", "process, thread, none",
       "process: every thread on the rank's CPUs; thread: one CPU per new thread", parse_pin},
      {"XEONRUN_BIND_POLICY", T::Choice, "auto", "auto, respect, replace",
       "a rank its launcher already bound: respect plans inside that binding, replace over the "
       "cgroup's CPUs, auto replaces only a launcher's default binding",
       parse_bind_policy},
      {"XEONRUN_LOG_LEVEL", T::Choice, "warn", "debug, info, warn, error, off",
       "info: one line per rank saying where it was placed", parse_log_level},
      {"XEONRUN_LOG_FILE", T::Text, "stderr", "a file path; empty: stderr",
       "append log lines to this file instead of stderr", parse_log_file},
      {"XEONRUN_TOPOLOGY", T::Text, "this machine",
       "lscpu:FILE, xml:FILE, synthetic:DESC; empty: this machine",
       "plan against a described machine instead of this one", parse_topology},
      {"XEONRUN_DRY_RUN", T::Boolean, "0", kBooleanAccepted, "log the plan and change nothing",
       parse_dry_run},
      {"XEONRUN_ON_ERROR", T::Choice, "abort", "abort, warn",
       "abort: one line and a non-zero exit; warn: run unplaced", parse_on_error},
      {"XEONRUN_DISABLE", T::Boolean, "0", kBooleanAccepted,
       "do nothing at all, without checking the other variables", parse_disable},
  };
  return table;
}

const OptionSpec* find_option(const std::string& variable) {
  for (const auto& spec : option_table()) {
    if (variable == spec.variable) return &spec;
  }
  return nullptr;
}

const std::vector<OutputSpec>& output_table() {
  static const std::vector<OutputSpec> table = {
      {"XEONRUN_PLACED_RANK", "the rank this process was placed as"},
      {"XEONRUN_PLACED_NRANKS", "ranks in the plan"},
      {"XEONRUN_PLACED_CPUS", "the CPUs it was pinned to, as a list like 0-3"},
      {"XEONRUN_PLACED_MEMS", "its memory nodes, as a list like 0"},
      {"XEONRUN_PLACED_MEMBIND", "its memory policy (bind, preferred, interleave, none)"},
      {"XEONRUN_PLACED_ENV", "runtime variables holding the plan's value (OMP_...)"},
      {"XEONRUN_PLACED_LAUNCHER", "its launcher context (local rank, Slurm step)"},
      {"XEONRUN_REEXEC_*", "internal: guards the re-exec that chain-loads the libraries"},
  };
  return table;
}

bool is_output_variable(const std::string& name) {
  for (std::string_view prefix : kOutputPrefixes) {
    if (name.compare(0, prefix.size(), prefix) == 0) return true;
  }
  return false;
}

const char* closest_variable(const std::string& name) {
  const char* best = nullptr;
  std::size_t best_distance = 0;
  // No variable is longer than 40 characters: comparing a longer prefix only costs time (the
  // distance is quadratic and the name comes from an environment of any size).
  const std::string prefix = name.substr(0, 64);
  for (const auto& spec : option_table()) {
    std::size_t distance = edit_distance(prefix, spec.variable);
    if (!best || distance < best_distance) {
      best = spec.variable;
      best_distance = distance;
    }
  }
  return best;
}

const std::vector<FlagSpec>& flag_table() {
  static const std::vector<FlagSpec> table = {
      {"--ncores-per-instance", "XEONRUN_NCORES_PER_INSTANCE", nullptr, "cores per rank"},
      {"--ninstances", "XEONRUN_NINSTANCES", nullptr, "number of ranks"},
      {"--rank", "XEONRUN_RANK", nullptr, "run only this rank"},
      {"--skip-cross-node-cores", "XEONRUN_SKIP_CROSS_NODE_CORES", "1",
       "never let a rank span NUMA nodes"},
      {"--latency-mode", "XEONRUN_MODE", "latency", "4 cores per rank over all physical cores"},
      {"--throughput-mode", "XEONRUN_MODE", "throughput", "one rank per NUMA node"},
      {"--multi-instance", "XEONRUN_MODE", "multi-instance", "one rank per NUMA node by default"},
      {"--node-id", "XEONRUN_NODE_ID", nullptr, "use only this NUMA node"},
      {"--use-logical-core", "XEONRUN_USE_LOGICAL_CORE", "1", "use SMT siblings too"},
      {"--disable-numactl", "XEONRUN_MEMBIND", "none", "no memory policy"},
      {"--disable-taskset", "XEONRUN_PIN", "none", "no CPU affinity"},
      {"--core-list", "XEONRUN_CORE_LIST", nullptr, "use only these CPUs, e.g. 0-3,8"},
      {"--enable-tcmalloc", "XEONRUN_ALLOCATOR", "tcmalloc", "preload tcmalloc"},
      {"--enable-jemalloc", "XEONRUN_ALLOCATOR", "jemalloc", "preload jemalloc"},
      {"--use-default-allocator", "XEONRUN_ALLOCATOR", "default", "keep glibc malloc"},
      {"--disable-iomp", "XEONRUN_OMP_RUNTIME", "default", "do not preload Intel/LLVM OpenMP"},
      // Not run_cpu's: the variables it lacks, so a plan preview can use them too.
      {"--mem-nodes", "XEONRUN_MEM_NODES", nullptr, "memory nodes for every rank, e.g. 2-3"},
      {"--use-efficient-cores", "XEONRUN_USE_EFFICIENT_CORES", "1",
       "hybrid CPUs: efficient cores too"},
      {"--topology", "XEONRUN_TOPOLOGY", nullptr,
       "plan for lscpu:FILE, xml:FILE or synthetic:DESC"},
      {"--dry-run", "XEONRUN_DRY_RUN", "1", "print the plan, run nothing"},
  };
  return table;
}

const FlagSpec* flag_for(std::string arg) {
  // "--ncores_per_instance" is run_cpu's other spelling; only the name after "--" is rewritten.
  if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) return nullptr;
  for (std::size_t i = 2; i < arg.size(); ++i) {
    if (arg[i] == '_') arg[i] = '-';
  }
  for (const auto& flag : flag_table()) {
    if (arg == flag.flag) return &flag;
  }
  return nullptr;
}

namespace {

Error unknown_variable(const std::string& name) {
  return make_error(printable(name) + ": unknown variable; did you mean " + closest_variable(name) +
                    "? (xeonrun-spawn --help lists every XEONRUN_* variable)");
}

// rank/ninstances from the launcher when XEONRUN_* did not give them; then the range check.
Status fill_from_launcher(const EnvMap& env, Config& config) {
  std::string rank_text = "XEONRUN_RANK";
  std::string size_text = "XEONRUN_NINSTANCES";
  if (config.rank) config.rank_source.name = "XEONRUN_RANK";
  auto launcher = detect_launcher(env);
  bool needed = !config.rank || !config.ninstances;
  // A malformed launcher variable matters only when it would be used.
  if (!launcher && needed) return launcher.error();
  if (launcher && *launcher) {
    const LauncherRank& found = **launcher;
    config.rank_source.launcher = found.launcher;
    config.rank_source.launcher_binds_by_default = found.binds_by_default;
    if (!config.rank) {
      config.rank = found.local_rank;
      config.rank_source.name = found.launcher;
      rank_text = found.rank_variable;
    }
    if (!config.ninstances && found.local_size) {
      config.ninstances = found.local_size;
      size_text = found.size_variable;
    }
  }
  if (config.rank && config.ninstances && *config.rank >= *config.ninstances) {
    return make_error(rank_text + "=" + std::to_string(*config.rank) + ": rank out of range for " +
                      size_text + "=" + std::to_string(*config.ninstances) + "; accepted: 0.." +
                      std::to_string(*config.ninstances - 1));
  }
  return Unit{};
}

}  // namespace

Expected<Config> parse_config(const EnvMap& env) {
  Config config;
  // XEONRUN_DISABLE=1 is the escape hatch when everything else is wrong: it must win over errors.
  if (auto disable = lookup(env, "XEONRUN_DISABLE")) {
    auto status = parse_disable(*find_option("XEONRUN_DISABLE"), *disable, config);
    if (!status) return status.error();
    if (config.disable) return config;
  }
  static constexpr std::string_view kPrefix = "XEONRUN_";
  for (auto it = env.lower_bound(std::string(kPrefix));
       it != env.end() && it->first.compare(0, kPrefix.size(), kPrefix) == 0; ++it) {
    if (is_output_variable(it->first)) continue;
    const OptionSpec* spec = find_option(it->first);
    if (!spec) return unknown_variable(it->first);
    auto status = spec->parse(*spec, it->second, config);
    if (!status) return status.error();
  }
  auto status = fill_from_launcher(env, config);
  if (!status) return status.error();
  return config;
}

const char* to_string(Mode value) { return name_of(value, kModes); }
const char* to_string(Allocator value) { return name_of(value, kAllocators); }
const char* to_string(OmpRuntime value) { return name_of(value, kOmpRuntimes); }
const char* to_string(Membind value) { return name_of(value, kMembinds); }
const char* to_string(Pin value) { return name_of(value, kPins); }
const char* to_string(LogLevel value) { return name_of(value, kLogLevels); }
const char* to_string(OnError value) { return name_of(value, kOnErrors); }
const char* to_string(BindPolicy value) { return name_of(value, kBindPolicies); }

}  // namespace xeonplace
