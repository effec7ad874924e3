// The XEONRUN_* table: every variable's good and bad values, the error shape, the launcher
// fallback, the flags and the generated documentation.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/launcher.h"
#include "core/options.h"

namespace xeonplace {
namespace {

Config parse_ok(const EnvMap& env) {
  auto config = parse_config(env);
  EXPECT_TRUE(config.ok()) << (config.ok() ? "" : config.error().message);
  return config.ok() ? *config : Config{};
}

std::string parse_error(const EnvMap& env) {
  auto config = parse_config(env);
  EXPECT_FALSE(config.ok());
  return config.ok() ? std::string() : config.error().message;
}

struct GoodValue {
  const char* variable;
  const char* value;
  std::function<bool(const Config&)> holds;
};

std::vector<GoodValue> good_values() {
  return {
      {"XEONRUN_RANK", "0", [](const Config& c) { return c.rank == 0u; }},
      {"XEONRUN_RANK", "65534", [](const Config& c) { return c.rank == 65534u; }},
      {"XEONRUN_RANK", "007", [](const Config& c) { return c.rank == 7u; }},
      {"XEONRUN_NINSTANCES", "1", [](const Config& c) { return c.nranks == 1u; }},
      {"XEONRUN_NINSTANCES", "65535", [](const Config& c) { return c.nranks == 65535u; }},
      {"XEONRUN_NCORES_PER_INSTANCE", "4",
       [](const Config& c) { return c.ncores_per_instance == std::vector<unsigned>{4}; }},
      {"XEONRUN_NCORES_PER_INSTANCE", "4,4,8",
       [](const Config& c) {
         return c.ncores_per_instance == std::vector<unsigned>{4, 4, 8};
       }},
      {"XEONRUN_CORE_LIST", "0-3,8,10-11",
       [](const Config& c) { return c.core_list == CpuSet{0, 1, 2, 3, 8, 10, 11}; }},
      {"XEONRUN_CORE_LIST", "5", [](const Config& c) { return c.core_list == CpuSet{5}; }},
      {"XEONRUN_NODE_ID", "0", [](const Config& c) { return c.node_id == 0u; }},
      {"XEONRUN_NODE_ID", "15", [](const Config& c) { return c.node_id == 15u; }},
      {"XEONRUN_NODE_ID", "1023", [](const Config& c) { return c.node_id == 1023u; }},
      {"XEONRUN_MEM_NODES", "2-3",
       [](const Config& c) {
         return c.mem_nodes == CpuSet{2, 3};
       }},
      {"XEONRUN_MEM_NODES", "0,12",
       [](const Config& c) {
         return c.mem_nodes == CpuSet{0, 12};
       }},
      {"XEONRUN_USE_LOGICAL_CORE", "1", [](const Config& c) { return c.use_logical_core; }},
      {"XEONRUN_USE_LOGICAL_CORE", "off", [](const Config& c) { return !c.use_logical_core; }},
      {"XEONRUN_SKIP_CROSS_NODE_CORES", "yes",
       [](const Config& c) { return c.skip_cross_node_cores; }},
      {"XEONRUN_USE_EFFICIENT_CORES", "TRUE",
       [](const Config& c) { return c.use_efficient_cores; }},
      {"XEONRUN_MODE", "latency", [](const Config& c) { return c.mode == Mode::Latency; }},
      {"XEONRUN_MODE", "throughput", [](const Config& c) { return c.mode == Mode::Throughput; }},
      {"XEONRUN_MODE", "multi-instance",
       [](const Config& c) { return c.mode == Mode::MultiInstance; }},
      {"XEONRUN_MODE", "default", [](const Config& c) { return c.mode == Mode::Default; }},
      {"XEONRUN_MODE", "Latency", [](const Config& c) { return c.mode == Mode::Latency; }},
      {"XEONRUN_ALLOCATOR", "jemalloc",
       [](const Config& c) {
         return c.allocator == Allocator::Jemalloc && c.allocator_path.empty();
       }},
      {"XEONRUN_ALLOCATOR", "tcmalloc",
       [](const Config& c) { return c.allocator == Allocator::Tcmalloc; }},
      {"XEONRUN_ALLOCATOR", "mimalloc",
       [](const Config& c) { return c.allocator == Allocator::Mimalloc; }},
      {"XEONRUN_ALLOCATOR", "default",
       [](const Config& c) { return c.allocator == Allocator::Default; }},
      {"XEONRUN_ALLOCATOR", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
       [](const Config& c) {
         return c.allocator == Allocator::Jemalloc &&
                c.allocator_path == "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
       }},
      {"XEONRUN_ALLOCATOR", "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
       [](const Config& c) { return c.allocator == Allocator::Tcmalloc; }},
      {"XEONRUN_ALLOCATOR", "/opt/custom/libmyalloc.so",
       [](const Config& c) {
         return c.allocator == Allocator::Auto && c.allocator_path == "/opt/custom/libmyalloc.so";
       }},
      {"XEONRUN_OMP_RUNTIME", "default",
       [](const Config& c) { return c.omp_runtime == OmpRuntime::Default; }},
      {"XEONRUN_OMP_RUNTIME", "intel",
       [](const Config& c) { return c.omp_runtime == OmpRuntime::Intel; }},
      {"XEONRUN_OMP_RUNTIME", "/usr/lib/x86_64-linux-gnu/libomp.so.5",
       [](const Config& c) {
         return c.omp_runtime == OmpRuntime::Intel &&
                c.omp_runtime_path == "/usr/lib/x86_64-linux-gnu/libomp.so.5";
       }},
      {"XEONRUN_MEMBIND", "interleave",
       [](const Config& c) { return c.membind == Membind::Interleave; }},
      {"XEONRUN_MEMBIND", "preferred",
       [](const Config& c) { return c.membind == Membind::Preferred; }},
      {"XEONRUN_MEMBIND", "none", [](const Config& c) { return c.membind == Membind::None; }},
      {"XEONRUN_PIN", "thread", [](const Config& c) { return c.pin == Pin::Thread; }},
      {"XEONRUN_PIN", "none", [](const Config& c) { return c.pin == Pin::None; }},
      {"XEONRUN_THREAD_POOLS", "openmp",
       [](const Config& c) { return c.thread_pools == ThreadPools::OpenMp; }},
      {"XEONRUN_THREAD_POOLS", "ALL",
       [](const Config& c) { return c.thread_pools == ThreadPools::All; }},
      {"XEONRUN_BIND_POLICY", "respect",
       [](const Config& c) { return c.bind_policy == BindPolicy::Respect; }},
      {"XEONRUN_BIND_POLICY", "replace",
       [](const Config& c) { return c.bind_policy == BindPolicy::Replace; }},
      {"XEONRUN_REEXEC", "never", [](const Config& c) { return c.reexec == Reexec::Never; }},
      {"XEONRUN_REEXEC", "auto", [](const Config& c) { return c.reexec == Reexec::Auto; }},
      {"XEONRUN_MEMBIND", "preferred-many",
       [](const Config& c) { return c.membind == Membind::PreferredMany; }},
      {"XEONRUN_MEMBIND", "Weighted-Interleave",
       [](const Config& c) { return c.membind == Membind::WeightedInterleave; }},
      {"XEONRUN_CPU_QUOTA", "ignore",
       [](const Config& c) { return c.cpu_quota == CpuQuotaUse::Ignore; }},
      {"XEONRUN_CPU_QUOTA", "auto",
       [](const Config& c) { return c.cpu_quota == CpuQuotaUse::Auto; }},
      {"XEONRUN_CPU_QUOTA", "12",
       [](const Config& c) { return c.cpu_quota == CpuQuotaUse::Cpus && c.cpu_quota_cpus == 12; }},
      {"XEONRUN_BENCHMARK", "1", [](const Config& c) { return c.benchmark; }},
      {"XEONRUN_BENCHMARK", "off", [](const Config& c) { return !c.benchmark; }},
      {"XEONRUN_THREADS", "plan", [](const Config& c) { return c.threads == Threads::Plan; }},
      {"XEONRUN_THREADS", "Inherit",
       [](const Config& c) { return c.threads == Threads::Inherit; }},
      // Issue #15: cache domains, helper cores, helper threads.
      {"XEONRUN_DOMAIN", "L3", [](const Config& c) { return c.domain == Domain::L3; }},
      {"XEONRUN_DOMAIN", "numa", [](const Config& c) { return c.domain == Domain::Numa; }},
      {"XEONRUN_HELPER_CORES", "2", [](const Config& c) { return c.helper_cores == 2; }},
      {"XEONRUN_THREAD_SKIP", "0x5", [](const Config& c) { return c.thread_skip == 5; }},
      {"XEONRUN_THREAD_SKIP", "FFFFFFFFFFFFFFFF",
       [](const Config& c) { return c.thread_skip == ~std::uint64_t{0}; }},
      {"XEONRUN_THREAD_SKIP", "", [](const Config& c) { return c.thread_skip == 0; }},
      {"XEONRUN_LOG_LEVEL", "debug",
       [](const Config& c) { return c.log_level == LogLevel::Debug; }},
      {"XEONRUN_LOG_LEVEL", "off", [](const Config& c) { return c.log_level == LogLevel::Off; }},
      {"XEONRUN_LOG_FILE", "/tmp/xeonplace.log",
       [](const Config& c) { return c.log_file == "/tmp/xeonplace.log"; }},
      {"XEONRUN_LOG_FILE", "", [](const Config& c) { return c.log_file.empty(); }},
      {"XEONRUN_TOPOLOGY", "lscpu:/tmp/x.lscpu",
       [](const Config& c) { return c.topology == "lscpu:/tmp/x.lscpu"; }},
      {"XEONRUN_TOPOLOGY", "xml:machine.xml",
       [](const Config& c) { return c.topology == "xml:machine.xml"; }},
      {"XEONRUN_TOPOLOGY", "synthetic:pack:2 core:4 pu:2",
       [](const Config& c) { return c.topology == "synthetic:pack:2 core:4 pu:2"; }},
      {"XEONRUN_TOPOLOGY", "", [](const Config& c) { return c.topology.empty(); }},
      {"XEONRUN_DRY_RUN", "on", [](const Config& c) { return c.dry_run; }},
      {"XEONRUN_REPORT", "1", [](const Config& c) { return c.report; }},
      {"XEONRUN_REPORT_FILE", "/tmp/report.jsonl",
       [](const Config& c) { return c.report_file == "/tmp/report.jsonl"; }},
      {"XEONRUN_REPORT_FILE", "", [](const Config& c) { return c.report_file.empty(); }},
      {"XEONRUN_ON_ERROR", "warn", [](const Config& c) { return c.on_error == OnError::Warn; }},
      {"XEONRUN_DISABLE", "0", [](const Config& c) { return !c.disable; }},
      {"XEONRUN_DISABLE", "Yes", [](const Config& c) { return c.disable; }},
      {"XEONRUN_COMPAT", "ipexrun", [](const Config& c) { return c.compat == Compat::Ipexrun; }},
      {"XEONRUN_STRATEGY", "scatter",
       [](const Config& c) { return c.strategy == Strategy::Scatter; }},
      {"XEONRUN_LEFTOVER_CORES", "spread",
       [](const Config& c) { return c.leftover_cores == Leftover::Spread; }},
      {"XEONRUN_BENCHMARK", "1", [](const Config& c) { return c.benchmark; }},
      {"XEONRUN_NODES_LIST", "0,2-3",
       [](const Config& c) {
         return c.nodes_list == CpuSet{0, 2, 3};
       }},
      {"XEONRUN_INSTANCE_IDX", "0,2-3",
       [](const Config& c) {
         return c.instance_idx == CpuSet{0, 2, 3};
       }},
      {"XEONRUN_INSTANCE_IDX", "-1", [](const Config& c) { return !c.instance_idx; }},
  };
}

struct BadValue {
  const char* variable;
  const char* value;
  const char* reason;
};

std::vector<BadValue> bad_values() {
  return {
      {"XEONRUN_RANK", "", "empty value"},
      {"XEONRUN_RANK", "-1", "not a decimal integer"},
      {"XEONRUN_RANK", "+1", "not a decimal integer"},
      {"XEONRUN_RANK", " 1", "not a decimal integer"},
      {"XEONRUN_RANK", "1 ", "not a decimal integer"},
      {"XEONRUN_RANK", "0x1", "not a decimal integer"},
      {"XEONRUN_RANK", "1.0", "not a decimal integer"},
      {"XEONRUN_RANK", "1e3", "not a decimal integer"},
      {"XEONRUN_RANK", "65535", "out of range"},
      {"XEONRUN_RANK", "99999999999999999999", "out of range"},
      {"XEONRUN_NINSTANCES", "0", "out of range"},
      {"XEONRUN_NINSTANCES", "65536", "out of range"},
      {"XEONRUN_NINSTANCES", "two", "not a decimal integer"},
      {"XEONRUN_NCORES_PER_INSTANCE", "", "empty value"},
      {"XEONRUN_NCORES_PER_INSTANCE", "0", "each count must be a decimal integer 1..65536"},
      {"XEONRUN_NCORES_PER_INSTANCE", "4,", "empty entry in the list"},
      {"XEONRUN_NCORES_PER_INSTANCE", ",4", "empty entry in the list"},
      {"XEONRUN_NCORES_PER_INSTANCE", "4,,8", "empty entry in the list"},
      {"XEONRUN_NCORES_PER_INSTANCE", "4, 4", "each count must be a decimal integer 1..65536"},
      {"XEONRUN_NCORES_PER_INSTANCE", "4;4", "each count must be a decimal integer 1..65536"},
      {"XEONRUN_NCORES_PER_INSTANCE", "-4", "each count must be a decimal integer 1..65536"},
      {"XEONRUN_NCORES_PER_INSTANCE", "4.5", "each count must be a decimal integer 1..65536"},
      {"XEONRUN_CORE_LIST", "", "empty value"},
      {"XEONRUN_CORE_LIST", "3-1", ""},
      {"XEONRUN_CORE_LIST", "1,", ""},
      {"XEONRUN_CORE_LIST", "0-3 ", ""},
      {"XEONRUN_NODE_ID", "1024", "out of range"},
      {"XEONRUN_NODE_ID", "", "empty value"},
      {"XEONRUN_NODE_ID", "-1", "not a decimal integer"},
      {"XEONRUN_MEM_NODES", "", "empty value"},
      {"XEONRUN_MEM_NODES", "1024", ""},
      {"XEONRUN_MEM_NODES", "a", ""},
      {"XEONRUN_USE_LOGICAL_CORE", "2", "not a boolean"},
      {"XEONRUN_USE_LOGICAL_CORE", "", "empty value"},
      {"XEONRUN_SKIP_CROSS_NODE_CORES", "y", "not a boolean"},
      {"XEONRUN_USE_EFFICIENT_CORES", "enabled", "not a boolean"},
      {"XEONRUN_MODE", "fast", "unknown value"},
      {"XEONRUN_MODE", "", "empty value"},
      {"XEONRUN_MODE", "multi_instance", "unknown value"},
      {"XEONRUN_ALLOCATOR", "libjemalloc.so.2", "unknown value"},
      {"XEONRUN_ALLOCATOR", "", "empty value"},
      {"XEONRUN_ALLOCATOR", "/", "not a library file"},
      {"XEONRUN_ALLOCATOR", "/usr/lib/", "not a library file"},
      {"XEONRUN_OMP_RUNTIME", "gnu", "unknown value"},
      {"XEONRUN_OMP_RUNTIME", "./libomp.so", "unknown value"},
      {"XEONRUN_MEMBIND", "strict", "unknown value"},
      {"XEONRUN_PIN", "threads", "unknown value"},
      {"XEONRUN_BIND_POLICY", "keep", "unknown value"},
      {"XEONRUN_THREAD_POOLS", "mkl", "unknown value"},
      {"XEONRUN_REEXEC", "always", "unknown value"},
      {"XEONRUN_CPU_QUOTA", "0", "XEONRUN_CPU_QUOTA=0"},
      {"XEONRUN_CPU_QUOTA", "2.5", "XEONRUN_CPU_QUOTA=2.5"},
      {"XEONRUN_CPU_QUOTA", "max", "unknown value"},
      {"XEONRUN_BENCHMARK", "fast", "XEONRUN_BENCHMARK=fast"},
      {"XEONRUN_THREADS", "4", "unknown value"},
      {"XEONRUN_DOMAIN", "l2", "unknown value"},
      {"XEONRUN_HELPER_CORES", "-1", "not a decimal integer"},
      {"XEONRUN_THREAD_SKIP", "0x", "no hexadecimal digits"},
      {"XEONRUN_THREAD_SKIP", "0x1g", "not a hexadecimal number"},
      {"XEONRUN_THREAD_SKIP", "0x10000000000000000", "more than 64 bits"},
      {"XEONRUN_LOG_LEVEL", "verbose", "unknown value"},
      {"XEONRUN_LOG_FILE", "/var/log/", "a directory"},
      {"XEONRUN_TOPOLOGY", "machine.xml", "unknown topology source"},
      {"XEONRUN_TOPOLOGY", "lscpu:", "nothing after the prefix"},
      {"XEONRUN_TOPOLOGY", "synthetic:", "nothing after the prefix"},
      {"XEONRUN_TOPOLOGY", "LSCPU:/tmp/x", "unknown topology source"},
      {"XEONRUN_DRY_RUN", "maybe", "not a boolean"},
      {"XEONRUN_REPORT", "json", "not a boolean"},
      {"XEONRUN_REPORT_FILE", "/tmp/", "a directory"},
      {"XEONRUN_ON_ERROR", "ignore", "unknown value"},
      {"XEONRUN_DISABLE", "please", "not a boolean"},
      {"XEONRUN_COMPAT", "ipex", "unknown value"},
      {"XEONRUN_STRATEGY", "spread", "unknown value"},
      {"XEONRUN_LEFTOVER_CORES", "-1", "unknown value"},
      {"XEONRUN_BENCHMARK", "fast", "not a boolean"},
      {"XEONRUN_NODES_LIST", "", "empty value"},
      {"XEONRUN_INSTANCE_IDX", "-2", ""},
  };
}

TEST(Options, NothingSetGivesTheDocumentedDefaults) {
  Config config = parse_ok({});
  EXPECT_FALSE(config.rank.has_value());
  EXPECT_FALSE(config.nranks.has_value());
  EXPECT_TRUE(config.ncores_per_instance.empty());
  EXPECT_FALSE(config.core_list.has_value());
  EXPECT_FALSE(config.node_id.has_value());
  EXPECT_FALSE(config.mem_nodes.has_value());
  EXPECT_FALSE(config.use_logical_core);
  EXPECT_FALSE(config.skip_cross_node_cores);
  EXPECT_FALSE(config.use_efficient_cores);
  EXPECT_EQ(config.mode, Mode::Default);
  EXPECT_EQ(config.allocator, Allocator::Auto);
  EXPECT_EQ(config.omp_runtime, OmpRuntime::Intel);
  EXPECT_EQ(config.membind, Membind::Bind);
  EXPECT_EQ(config.pin, Pin::Process);
  EXPECT_EQ(config.bind_policy, BindPolicy::Auto);
  EXPECT_EQ(config.log_level, LogLevel::Warn);
  EXPECT_EQ(config.on_error, OnError::Abort);
  EXPECT_FALSE(config.dry_run);
  EXPECT_FALSE(config.disable);
  EXPECT_EQ(config.rank_source.name, "");
}

// The defaults shown in --help and the README are the values a Config starts with.
TEST(Options, DocumentedDefaultsOfChoicesAndBooleansMatchTheConfig) {
  Config defaults;
  for (const auto& spec : option_table()) {
    if (spec.type != OptionType::Choice && spec.type != OptionType::Boolean) continue;
    Config parsed;
    ASSERT_TRUE(spec.parse(spec, spec.default_text, parsed).ok()) << spec.variable;
    EXPECT_EQ(parsed.mode, defaults.mode) << spec.variable;
    EXPECT_EQ(parsed.allocator, defaults.allocator) << spec.variable;
    EXPECT_EQ(parsed.omp_runtime, defaults.omp_runtime) << spec.variable;
    EXPECT_EQ(parsed.membind, defaults.membind) << spec.variable;
    EXPECT_EQ(parsed.pin, defaults.pin) << spec.variable;
    EXPECT_EQ(parsed.bind_policy, defaults.bind_policy) << spec.variable;
    EXPECT_EQ(parsed.log_level, defaults.log_level) << spec.variable;
    EXPECT_EQ(parsed.on_error, defaults.on_error) << spec.variable;
    EXPECT_EQ(parsed.use_logical_core, defaults.use_logical_core) << spec.variable;
    EXPECT_EQ(parsed.skip_cross_node_cores, defaults.skip_cross_node_cores) << spec.variable;
    EXPECT_EQ(parsed.use_efficient_cores, defaults.use_efficient_cores) << spec.variable;
    EXPECT_EQ(parsed.dry_run, defaults.dry_run) << spec.variable;
    EXPECT_EQ(parsed.disable, defaults.disable) << spec.variable;
  }
}

// A default is stated once, in its row: a fresh Config holds it, and --help shows it.
TEST(Options, EveryRowsDefaultIsAcceptedByItsParserAndShownAsTheDefault) {
  for (const auto& spec : option_table()) {
    if (!spec.default_value) {
      EXPECT_EQ(spec.default_text, spec.unset_meaning) << spec.variable;
      continue;
    }
    Config parsed;
    EXPECT_TRUE(spec.parse(spec, spec.default_value, parsed).ok()) << spec.variable;
    EXPECT_EQ(spec.default_text, spec.default_value) << spec.variable;
  }
}

// The generated "accepted" text states exactly what the generic parser lets through.
TEST(Options, IntegerRowsAcceptExactlyTheRangeTheyState) {
  for (const auto& spec : option_table()) {
    if (spec.type != OptionType::Integer && spec.type != OptionType::IntegerList) continue;
    const std::string range = std::to_string(spec.min) + ".." + std::to_string(spec.max);
    EXPECT_NE(spec.accepted.find(range), std::string::npos) << spec.variable;
    Config config;
    EXPECT_TRUE(spec.parse(spec, std::to_string(spec.min), config).ok()) << spec.variable;
    EXPECT_TRUE(spec.parse(spec, std::to_string(spec.max), config).ok()) << spec.variable;
    EXPECT_FALSE(spec.parse(spec, std::to_string(spec.max + 1ULL), config).ok()) << spec.variable;
    if (spec.min > 0) {
      EXPECT_FALSE(spec.parse(spec, std::to_string(spec.min - 1), config).ok()) << spec.variable;
    }
  }
}

TEST(Options, ChoiceRowsAcceptEveryNameTheyListAndNothingElse) {
  for (const auto& spec : option_table()) {
    if (spec.type != OptionType::Choice) continue;
    ASSERT_FALSE(spec.choices.empty()) << spec.variable;
    for (const auto& choice : spec.choices) {
      Config config;
      EXPECT_TRUE(spec.parse(spec, choice.text, config).ok()) << spec.variable;
      EXPECT_NE(spec.accepted.find(choice.text), std::string::npos) << spec.variable;
    }
    Config config;
    EXPECT_FALSE(spec.parse(spec, "no-such-choice", config).ok()) << spec.variable;
  }
}

TEST(Options, TopologySourceSyntaxIsParsedOnce) {
  using Kind = TopologySource::Kind;
  const struct {
    const char* value;
    Kind kind;
    const char* argument;
  } good[] = {{"", Kind::Machine, ""},
              {"lscpu:/tmp/x:y.lscpu", Kind::Lscpu, "/tmp/x:y.lscpu"},
              {"xml:m.xml", Kind::Xml, "m.xml"},
              {"synthetic:pack:2 core:4 pu:2", Kind::Synthetic, "pack:2 core:4 pu:2"}};
  for (const auto& g : good) {
    auto parsed = parse_topology_source(g.value);
    ASSERT_TRUE(parsed.ok()) << g.value;
    EXPECT_EQ(parsed->kind, g.kind) << g.value;
    EXPECT_EQ(parsed->argument, g.argument) << g.value;
  }
  const std::string accepted = find_option("XEONRUN_TOPOLOGY")->accepted;
  EXPECT_EQ(parse_topology_source("json:x").error().message,
            "XEONRUN_TOPOLOGY=json:x: unknown topology source; accepted: " + accepted);
  EXPECT_EQ(parse_topology_source("xml:").error().message,
            "XEONRUN_TOPOLOGY=xml:: xml: needs a file name, nothing after the prefix; accepted: " +
                accepted);
}

TEST(Options, EveryGoodValueParses) {
  for (const auto& good : good_values()) {
    auto config = parse_config({{good.variable, good.value}});
    ASSERT_TRUE(config.ok()) << good.variable << "=" << good.value << ": "
                             << config.error().message;
    EXPECT_TRUE(good.holds(*config)) << good.variable << "=" << good.value;
  }
}

TEST(Options, EveryBadValueIsOneLineNamingVariableValueAndAccepted) {
  for (const auto& bad : bad_values()) {
    const OptionSpec* spec = find_option(bad.variable);
    ASSERT_NE(spec, nullptr) << bad.variable;
    std::string error = parse_error({{bad.variable, bad.value}});
    std::string prefix = std::string(bad.variable) + "=" + bad.value + ": ";
    EXPECT_EQ(error.rfind(prefix, 0), 0u) << error;
    EXPECT_NE(error.find(bad.reason), std::string::npos) << error;
    EXPECT_NE(error.find("; accepted: "), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    // CpuSet words its own "accepted"; every other row quotes its table text exactly.
    if (spec->type != OptionType::IdList || std::string(bad.value).empty()) {
      EXPECT_EQ(error.substr(error.size() - std::string(spec->accepted).size()), spec->accepted)
          << error;
    }
  }
}

TEST(Options, EveryVariableHasGoodAndBadValuesUnderTest) {
  std::set<std::string> with_good, with_bad;
  for (const auto& good : good_values()) with_good.insert(good.variable);
  for (const auto& bad : bad_values()) with_bad.insert(bad.variable);
  for (const auto& spec : option_table()) {
    EXPECT_TRUE(with_good.count(spec.variable)) << spec.variable << " has no good-value case";
    EXPECT_TRUE(with_bad.count(spec.variable)) << spec.variable << " has no bad-value case";
  }
}

TEST(Options, UnknownChoiceErrorHasTheExactShape) {
  EXPECT_EQ(parse_error({{"XEONRUN_PIN", "threads"}}),
            "XEONRUN_PIN=threads: unknown value; accepted: process, thread, none");
  EXPECT_EQ(parse_error({{"XEONRUN_MODE", "fast"}}),
            "XEONRUN_MODE=fast: unknown value; accepted: default, latency, throughput, "
            "multi-instance");
}

TEST(Options, BooleansAcceptEverySpellingInAnyCase) {
  for (const char* yes : {"1", "true", "yes", "on", "TRUE", "Yes", "oN"}) {
    EXPECT_TRUE(parse_ok({{"XEONRUN_DRY_RUN", yes}}).dry_run) << yes;
  }
  for (const char* no : {"0", "false", "no", "off", "FALSE", "No", "OFF"}) {
    EXPECT_FALSE(parse_ok({{"XEONRUN_DRY_RUN", no}}).dry_run) << no;
  }
  EXPECT_EQ(parse_error({{"XEONRUN_DRY_RUN", "maybe"}}),
            "XEONRUN_DRY_RUN=maybe: not a boolean; accepted: 1, 0, true, false, yes, no, on, off");
}

TEST(Options, ChoicesRoundTripThroughToString) {
  for (Mode m : {Mode::Default, Mode::Latency, Mode::Throughput, Mode::MultiInstance}) {
    EXPECT_EQ(parse_ok({{"XEONRUN_MODE", to_string(m)}}).mode, m);
  }
  for (Allocator a : {Allocator::Auto, Allocator::Tcmalloc, Allocator::Jemalloc,
                      Allocator::Mimalloc, Allocator::Default}) {
    EXPECT_EQ(parse_ok({{"XEONRUN_ALLOCATOR", to_string(a)}}).allocator, a);
  }
  for (OmpRuntime o : {OmpRuntime::Intel, OmpRuntime::Default}) {
    EXPECT_EQ(parse_ok({{"XEONRUN_OMP_RUNTIME", to_string(o)}}).omp_runtime, o);
  }
  for (Membind b : {Membind::Bind, Membind::Preferred, Membind::Interleave, Membind::None,
                    Membind::PreferredMany, Membind::WeightedInterleave}) {
    EXPECT_EQ(parse_ok({{"XEONRUN_MEMBIND", to_string(b)}}).membind, b);
  }
  for (Pin p : {Pin::Process, Pin::Thread, Pin::None}) {
    EXPECT_EQ(parse_ok({{"XEONRUN_PIN", to_string(p)}}).pin, p);
  }
  for (LogLevel l :
       {LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error, LogLevel::Off}) {
    EXPECT_EQ(parse_ok({{"XEONRUN_LOG_LEVEL", to_string(l)}}).log_level, l);
  }
  for (OnError e : {OnError::Abort, OnError::Warn}) {
    EXPECT_EQ(parse_ok({{"XEONRUN_ON_ERROR", to_string(e)}}).on_error, e);
  }
  for (BindPolicy b : {BindPolicy::Auto, BindPolicy::Respect, BindPolicy::Replace}) {
    EXPECT_EQ(parse_ok({{"XEONRUN_BIND_POLICY", to_string(b)}}).bind_policy, b);
  }
  for (Reexec r : {Reexec::Auto, Reexec::Never}) {
    EXPECT_EQ(parse_ok({{"XEONRUN_REEXEC", to_string(r)}}).reexec, r);
  }
}

TEST(Options, AllocatorNameAfterAPathClearsThePath) {
  EnvMap env = {{"XEONRUN_ALLOCATOR", "/opt/libjemalloc.so.2"}};
  Config config = parse_ok(env);
  EXPECT_EQ(config.allocator_path, "/opt/libjemalloc.so.2");
  OmpRuntime before = config.omp_runtime;
  const OptionSpec* spec = find_option("XEONRUN_ALLOCATOR");
  ASSERT_TRUE(spec->parse(*spec, "tcmalloc", config).ok());
  EXPECT_EQ(config.allocator, Allocator::Tcmalloc);
  EXPECT_TRUE(config.allocator_path.empty());
  EXPECT_EQ(config.omp_runtime, before);
}

TEST(Options, UnknownVariableNamesTheClosestKnownOne) {
  std::string error = parse_error({{"XEONRUN_NINSTANCE", "2"}});
  EXPECT_EQ(error.rfind("XEONRUN_NINSTANCE: unknown variable; did you mean XEONRUN_NINSTANCES?", 0),
            0u)
      << error;
  EXPECT_NE(parse_error({{"XEONRUN_CORELIST", "0-3"}}).find("did you mean XEONRUN_CORE_LIST?"),
            std::string::npos);
  EXPECT_NE(parse_error({{"XEONRUN_NCORES_PER_INSTANCES", "4"}})
                .find("did you mean XEONRUN_NCORES_PER_INSTANCE?"),
            std::string::npos);
  EXPECT_NE(parse_error({{"XEONRUN_LOGLEVEL", "info"}}).find("did you mean XEONRUN_LOG_LEVEL?"),
            std::string::npos);
  EXPECT_NE(parse_error({{"XEONRUN_MEMBIND_NODES", "1"}}).find("did you mean XEONRUN_MEM"),
            std::string::npos);
  EXPECT_EQ(std::string(closest_variable("XEONRUN_DRYRUN")), "XEONRUN_DRY_RUN");
}

TEST(Options, LibraryOutputsAreNotInputs) {
  EnvMap env = {{"XEONRUN_PLACED_RANK", "1"},
                {"XEONRUN_PLACED_CPUS", "garbage"},
                {"XEONRUN_PLACED_ANYTHING", "x"},
                {"XEONRUN_REEXEC_GUARD", "1234"},
                {"XEONRUN_REEXEC_", ""}};
  Config config = parse_ok(env);
  EXPECT_FALSE(config.rank.has_value());
  EXPECT_TRUE(is_output_variable("XEONRUN_PLACED_MEMS"));
  EXPECT_FALSE(is_output_variable("XEONRUN_PLACE"));
  EXPECT_FALSE(is_output_variable("XEONRUN_RANK"));
}

TEST(Options, DisableWinsOverEveryOtherError) {
  Config config = parse_ok({{"XEONRUN_DISABLE", "1"},
                            {"XEONRUN_PIN", "threads"},
                            {"XEONRUN_BOGUS", "1"},
                            {"LOCAL_RANK", "garbage"}});
  EXPECT_TRUE(config.disable);
  EXPECT_NE(parse_error({{"XEONRUN_DISABLE", "0"}, {"XEONRUN_PIN", "threads"}}), "");
  EXPECT_EQ(parse_error({{"XEONRUN_DISABLE", "maybe"}}).rfind("XEONRUN_DISABLE=maybe: ", 0), 0u);
}

TEST(Options, RankAndSizeComeFromTheLauncher) {
  Config config = parse_ok({{"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                            {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                            {"OMPI_COMM_WORLD_RANK", "5"}});
  EXPECT_EQ(config.rank, 1u);
  EXPECT_EQ(config.nranks, 2u);
  EXPECT_EQ(config.rank_source.name, "Open MPI");
  EXPECT_EQ(config.rank_source.launcher, Launcher::OpenMpi);
  EXPECT_TRUE(config.rank_source.launcher_binds_by_default);
}

TEST(Options, ExplicitRankAndSizeWinOverTheLauncher) {
  Config config = parse_ok({{"XEONRUN_RANK", "0"},
                            {"XEONRUN_NINSTANCES", "4"},
                            {"SLURM_LOCALID", "1"},
                            {"SLURM_STEP_TASKS_PER_NODE", "2"}});
  EXPECT_EQ(config.rank, 0u);
  EXPECT_EQ(config.nranks, 4u);
  EXPECT_EQ(config.rank_source.name, "XEONRUN_RANK");
  // The binding Slurm did is still known, for XEONRUN_BIND_POLICY=auto.
  EXPECT_EQ(config.rank_source.launcher, Launcher::Slurm);
  EXPECT_TRUE(config.rank_source.launcher_binds_by_default);
}

TEST(Options, ExplicitSizeWithTheLaunchersRank) {
  Config config =
      parse_ok({{"XEONRUN_NINSTANCES", "4"}, {"LOCAL_RANK", "3"}, {"LOCAL_WORLD_SIZE", "2"}});
  EXPECT_EQ(config.rank, 3u);
  EXPECT_EQ(config.nranks, 4u);
  EXPECT_EQ(config.rank_source.name, "torchrun");
}

TEST(Options, ExplicitRankWithTheLaunchersSize) {
  Config config =
      parse_ok({{"XEONRUN_RANK", "1"}, {"MPI_LOCALRANKID", "0"}, {"MPI_LOCALNRANKS", "3"}});
  EXPECT_EQ(config.rank, 1u);
  EXPECT_EQ(config.nranks, 3u);
  EXPECT_EQ(config.rank_source.name, "XEONRUN_RANK");
}

TEST(Options, RankWithoutAnySizeStaysUnsized) {
  Config config = parse_ok({{"LOCAL_RANK", "1"}});
  EXPECT_EQ(config.rank, 1u);
  EXPECT_FALSE(config.nranks.has_value());
}

TEST(Options, RankOutOfRangeNamesTheVariablesItCameFrom) {
  EXPECT_EQ(parse_error({{"XEONRUN_RANK", "2"}, {"XEONRUN_NINSTANCES", "2"}}),
            "XEONRUN_RANK=2: rank out of range for XEONRUN_NINSTANCES=2; accepted: 0..1");
  EXPECT_EQ(parse_error({{"LOCAL_RANK", "3"}, {"LOCAL_WORLD_SIZE", "2"}}),
            "LOCAL_RANK=3: rank out of range for LOCAL_WORLD_SIZE=2; accepted: 0..1");
  EXPECT_EQ(parse_error({{"XEONRUN_RANK", "2"},
                         {"SLURM_LOCALID", "0"},
                         {"SLURM_NNODES", "1"},
                         {"SLURM_NTASKS", "2"}}),
            "XEONRUN_RANK=2: rank out of range for SLURM_NTASKS=2; accepted: 0..1");
}

TEST(Options, MalformedLauncherVariableIsAnErrorOnlyWhenUsed) {
  EXPECT_EQ(parse_error({{"LOCAL_RANK", "x"}}).rfind("LOCAL_RANK=x: not a decimal integer", 0), 0u);
  EXPECT_EQ(parse_error({{"XEONRUN_RANK", "0"}, {"LOCAL_RANK", "x"}}).rfind("LOCAL_RANK=x: ", 0),
            0u);
  Config config =
      parse_ok({{"XEONRUN_RANK", "0"}, {"XEONRUN_NINSTANCES", "2"}, {"LOCAL_RANK", "x"}});
  EXPECT_EQ(config.rank, 0u);
  EXPECT_EQ(config.rank_source.launcher, Launcher::None);
}

TEST(Options, ControlCharactersInValuesAreEscapedSoErrorsStayOneLine) {
  EXPECT_EQ(parse_error({{"XEONRUN_PIN", "thread\nnone"}}),
            "XEONRUN_PIN=thread\\nnone: unknown value; accepted: process, thread, none");
  EXPECT_EQ(parse_error({{"XEONRUN_RANK", "1\t"}}).rfind("XEONRUN_RANK=1\\t: ", 0), 0u);
  for (const char* variable : {"XEONRUN_CORE_LIST", "XEONRUN_MEM_NODES", "XEONRUN_TOPOLOGY",
                               "XEONRUN_LOG_FILE", "XEONRUN_ALLOCATOR"}) {
    std::string value = std::string(variable) == "XEONRUN_TOPOLOGY"    ? "lscpu:/a\x01b"
                        : std::string(variable) == "XEONRUN_ALLOCATOR" ? "/a\nb.so"
                                                                       : "0\n1";
    std::string error = parse_error({{variable, value}});
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    EXPECT_NE(error.find("control character"), std::string::npos) << error;
  }
  std::string error = parse_error({{"XEONRUN_BAD\nNAME", "1"}});
  EXPECT_EQ(error.rfind("XEONRUN_BAD\\nNAME: unknown variable", 0), 0u) << error;
}

TEST(Options, RunawayValuesAreCutInErrors) {
  std::string error = parse_error({{"XEONRUN_MODE", std::string(100000, 'x')}});
  EXPECT_LT(error.size(), 400u);
  EXPECT_NE(error.find("...: unknown value"), std::string::npos) << error;
}

TEST(Options, TheFirstErrorIsReportedAlone) {
  std::string error = parse_error({{"XEONRUN_MODE", "fast"}, {"XEONRUN_PIN", "threads"}});
  EXPECT_EQ(error.find('\n'), std::string::npos);
  EXPECT_EQ(error.rfind("XEONRUN_MODE=fast: ", 0), 0u) << error;
}

TEST(Options, EveryRunCpuFlagMapsToAVariableInBothSpellings) {
  struct Expected {
    const char* flag;
    const char* variable;
    const char* value;  // nullptr: the flag takes a value
  };
  const Expected expected[] = {
      {"--ncores-per-instance", "XEONRUN_NCORES_PER_INSTANCE", nullptr},
      {"--ninstances", "XEONRUN_NINSTANCES", nullptr},
      {"--skip-cross-node-cores", "XEONRUN_SKIP_CROSS_NODE_CORES", "1"},
      {"--rank", "XEONRUN_RANK", nullptr},
      {"--latency-mode", "XEONRUN_MODE", "latency"},
      {"--throughput-mode", "XEONRUN_MODE", "throughput"},
      {"--multi-instance", "XEONRUN_MODE", "multi-instance"},
      {"--node-id", "XEONRUN_NODE_ID", nullptr},
      {"--use-logical-core", "XEONRUN_USE_LOGICAL_CORE", "1"},
      {"--disable-numactl", "XEONRUN_MEMBIND", "none"},
      {"--disable-taskset", "XEONRUN_PIN", "none"},
      {"--core-list", "XEONRUN_CORE_LIST", nullptr},
      {"--enable-tcmalloc", "XEONRUN_ALLOCATOR", "tcmalloc"},
      {"--enable-jemalloc", "XEONRUN_ALLOCATOR", "jemalloc"},
      {"--use-default-allocator", "XEONRUN_ALLOCATOR", "default"},
      {"--disable-iomp", "XEONRUN_OMP_RUNTIME", "default"},
      {"--topology", "XEONRUN_TOPOLOGY", nullptr},
      {"--dry-run", "XEONRUN_DRY_RUN", "1"},
  };
  for (const auto& e : expected) {
    std::string underscore = e.flag;
    for (std::size_t i = 2; i < underscore.size(); ++i) {
      if (underscore[i] == '-') underscore[i] = '_';
    }
    for (const std::string& spelling : {std::string(e.flag), underscore}) {
      const FlagSpec* flag = flag_for(spelling);
      ASSERT_NE(flag, nullptr) << spelling;
      EXPECT_STREQ(flag->variable, e.variable) << spelling;
      if (e.value) {
        ASSERT_NE(flag->value, nullptr) << spelling;
        EXPECT_STREQ(flag->value, e.value) << spelling;
      } else {
        EXPECT_EQ(flag->value, nullptr) << spelling;
      }
    }
  }
}

TEST(Options, FlagValuesAreValidForTheirVariables) {
  for (const auto& flag : flag_table()) {
    const OptionSpec* spec = find_option(flag.variable);
    ASSERT_NE(spec, nullptr) << flag.flag;
    if (!flag.value) continue;
    Config config;
    EXPECT_TRUE(spec->parse(*spec, flag.value, config).ok()) << flag.flag;
  }
}

TEST(Options, SpawnOnlyAndMalformedArgumentsAreNotPlacementFlags) {
  for (const char* arg :
       {"-m", "--module", "--no-python", "--no_python", "--log-path", "--log-file-prefix", "--json",
        "--ninstances=2", "ninstances", "--", "-ninstances", "--NINSTANCES", "__ninstances"}) {
    EXPECT_EQ(flag_for(arg), nullptr) << arg;
  }
}

// Help lines are wrapped: compare with runs of blanks and newlines collapsed to one space.
std::string collapse_spaces(const std::string& text) {
  std::string out;
  for (char c : text) {
    bool blank = c == ' ' || c == '\n';
    if (blank && (out.empty() || out.back() == ' ')) continue;
    out += blank ? ' ' : c;
  }
  return out;
}

TEST(Options, HelpTextListsEveryVariableOutputAndLauncher) {
  std::string help = collapse_spaces(variables_help_text());
  for (const auto& spec : option_table()) {
    EXPECT_NE(help.find(spec.variable), std::string::npos) << spec.variable;
    EXPECT_NE(help.find(spec.accepted), std::string::npos) << spec.variable;
    EXPECT_NE(help.find(spec.help), std::string::npos) << spec.variable;
  }
  for (const auto& output : output_table()) {
    EXPECT_NE(help.find(output.variable), std::string::npos) << output.variable;
  }
  for (const auto& launcher : kLaunchers) {
    EXPECT_NE(help.find(launcher.rank_variable), std::string::npos) << launcher.name;
  }
}

TEST(Options, HelpLinesFitInOneHundredColumns) {
  for (const std::string& text : {variables_help_text(), flags_help_text()}) {
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find('\n', start);
      EXPECT_LE(end - start, 100u) << text.substr(start, end - start);
      start = end + 1;
    }
  }
}

TEST(Options, FlagsHelpListsEveryFlagAndItsVariable) {
  std::string help = collapse_spaces(flags_help_text());
  for (const auto& flag : flag_table()) {
    EXPECT_NE(help.find(std::string(" ") + flag.flag + " "), std::string::npos) << flag.flag;
    EXPECT_NE(help.find(flag.variable), std::string::npos) << flag.flag;
  }
}

TEST(Options, MarkdownTableHasOneRowPerVariable) {
  std::string table = variables_markdown_table();
  for (const auto& spec : option_table()) {
    std::string row = std::string("| `") + spec.variable + "` | " + spec.default_text + " | ";
    EXPECT_NE(table.find(row), std::string::npos) << row;
  }
  for (const auto& output : output_table()) {
    EXPECT_NE(table.find(std::string("| `") + output.variable + "` |"), std::string::npos);
  }
  EXPECT_NE(table.find("`--latency-mode` (latency)"), std::string::npos);
  // Every row has the header's five cells.
  std::size_t rows = 0;
  std::size_t start = 0;
  while (start < table.size()) {
    std::size_t end = table.find('\n', start);
    std::string line = table.substr(start, end - start);
    start = end + 1;
    if (line.rfind("| `XEONRUN_", 0) != 0 || line.find("PLACED") != std::string::npos ||
        line.find("REEXEC_") != std::string::npos ||
        is_output_variable(line.substr(3, line.find('`', 3) - 3))) {
      continue;
    }
    ++rows;
    std::size_t bars = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) ++bars;
    }
    EXPECT_EQ(bars, 6u) << line;
  }
  EXPECT_EQ(rows, option_table().size());
}

TEST(Options, TableNamesAreUniqueAndPrefixed) {
  std::set<std::string> names;
  for (const auto& spec : option_table()) {
    EXPECT_EQ(std::string(spec.variable).rfind("XEONRUN_", 0), 0u) << spec.variable;
    EXPECT_FALSE(is_output_variable(spec.variable)) << spec.variable;
    EXPECT_TRUE(names.insert(spec.variable).second) << spec.variable;
    EXPECT_EQ(find_option(spec.variable), &spec);
  }
  EXPECT_EQ(find_option("XEONRUN_NOPE"), nullptr);
}

}  // namespace
}  // namespace xeonplace

namespace xeonplace {
namespace {

// Issue #14: the spawner's way to say "the plan wins over inherited thread counts".
TEST(Options, ThreadsFlagSetsXeonrunThreadsWithAValue) {
  const FlagSpec* flag = flag_for("--threads");
  ASSERT_NE(flag, nullptr);
  EXPECT_STREQ(flag->variable, "XEONRUN_THREADS");
  EXPECT_EQ(flag->value, nullptr);  // takes plan|inherit|auto
  EXPECT_EQ(Config().threads, Threads::Auto);
}

}  // namespace
}  // namespace xeonplace
