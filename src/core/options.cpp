// The XEONRUN_* table. Each row is the single source of a variable's name, type, default, accepted
// values and help; one generic parser per type does the checking (mimalloc's options.c is the
// model), and parse_config only walks the environment and dispatches.
#include "core/options.h"

#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

#include "core/launcher.h"
#include "core/option_values.h"
#include "core/text.h"

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
                                         {"none", Membind::None},
                                         {"preferred-many", Membind::PreferredMany},
                                         {"weighted-interleave", Membind::WeightedInterleave}};
constexpr Choice<Pin> kPins[] = {
    {"process", Pin::Process}, {"thread", Pin::Thread}, {"none", Pin::None}};
constexpr Choice<ThreadPools> kThreadPools[] = {{"all", ThreadPools::All},
                                                {"openmp", ThreadPools::OpenMp}};
constexpr Choice<LogLevel> kLogLevels[] = {{"debug", LogLevel::Debug},
                                           {"info", LogLevel::Info},
                                           {"warn", LogLevel::Warn},
                                           {"error", LogLevel::Error},
                                           {"off", LogLevel::Off}};
constexpr Choice<OnError> kOnErrors[] = {{"abort", OnError::Abort}, {"warn", OnError::Warn}};
constexpr Choice<Threads> kThreads[] = {
    {"auto", Threads::Auto}, {"plan", Threads::Plan}, {"inherit", Threads::Inherit}};
constexpr Choice<BindPolicy> kBindPolicies[] = {
    {"auto", BindPolicy::Auto}, {"respect", BindPolicy::Respect}, {"replace", BindPolicy::Replace}};
constexpr Choice<Domain> kDomains[] = {{"auto", Domain::Auto},
                                       {"numa", Domain::Numa},
                                       {"l3", Domain::L3},
                                       {"package", Domain::Package},
                                       {"core", Domain::Core}};
constexpr Choice<Reexec> kReexecs[] = {{"auto", Reexec::Auto}, {"never", Reexec::Never}};
constexpr Choice<CpuQuotaUse> kCpuQuotaUses[] = {{"auto", CpuQuotaUse::Auto},
                                                 {"ignore", CpuQuotaUse::Ignore}};
constexpr Choice<Compat> kCompats[] = {{"run_cpu", Compat::RunCpu}, {"ipexrun", Compat::Ipexrun}};
constexpr Choice<Strategy> kStrategies[] = {
    {"auto", Strategy::Auto}, {"close", Strategy::Close}, {"scatter", Strategy::Scatter}};
constexpr Choice<Leftover> kLeftovers[] = {{"unused", Leftover::Unused},
                                           {"spread", Leftover::Spread}};

// ---- one parser per type: the value, checked against the row's parameters ----

Expected<unsigned> integer_value(const OptionSpec& spec, const std::string& value) {
  return parse_decimal(spec.variable, value, spec.min, spec.max, spec.accepted);
}

Expected<std::vector<unsigned>> integer_list_value(const OptionSpec& spec,
                                                   const std::string& value) {
  std::vector<unsigned> numbers;
  std::string_view rest = value;
  while (true) {
    auto comma = rest.find(',');
    auto piece = rest.substr(0, comma);
    auto number = parse_decimal(spec.variable, piece, spec.min, spec.max, spec.accepted);
    if (!number) {
      if (value.empty()) return spec_error(spec, value, "empty value");
      if (piece.empty()) return spec_error(spec, value, "empty entry in the list");
      return spec_error(spec, value,
                        std::string("each ") + spec.noun + " must be a decimal integer " +
                            std::to_string(spec.min) + ".." + std::to_string(spec.max));
    }
    numbers.push_back(*number);
    if (numbers.size() > spec.max_items) {
      return spec_error(spec, value,
                        "more than " + std::to_string(spec.max_items) + " " + spec.noun + "s");
    }
    if (comma == std::string_view::npos) return numbers;
    rest.remove_prefix(comma + 1);
  }
}

Expected<bool> boolean_value(const OptionSpec& spec, const std::string& value) {
  return parse_boolean(spec.variable, value);
}

// Choices are case-insensitive like the booleans: "Latency" is not a different wish.
Expected<int> choice_value(const OptionSpec& spec, const std::string& value) {
  for (const auto& choice : spec.choices) {
    if (equals_ignore_case(value, choice.text)) return choice.value;
  }
  return spec_error(spec, value, value.empty() ? "empty value" : "unknown value");
}

Expected<CpuSet> id_list_value(const OptionSpec& spec, const std::string& value) {
  if (value.empty()) return spec_error(spec, value, "empty value");
  if (has_control_character(value)) return spec_error(spec, value, "control character in value");
  return CpuSet::parse(value, spec.variable, spec.max + 1);
}

// Empty is a value: it means `unset_meaning`, so that a wrapper script can switch a setting back
// to its default by exporting it empty.
Expected<std::string> text_value(const OptionSpec& spec, const std::string& value) {
  if (has_control_character(value)) return spec_error(spec, value, "control character in value");
  return value;
}

Expected<std::string> path_value(const OptionSpec& spec, const std::string& value) {
  auto text = text_value(spec, value);
  if (text && !value.empty() && value.back() == '/') return spec_error(spec, value, "a directory");
  return text;
}

// ---- the row's hook, then its type's parser, then the store into its field ----

template <auto Field>
using FieldType = std::remove_reference_t<decltype(std::declval<Config&>().*Field)>;

template <auto Field, auto Parse>
Status parse_into(const OptionSpec& spec, const std::string& value, Config& config) {
  if (spec.hook) {
    bool stored = false;
    Status status = spec.hook(spec, value, config, stored);
    if (!status || stored) return status;
  }
  auto parsed = Parse(spec, value);
  if (!parsed) return parsed.error();
  if constexpr (std::is_enum_v<FieldType<Field>>) {
    config.*Field = static_cast<FieldType<Field>>(*parsed);
  } else {
    config.*Field = std::move(*parsed);
  }
  return Unit{};
}

// ---- row builders: each picks the type, its parser and the field together ----

struct Doc {
  const char* help;
  const char* unset_meaning = nullptr;  // for rows without a default value
};

// The type's parameters of a row (see OptionSpec).
struct Limits {
  const char* noun = nullptr;
  unsigned min = 0;
  unsigned max = 0;
  unsigned max_items = 0;
};

OptionSpec row(const char* variable, OptionType type, const char* default_value, Limits limits,
               Doc doc, decltype(OptionSpec::parse) parse) {
  return OptionSpec{variable,
                    type,
                    default_value,
                    doc.unset_meaning,
                    doc.help,
                    limits.noun,
                    limits.min,
                    limits.max,
                    limits.max_items,
                    {},
                    nullptr,
                    nullptr,
                    parse,
                    {},
                    {}};
}

template <auto Field>
OptionSpec integer(const char* variable, const char* noun, unsigned min, unsigned max, Doc doc) {
  return row(variable, OptionType::Integer, nullptr, {noun, min, max}, doc,
             parse_into<Field, integer_value>);
}

template <auto Field>
OptionSpec integer_list(const char* variable, const char* noun, unsigned min, unsigned max,
                        unsigned max_items, Doc doc) {
  return row(variable, OptionType::IntegerList, nullptr, {noun, min, max, max_items}, doc,
             parse_into<Field, integer_list_value>);
}

template <auto Field>
OptionSpec boolean(const char* variable, const char* default_value, Doc doc) {
  return row(variable, OptionType::Boolean, default_value, {}, doc,
             parse_into<Field, boolean_value>);
}

template <auto Field, class E, std::size_t N>
OptionSpec choice(const char* variable, const Choice<E> (&choices)[N], const char* default_value,
                  Doc doc) {
  OptionSpec spec =
      row(variable, OptionType::Choice, default_value, {}, doc, parse_into<Field, choice_value>);
  for (const auto& c : choices) spec.choices.push_back({c.text, static_cast<int>(c.value)});
  return spec;
}

// IdList: `max_id` is the largest id a list may hold.
template <auto Field>
OptionSpec id_list(const char* variable, const char* noun, unsigned max_id, Doc doc) {
  return row(variable, OptionType::IdList, nullptr, {noun, 0, max_id}, doc,
             parse_into<Field, id_list_value>);
}

template <auto Field>
OptionSpec text(const char* variable, const char* noun, Doc doc) {
  return row(variable, OptionType::Text, nullptr, {noun}, doc, parse_into<Field, text_value>);
}

template <auto Field>
OptionSpec path(const char* variable, const char* noun, Doc doc) {
  return row(variable, OptionType::Path, nullptr, {noun}, doc, parse_into<Field, path_value>);
}

OptionSpec also_accepting(OptionSpec spec, const char* also_accepted, OptionHook hook = nullptr) {
  spec.also_accepted = also_accepted;
  spec.hook = hook;
  return spec;
}

// ---- the hooks: what a type cannot say ----

// A library path must be absolute: a relative one would depend on the working directory of
// whatever program the library is preloaded into.
Status check_library_path(const OptionSpec& spec, const std::string& value) {
  if (has_control_character(value)) return spec_error(spec, value, "control character in path");
  if (value.size() < 2 || value.back() == '/') return spec_error(spec, value, "not a library file");
  return Unit{};
}

// XEONRUN_ALLOCATOR=/abs/path: that file, of the kind its name says; a name clears the path.
Status allocator_path(const OptionSpec& spec, const std::string& value, Config& config,
                      bool& stored) {
  if (value.empty() || value[0] != '/') {
    config.allocator_path.clear();
    return Unit{};
  }
  if (Status status = check_library_path(spec, value); !status) return status;
  std::string_view file = std::string_view(value).substr(value.rfind('/') + 1);
  config.allocator = Allocator::Auto;
  for (const auto& choice : kAllocators) {
    if (file.find(choice.text) != std::string_view::npos && choice.value != Allocator::Auto &&
        choice.value != Allocator::Default) {
      config.allocator = choice.value;
    }
  }
  config.allocator_path = value;
  stored = true;
  return Unit{};
}

// XEONRUN_OMP_RUNTIME=/abs/path: that file, as the Intel/LLVM runtime; a name clears the path.
Status omp_runtime_path(const OptionSpec& spec, const std::string& value, Config& config,
                        bool& stored) {
  if (value.empty() || value[0] != '/') {
    config.omp_runtime_path.clear();
    return Unit{};
  }
  if (Status status = check_library_path(spec, value); !status) return status;
  config.omp_runtime = OmpRuntime::Intel;
  config.omp_runtime_path = value;
  stored = true;
  return Unit{};
}

// Only the syntax: the file is read later by the topology loader, which reports its own errors.
Status topology_syntax(const OptionSpec&, const std::string& value, Config&, bool&) {
  auto parsed = parse_topology_source(value);
  if (!parsed) return parsed.error();
  return Unit{};
}

// XEONRUN_CPU_QUOTA=<count>: plan at most that many CPUs, as if the cgroup's quota said so.
Status cpu_quota_count(const OptionSpec& spec, const std::string& value, Config& config,
                       bool& stored) {
  if (value.empty() || value[0] < '0' || value[0] > '9') return Unit{};
  const Expected<unsigned> cpus =
      parse_decimal(spec.variable, value, 1, kMaxSetId + 1, spec.accepted);
  if (!cpus) return cpus.error();
  config.cpu_quota = CpuQuotaUse::Cpus;
  config.cpu_quota_cpus = *cpus;
  stored = true;
  return Unit{};
}

// ipexrun's --instance-idx: "-1" (and empty) mean every rank, as ipexrun documents.
Status all_instances(const OptionSpec&, const std::string& value, Config& config, bool& stored) {
  if (value.empty() || value == "-1") {
    config.instance_idx.reset();
    stored = true;
  }
  return Unit{};
}

// XEONRUN_THREAD_SKIP: likwid-pin's skip mask, a hexadecimal number (0x optional) of at most 64
// bits; bit i set skips the i-th thread creation (docs/design.md, helper threads).
Status thread_skip_mask(const OptionSpec& spec, const std::string& value, Config& config,
                        bool& stored) {
  std::string_view digits = value;
  stored = true;
  config.thread_skip = 0;
  if (value.empty()) return Unit{};  // a Text row: empty is its unset meaning
  if (starts_with(digits, "0x") || starts_with(digits, "0X")) digits.remove_prefix(2);
  if (digits.empty()) return spec_error(spec, value, "no hexadecimal digits");
  if (digits.size() > 16) return spec_error(spec, value, "more than 64 bits");
  std::uint64_t mask = 0;
  for (char c : digits) {
    const int digit = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                             : -1;
    if (digit < 0) return spec_error(spec, value, "not a hexadecimal number");
    mask = (mask << 4) | static_cast<unsigned>(digit);
  }
  config.thread_skip = mask;
  return Unit{};
}

// A row whose hook parses and stores the value itself (its field is not of the type's value).
Status parse_by_hook(const OptionSpec& spec, const std::string& value, Config& config) {
  bool stored = false;
  return spec.hook(spec, value, config, stored);
}

// ---- generated text ----

std::string with_article(const char* noun) {
  const char first = noun[0];
  const bool vowel = first == 'a' || first == 'e' || first == 'i' || first == 'o' || first == 'u';
  return std::string(vowel ? "an " : "a ") + noun;
}

// What a value of the row may look like, from its type and parameters.
std::string accepted_text(const OptionSpec& spec) {
  std::vector<std::string> parts;
  switch (spec.type) {
    case OptionType::Integer:
    case OptionType::IntegerList:
      parts.push_back(with_article(spec.noun) + " " + std::to_string(spec.min) + ".." +
                      std::to_string(spec.max));
      break;
    case OptionType::Boolean:
      parts.push_back(kBooleanAccepted);
      break;
    case OptionType::Choice:
      for (const auto& choice : spec.choices) parts.push_back(choice.text);
      break;
    case OptionType::IdList:
    case OptionType::Text:
    case OptionType::Path:
      if (spec.noun) parts.push_back(with_article(spec.noun));
      break;
  }
  if (spec.also_accepted) parts.push_back(spec.also_accepted);
  std::string out = join(parts, ", ");
  if (spec.type == OptionType::Text || spec.type == OptionType::Path) {
    out += std::string("; empty: ") + spec.unset_meaning;
  }
  return out;
}

OptionSpec generated(OptionSpec spec) {
  spec.accepted = accepted_text(spec);
  spec.default_text =
      spec.default_value && spec.default_value[0] != '\0' ? spec.default_value : spec.unset_meaning;
  return spec;
}

std::vector<OptionSpec> make_table() {
  std::vector<OptionSpec> rows = {
      integer<&Config::rank>("XEONRUN_RANK", "integer", 0, kMaxInstances - 1,
                             {"this process's rank among the ranks sharing this machine",
                              "the launcher's local rank"}),
      integer<&Config::nranks>(
          "XEONRUN_NINSTANCES", "integer", 1, kMaxInstances,
          {"number of ranks sharing this machine",
           "the launcher's local size, else 1 (one per NUMA node when only a rank is set)"}),
      also_accepting(integer_list<&Config::ncores_per_instance>(
                         "XEONRUN_NCORES_PER_INSTANCE", "count", 1, kMaxSetId + 1, kMaxInstances,
                         {"cores per rank", "all cores / ranks"}),
                     "or one count per rank like 4,4,8"),
      id_list<&Config::core_list>("XEONRUN_CORE_LIST", "list of CPU ids like 0-3,8,10-11",
                                  kMaxSetId, {"plan only on these CPUs", "every allowed CPU"}),
      integer<&Config::node_id>("XEONRUN_NODE_ID", "NUMA node id", 0, kMaxNodes - 1,
                                {"plan only on the cores of this NUMA node", "every node"}),
      id_list<&Config::mem_nodes>("XEONRUN_MEM_NODES", "list of NUMA node ids like 0-1,4",
                                  kMaxNodes - 1,
                                  {"memory nodes for every rank, e.g. CPU-less HBM or CXL nodes",
                                   "the nodes of the rank's CPUs"}),
      boolean<&Config::use_logical_core>(
          "XEONRUN_USE_LOGICAL_CORE", "0",
          {"use SMT siblings too (ranks never share a physical core)"}),
      boolean<&Config::skip_cross_node_cores>(
          "XEONRUN_SKIP_CROSS_NODE_CORES", "0",
          {"never let a rank span NUMA nodes; leftover cores stay unused"}),
      boolean<&Config::use_efficient_cores>(
          "XEONRUN_USE_EFFICIENT_CORES", "0",
          {"hybrid CPUs: plan on efficient cores too, not only performance cores"}),
      choice<&Config::mode>(
          "XEONRUN_MODE", kModes, "default",
          {"latency: 4 cores per rank; throughput, multi-instance: one rank per NUMA node"}),
      also_accepting(choice<&Config::allocator>(
                         "XEONRUN_ALLOCATOR", kAllocators, "auto",
                         {"memory allocator to preload; auto: tcmalloc, else jemalloc"}),
                     "or an absolute library path", allocator_path),
      also_accepting(choice<&Config::omp_runtime>(
                         "XEONRUN_OMP_RUNTIME", kOmpRuntimes, "intel",
                         {"intel: preload libiomp5/libomp; default: the program's own OpenMP"}),
                     "or an absolute library path", omp_runtime_path),
      choice<&Config::membind>(
          "XEONRUN_MEMBIND", kMembinds, "bind",
          {"memory policy over the rank's memory nodes; preferred-many: its CPU-less (HBM, CXL) "
           "nodes first, then the others (Linux 5.15+); weighted-interleave: "
           "its nodes by the kernel's node weights (Linux 6.9+)"}),
      choice<&Config::pin>(
          "XEONRUN_PIN", kPins, "process",
          {"process: every thread on the rank's CPUs; thread: one CPU per new thread"}),
      choice<&Config::thread_pools>(
          "XEONRUN_THREAD_POOLS", kThreadPools, "all",
          {"all: MKL, OpenBLAS, BLIS, numexpr, numba, TensorFlow and rayon pools get the rank's "
           "thread count too; openmp: only OMP_*/KMP_*"}),
      choice<&Config::bind_policy>(
          "XEONRUN_BIND_POLICY", kBindPolicies, "auto",
          {"a rank its launcher already bound: respect plans inside that binding, replace over "
           "the cgroup's CPUs, auto replaces only a launcher's default binding"}),
      choice<&Config::reexec>(
          "XEONRUN_REEXEC", kReexecs, "auto",
          {"auto: re-execute the program once to chain-load the allocator and OpenMP runtime; "
           "never: place without (constructors of libraries loaded first then run once)"}),
      choice<&Config::log_level>("XEONRUN_LOG_LEVEL", kLogLevels, "warn",
                                 {"info: one line per rank saying where it was placed"}),
      path<&Config::log_file>("XEONRUN_LOG_FILE", "file path",
                              {"append log lines to this file instead of stderr", "stderr"}),
      also_accepting(text<&Config::topology>(
                         "XEONRUN_TOPOLOGY", nullptr,
                         {"plan against a described machine instead of this one", "this machine"}),
                     "lscpu:FILE, xml:FILE, synthetic:DESC", topology_syntax),
      boolean<&Config::report>(
          "XEONRUN_REPORT", "0",
          {"at exit, one line per rank: CPU time, involuntary switches, CPU migrations and the "
           "share of its memory on its planned nodes"}),
      path<&Config::report_file>(
          "XEONRUN_REPORT_FILE", "file path",
          {"at exit, append each rank's report to this file as one JSON line", "no file"}),
      boolean<&Config::dry_run>("XEONRUN_DRY_RUN", "0", {"log the plan and change nothing"}),
      choice<&Config::on_error>("XEONRUN_ON_ERROR", kOnErrors, "abort",
                                {"abort: one line and a non-zero exit; warn: run unplaced"}),
      boolean<&Config::disable>("XEONRUN_DISABLE", "0",
                                {"do nothing at all, without checking the other variables"}),
      // CPU quotas, memory tiers, benchmark allocator settings (issue #15).
      also_accepting(
          choice<&Config::cpu_quota>(
              "XEONRUN_CPU_QUOTA", kCpuQuotaUses, "auto",
              {"auto: plan at most ceil(quota) CPUs when the cgroup has a CPU quota (cpu.max, "
               "cpu.cfs_quota_us); ignore: plan every allowed CPU; a count: at most that many"}),
          "or a CPU count 1..65536", cpu_quota_count),
      boolean<&Config::benchmark>(
          "XEONRUN_BENCHMARK", "0",
          {"ipexrun --benchmark's jemalloc MALLOC_CONF: freed memory is never returned (RSS only "
           "grows), metadata on huge pages"}),
      // Issue #14 (launchers, many nodes).
      choice<&Config::threads>(
          "XEONRUN_THREADS", kThreads, "auto",
          {"an inherited OMP_NUM_THREADS: inherit keeps it, plan replaces it with the plan's; "
           "auto keeps it unless it is torchrun's own default of 1"}),
      // ipexrun's inputs (issue #14); the spawner sets them from ipexrun's flags.
      choice<&Config::compat>(
          "XEONRUN_COMPAT", kCompats, "run_cpu",
          {"ipexrun: scatter by default, one PU per listed core, GNU OpenMP gets "
           "OMP_SCHEDULE=STATIC "
           "and OMP_PROC_BIND=CLOSE, XEONRUN_PIN=none binds through the OpenMP runtime"}),
      choice<&Config::strategy>(
          "XEONRUN_STRATEGY", kStrategies, "auto",
          {"fewer ranks than fit: close packs them, scatter spreads them over the cores and nodes; "
           "auto: close (run_cpu), scatter (XEONRUN_COMPAT=ipexrun)"}),
      choice<&Config::leftover_cores>(
          "XEONRUN_LEFTOVER_CORES", kLeftovers, "unused",
          {"cores the ranks do not divide: unused, or spread one each over the first ranks"}),
      id_list<&Config::nodes_list>(
          "XEONRUN_NODES_LIST", "list of NUMA node ids like 0,2-3", kMaxNodes - 1,
          {"plan only on the cores of these NUMA nodes (ipexrun's --nodes-list)", "every node"}),
      also_accepting(
          id_list<&Config::instance_idx>(
              "XEONRUN_INSTANCE_IDX", "list of ranks like 0,2-3", kMaxInstances - 1,
              {"start only these ranks of the plan (ipexrun's --instance-idx)", "every rank"}),
          "or -1 for every rank", all_instances),
      // Issue #15: cache domains, helper cores and helper threads (docs/design.md).
      choice<&Config::domain>(
          "XEONRUN_DOMAIN", kDomains, "auto",
          {"what ranks are cut by: a rank never straddles an l3 (last-level cache), numa, package "
           "or core domain when sizes allow; auto: the smallest domain holding whole ranks without "
           "leftovers, else numa; throughput mode gives one rank per domain"}),
      integer<&Config::helper_cores>(
          "XEONRUN_HELPER_CORES", "count", 0, kMaxSetId,
          {"cores per rank (its last ones) kept for helper threads: not in OMP_NUM_THREADS, "
           "exported as CCL_WORKER_COUNT and CCL_WORKER_AFFINITY",
           "0"}),
      also_accepting(
          row("XEONRUN_THREAD_SKIP", OptionType::Text, nullptr, {"hexadecimal mask like 0x1"},
              {"XEONRUN_PIN=thread: bit i skips the i-th pthread_create (likwid-pin's "
               "skip mask); skipped threads run on the helper cores, else the rank's",
               "0x0, no thread skipped"},
              parse_by_hook),
          nullptr, thread_skip_mask),
  };
  for (auto& spec : rows) spec = generated(std::move(spec));
  return rows;
}

}  // namespace

// The defaults live in the rows and a Config is made from them, rather than the rows' text being
// made from Config's initialisers: a reader of the table sees each variable's default next to its
// type and accepted values, and the one parser that checks user values also checks the defaults
// (a unit test parses each of them).
Config::Config() {
  for (const auto& spec : option_table()) {
    if (spec.default_value) (void)spec.parse(spec, spec.default_value, *this);
  }
}

const std::vector<OptionSpec>& option_table() {
  static const std::vector<OptionSpec> table = make_table();
  return table;
}

Expected<TopologySource> parse_topology_source(const std::string& value) {
  static constexpr const char* kVariable = "XEONRUN_TOPOLOGY";
  const std::string& accepted = find_option(kVariable)->accepted;
  if (value.empty()) return TopologySource{};
  struct Prefix {
    const char* text;
    TopologySource::Kind kind;
    const char* argument;
  };
  static constexpr Prefix kPrefixes[] = {
      {"lscpu:", TopologySource::Kind::Lscpu, "a file name"},
      {"xml:", TopologySource::Kind::Xml, "a file name"},
      {"synthetic:", TopologySource::Kind::Synthetic, "a description"}};
  for (const auto& prefix : kPrefixes) {
    if (!starts_with(value, prefix.text)) continue;
    std::string argument = value.substr(std::string_view(prefix.text).size());
    if (argument.empty()) {
      std::string kind(prefix.text, std::string_view(prefix.text).size() - 1);
      return value_error(kVariable, value,
                         kind + ": needs " + prefix.argument + ", nothing after the prefix",
                         accepted);
    }
    return TopologySource{prefix.kind, std::move(argument)};
  }
  return value_error(kVariable, value, "unknown topology source", accepted);
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
      {"XEONRUN_PLACED_CPUS",
       "the CPUs it runs on, as a list like 0-3 (the affinity in force when pinning was refused "
       "or a wrapper narrowed it)"},
      {"XEONRUN_PLACED_MEMS", "its memory nodes, as a list like 0"},
      {"XEONRUN_PLACED_HELPER_CPUS",
       "the CPUs of its helper cores (XEONRUN_HELPER_CORES), a subset of XEONRUN_PLACED_CPUS"},
      {"XEONRUN_PLACED_MEMBIND",
       "its memory policy (bind, preferred, interleave, none: none when the kernel refused it)"},
      {"XEONRUN_PLACED_ENV", "runtime variables holding the plan's value (OMP_...)"},
      {"XEONRUN_PLACED_LAUNCHER", "its launcher context (local rank, Slurm step)"},
      {"XEONRUN_PLACED_INPUTS",
       "fingerprint of its placement inputs: a child with other inputs is placed again"},
      {"XEONRUN_PLACED_SCOPE", "the CPUs its plan was made over, where a child's new plan starts"},
      {"XEONRUN_PLACEMENT",
       "internal: a placement handed over by xeonrun-spawn or a re-exec, applied as it is"},
      {"XEONRUN_REEXEC_*", "internal: guards the re-exec that chain-loads the libraries"},
  };
  return table;
}

bool is_output_variable(const std::string& name) {
  // Not an option either: a decision's handoff, parsed by core/decision.
  if (name == "XEONRUN_PLACEMENT") return true;
  for (std::string_view prefix : kOutputPrefixes) {
    if (starts_with(name, prefix)) return true;
  }
  return false;
}

const char* closest_variable(const std::string& name) {
  std::vector<std::string_view> names;
  for (const auto& spec : option_table()) names.push_back(spec.variable);
  return option_table()[closest(name, names).value_or(0)].variable;
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
      {"--threads", "XEONRUN_THREADS", nullptr,
       "plan: the plan's thread count wins over an inherited one"},
      {"--report", "XEONRUN_REPORT", "1",
       "when the ranks end: a report line per rank (CPU time, switches, migrations, local pages)"},
      {"--report-file", "XEONRUN_REPORT_FILE", nullptr,
       "append each rank's report to this file as a JSON line"},
      // ipexrun's inputs under run_cpu's command line (issue #14).
      {"--strategy", "XEONRUN_STRATEGY", nullptr, "fewer ranks than fit: close or scatter"},
      {"--leftover-cores", "XEONRUN_LEFTOVER_CORES", nullptr,
       "cores the ranks do not divide: unused or spread"},
      {"--nodes-list", "XEONRUN_NODES_LIST", nullptr, "use only these NUMA nodes, e.g. 0,2-3"},
      {"--instance-idx", "XEONRUN_INSTANCE_IDX", nullptr, "start only these ranks, e.g. 0,2-3"},
      // Issue #15: cache domains, helper cores and helper threads.
      {"--domain", "XEONRUN_DOMAIN", nullptr, "cut ranks by auto, numa, l3, package or core"},
      {"--helper-cores", "XEONRUN_HELPER_CORES", nullptr, "cores per rank for helper threads"},
      {"--thread-skip", "XEONRUN_THREAD_SKIP", nullptr, "thread creations not pinned, e.g. 0x1"},
  };
  return table;
}

const FlagSpec* flag_for(std::string arg) {
  // "--ncores_per_instance" is run_cpu's other spelling; only the name after "--" is rewritten.
  if (arg.size() < 3 || !starts_with(arg, "--")) return nullptr;
  const std::string name = dash_spelling(arg);
  for (const auto& flag : flag_table()) {
    if (name == flag.flag) return &flag;
  }
  return nullptr;
}

namespace {

Error unknown_variable(const std::string& name) {
  return make_error(printable(name) + ": unknown variable; did you mean " + closest_variable(name) +
                    "? (xeonrun-spawn --help lists every XEONRUN_* variable)");
}

// rank/nranks from the launcher when XEONRUN_* did not give them; then the range check.
Status fill_from_launcher(const EnvMap& env, Config& config) {
  std::string rank_text = "XEONRUN_RANK";
  std::string size_text = "XEONRUN_NINSTANCES";
  if (config.rank) config.rank_source.name = "XEONRUN_RANK";
  auto launcher = detect_launcher(env);
  bool needed = !config.rank || !config.nranks;
  // A malformed launcher variable matters only when it would be used.
  if (!launcher && needed) return launcher.error();
  if (launcher && *launcher) {
    const LauncherRank& found = **launcher;
    config.rank_source.launcher = found.launcher;
    config.rank_source.launcher_binds_by_default = found.binds_by_default;
    if (!config.rank) {
      config.rank = found.local_rank;
      config.rank_source.name = to_string(found.launcher);
      rank_text = found.rank_variable;
    }
    if (!config.nranks && found.local_nranks) {
      config.nranks = found.local_nranks;
      size_text = found.size_variable;
    }
  }
  if (config.rank && config.nranks && *config.rank >= *config.nranks) {
    return make_error(rank_text + "=" + std::to_string(*config.rank) + ": rank out of range for " +
                      size_text + "=" + std::to_string(*config.nranks) + "; accepted: 0.." +
                      std::to_string(*config.nranks - 1));
  }
  return Unit{};
}

}  // namespace

Expected<Config> parse_config(const EnvMap& env) {
  Config config;
  // XEONRUN_DISABLE=1 is the escape hatch when everything else is wrong: it must win over errors.
  if (auto disable = lookup(env, "XEONRUN_DISABLE")) {
    const OptionSpec& spec = *find_option("XEONRUN_DISABLE");
    auto status = spec.parse(spec, *disable, config);
    if (!status) return status.error();
    if (config.disable) return config;
  }
  static constexpr std::string_view kPrefix = "XEONRUN_";
  for (auto it = env.lower_bound(std::string(kPrefix));
       it != env.end() && starts_with(it->first, kPrefix); ++it) {
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
const char* to_string(ThreadPools value) { return name_of(value, kThreadPools); }
const char* to_string(LogLevel value) { return name_of(value, kLogLevels); }
const char* to_string(OnError value) { return name_of(value, kOnErrors); }
const char* to_string(Reexec value) { return name_of(value, kReexecs); }
const char* to_string(BindPolicy value) { return name_of(value, kBindPolicies); }
const char* to_string(CpuQuotaUse value) { return name_of(value, kCpuQuotaUses); }
const char* to_string(Threads value) { return name_of(value, kThreads); }
const char* to_string(Compat value) { return name_of(value, kCompats); }
const char* to_string(Strategy value) { return name_of(value, kStrategies); }
const char* to_string(Leftover value) { return name_of(value, kLeftovers); }

Strategy effective_strategy(const Config& config) {
  if (config.strategy != Strategy::Auto) return config.strategy;
  return config.compat == Compat::Ipexrun ? Strategy::Scatter : Strategy::Close;
}
const char* to_string(Domain value) { return name_of(value, kDomains); }

}  // namespace xeonplace
