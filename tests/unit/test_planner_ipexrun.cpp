// The planner's ipexrun inputs (issue #14): XEONRUN_STRATEGY, XEONRUN_LEFTOVER_CORES,
// XEONRUN_NODES_LIST, XEONRUN_INSTANCE_IDX and XEONRUN_COMPAT, and run_cpu main's per-rank counts,
// each on a fixture of tests/fixtures that the test names.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/lscpu.h"
#include "core/options.h"
#include "core/planner.h"
#include "fixtures.h"

namespace xeonplace {
namespace {

Topology fixture(const std::string& name) { return test::lscpu_fixture(name); }

Config config_of(const EnvMap& env) {
  Expected<Config> config = parse_config(env);
  EXPECT_TRUE(config.ok()) << (config.ok() ? "" : config.error().message);
  return config.ok() ? std::move(config).value() : Config{};
}

std::vector<std::string> cpus(const std::string& name, const EnvMap& env) {
  Expected<Plan> result = plan(fixture(name), config_of(env));
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
  std::vector<std::string> out;
  if (!result.ok()) return out;
  for (const RankPlacement& r : result.value().ranks) out.push_back(r.cpus.format());
  return out;
}

std::string error(const std::string& name, const EnvMap& env) {
  Expected<Plan> result = plan(fixture(name), config_of(env));
  EXPECT_FALSE(result.ok());
  return result.ok() ? std::string() : result.error().message;
}

using V = std::vector<std::string>;
constexpr const char* k2s8c = "xeon_2s8c.lscpu";
constexpr const char* kHt = "pytorch_test_2s4c_ht.lscpu";
constexpr const char* kSnc3 = "snc3_128c_43_43_42.lscpu";

TEST(Strategy, CloseIsRunCpusDefaultAndPacksFromTheFirstCore) {
  EXPECT_EQ(cpus(k2s8c, {{"XEONRUN_NINSTANCES", "2"}, {"XEONRUN_NCORES_PER_INSTANCE", "2"}}),
            (V{"0-1", "2-3"}));
}

TEST(Strategy, ScatterSpreadsEveryRankAndDropsNone) {
  EXPECT_EQ(cpus(k2s8c, {{"XEONRUN_NINSTANCES", "4"},
                         {"XEONRUN_NCORES_PER_INSTANCE", "2"},
                         {"XEONRUN_STRATEGY", "scatter"}}),
            (V{"0-1", "4-5", "8-9", "12-13"}));
  EXPECT_EQ(cpus(k2s8c, {{"XEONRUN_NINSTANCES", "5"},
                         {"XEONRUN_NCORES_PER_INSTANCE", "2"},
                         {"XEONRUN_STRATEGY", "scatter"}}),
            (V{"0-1", "2-3", "6-7", "8-9", "12-13"}));
}

TEST(Strategy, ScatterInsideNodesRoundRobinsTheNodes) {
  EXPECT_EQ(cpus(k2s8c, {{"XEONRUN_NINSTANCES", "3"},
                         {"XEONRUN_NCORES_PER_INSTANCE", "2"},
                         {"XEONRUN_SKIP_CROSS_NODE_CORES", "1"},
                         {"XEONRUN_STRATEGY", "scatter"}}),
            (V{"0-1", "2-3", "8-9"}));
}

TEST(Strategy, IpexrunCompatScattersByDefault) {
  EXPECT_EQ(cpus(k2s8c, {{"XEONRUN_NINSTANCES", "2"},
                         {"XEONRUN_NCORES_PER_INSTANCE", "2"},
                         {"XEONRUN_COMPAT", "ipexrun"}}),
            (V{"0-1", "8-9"}));
}

TEST(LeftoverCores, SpreadHandsTheRemainderToTheFirstRanks) {
  EXPECT_EQ(cpus(k2s8c, {{"XEONRUN_NINSTANCES", "3"}}), (V{"0-4", "5-9", "10-14"}));
  EXPECT_EQ(cpus(k2s8c, {{"XEONRUN_NINSTANCES", "3"}, {"XEONRUN_LEFTOVER_CORES", "spread"}}),
            (V{"0-5", "6-10", "11-15"}));
}

TEST(LeftoverCores, SpreadInsideNodesStaysInsideEachNode) {
  EXPECT_EQ(cpus(k2s8c, {{"XEONRUN_NINSTANCES", "6"},
                         {"XEONRUN_SKIP_CROSS_NODE_CORES", "1"},
                         {"XEONRUN_LEFTOVER_CORES", "spread"}}),
            (V{"0-1", "2-3", "4-5", "6-7", "8-11", "12-15"}));
}

TEST(LeftoverCores, LatencyModeHandsItsLeftoverCoresOut) {
  // 10 cores: 2 ranks of 4, and 2 cores left over.
  EXPECT_EQ(cpus("uneven_nodes_4_4_2.lscpu", {{"XEONRUN_MODE", "latency"}}), (V{"0-3", "4-7"}));
  EXPECT_EQ(cpus("uneven_nodes_4_4_2.lscpu",
                 {{"XEONRUN_MODE", "latency"}, {"XEONRUN_LEFTOVER_CORES", "spread"}}),
            (V{"0-4", "5-9"}));
}

TEST(NodesList, OnlyTheListedNodesCoresArePlanned) {
  EXPECT_EQ(cpus(k2s8c, {{"XEONRUN_NODES_LIST", "1"}}), (V{"8-15"}));
  EXPECT_EQ(cpus(kSnc3, {{"XEONRUN_NODES_LIST", "0,2"}, {"XEONRUN_MODE", "throughput"}}),
            (V{"0-42", "86-127"}));
  const std::string message = error(k2s8c, {{"XEONRUN_NODES_LIST", "0,3"}});
  EXPECT_NE(message.find("XEONRUN_NODES_LIST=0,3"), std::string::npos) << message;
  EXPECT_NE(message.find("node 3 does not exist"), std::string::npos) << message;
}

TEST(InstanceIdx, OnlyTheListedRanksOfTheWholePlanArePlaced) {
  Expected<Plan> result = plan(
      fixture(k2s8c), config_of({{"XEONRUN_NINSTANCES", "4"}, {"XEONRUN_INSTANCE_IDX", "0,2-3"}}));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.value().nranks, 4u);
  ASSERT_EQ(result.value().ranks.size(), 3u);
  EXPECT_EQ(result.value().ranks[1].rank, 2u);
  EXPECT_EQ(result.value().ranks[1].cpus.format(), "8-11");
  EXPECT_EQ(cpus(k2s8c, {{"XEONRUN_NINSTANCES", "2"}, {"XEONRUN_INSTANCE_IDX", "-1"}}).size(), 2u);
  const std::string message =
      error(k2s8c, {{"XEONRUN_NINSTANCES", "2"}, {"XEONRUN_INSTANCE_IDX", "2"}});
  EXPECT_NE(message.find("accepted: -1 (every rank) or ranks 0-1"), std::string::npos) << message;
}

TEST(Compat, IpexrunTakesOnePuPerListedCore) {
  EXPECT_EQ(cpus(kHt, {{"XEONRUN_CORE_LIST", "0,1,8,9"}}), (V{"0-1,8-9"}));
  EXPECT_EQ(cpus(kHt, {{"XEONRUN_CORE_LIST", "0,1,8,9"}, {"XEONRUN_COMPAT", "ipexrun"}}),
            (V{"0-1"}));
  EXPECT_EQ(cpus(kHt, {{"XEONRUN_CORE_LIST", "8-11"}, {"XEONRUN_COMPAT", "ipexrun"}}), (V{"8-11"}));
}

TEST(Compat, IpexrunsOpenMpVariables) {
  auto env_of = [](const EnvMap& env) {
    Expected<Plan> result = plan(fixture(kHt), config_of(env));
    EXPECT_TRUE(result.ok());
    std::map<std::string, std::string> out;
    if (result.ok()) {
      for (const EnvVar& v : result.value().ranks.front().env) out[v.name] = v.value;
    }
    return out;
  };
  auto gnu = env_of({{"XEONRUN_COMPAT", "ipexrun"}, {"XEONRUN_OMP_RUNTIME", "default"}});
  EXPECT_EQ(gnu["OMP_SCHEDULE"], "STATIC");
  EXPECT_EQ(gnu["OMP_PROC_BIND"], "CLOSE");
  EXPECT_EQ(gnu.count("OMP_PLACES"), 0u);
  auto openmp_binds =
      env_of({{"XEONRUN_COMPAT", "ipexrun"}, {"XEONRUN_PIN", "none"}, {"XEONRUN_NINSTANCES", "2"}});
  EXPECT_EQ(openmp_binds["KMP_AFFINITY"], "granularity=fine,proclist=[0-3],explicit");
  auto gomp = env_of({{"XEONRUN_COMPAT", "ipexrun"},
                      {"XEONRUN_PIN", "none"},
                      {"XEONRUN_OMP_RUNTIME", "default"},
                      {"XEONRUN_NINSTANCES", "2"}});
  EXPECT_EQ(gomp["GOMP_CPU_AFFINITY"], "0-3");
}

TEST(RunCpuMain, PerRankCountsOnUnequalSubNumaNodes) {
  // 43/43/42: one count per rank, each rank its own thread count.
  Expected<Plan> result =
      plan(fixture(kSnc3), config_of({{"XEONRUN_NCORES_PER_INSTANCE", "43,43,42"}}));
  ASSERT_TRUE(result.ok()) << result.error().message;
  std::vector<std::string> got;
  for (const RankPlacement& r : result.value().ranks) {
    got.push_back(r.cpus.format() + "/" + r.mems.format() + "/" + std::to_string(r.omp_threads));
  }
  EXPECT_EQ(got, (V{"0-42/0/43", "43-85/1/43", "86-127/2/42"}));
  EXPECT_EQ(cpus(kSnc3, {{"XEONRUN_MODE", "throughput"}}), (V{"0-42", "43-85", "86-127"}));
  // 20 cores per rank inside nodes: 2 per node, each node's remainder unused (3, 3, 2).
  EXPECT_EQ(
      cpus(kSnc3, {{"XEONRUN_NCORES_PER_INSTANCE", "20"}, {"XEONRUN_SKIP_CROSS_NODE_CORES", "1"}}),
      (V{"0-19", "20-39", "43-62", "63-82", "86-105", "106-125"}));
  EXPECT_EQ(cpus(kSnc3, {{"XEONRUN_CORE_LIST", "0-31,62-79"}}), (V{"0-31,62-79"}));
}

}  // namespace
}  // namespace xeonplace
