// plan(topology, config) on the fixtures of tests/fixtures (each test names its fixture) and on
// small Topology values built here for what an lscpu dump cannot express (hybrid parts, CPU-less
// nodes, CPUs outside the allowed set). Upstream fixture results are what run_cpu plans for it.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/lscpu.h"
#include "core/planner.h"
#include "fixtures.h"
#include "sys/topology_source.h"

namespace xeonplace {
namespace {

using test::planned;
using test::xml_fixture;
Topology fixture(const std::string& name) { return test::lscpu_fixture(name); }

constexpr const char* kUpstream = "pytorch_test_2s4c_ht.lscpu";

std::string plan_error(const Topology& topology, const Config& config) {
  Expected<Plan> result = plan(topology, config);
  EXPECT_FALSE(result.ok());
  return result.ok() ? std::string() : result.error().message;
}

// Every rank's CPUs as lists, e.g. {"0-3", "4-7"}.
std::vector<std::string> cpus_of(const Plan& plan) {
  std::vector<std::string> out;
  for (const RankPlacement& r : plan.ranks) out.push_back(r.cpus.format());
  return out;
}

std::vector<std::string> mems_of(const Plan& plan) {
  std::vector<std::string> out;
  for (const RankPlacement& r : plan.ranks) out.push_back(r.mems.format());
  return out;
}

std::vector<unsigned> omp_of(const Plan& plan) {
  std::vector<unsigned> out;
  for (const RankPlacement& r : plan.ranks) out.push_back(r.omp_threads);
  return out;
}

std::string env_value(const RankPlacement& rank, const std::string& name) {
  for (const EnvVar& var : rank.env) {
    if (var.name == name) return var.value;
  }
  return "<unset>";
}

std::string find_node_ids(const Topology& t) {
  CpuSet ids;
  for (const NumaNode& node : t.nodes) ids.add(node.id);
  return ids.format();
}

bool any_contains(const std::vector<std::string>& items, const std::string& part) {
  for (const std::string& item : items) {
    if (item.find(part) != std::string::npos) return true;
  }
  return false;
}

using Ids = std::vector<std::string>;

// A machine described in code: one entry per PU.
struct PuSpec {
  unsigned cpu, core, node;
  CpuKind kind = CpuKind::Performance;
  bool allowed = true;
};

Topology built(const std::vector<PuSpec>& spec, const std::vector<unsigned>& extra_nodes = {}) {
  Topology t;
  t.source = "test topology";
  for (const PuSpec& s : spec) {
    Pu pu;
    pu.cpu = s.cpu;
    pu.core = s.core;
    pu.node = s.node;
    pu.package = s.node;
    pu.kind = s.kind;
    pu.allowed = s.allowed;
    t.pus.push_back(pu);
  }
  for (unsigned id : extra_nodes) {
    NumaNode node;
    node.id = id;
    t.nodes.push_back(node);
  }
  t.finalize();
  return t;
}

// Alder Lake style: 8 P-cores with adjacent siblings (CPUs 0-15), 8 E-cores (CPUs 16-23).
Topology hybrid_8p8e() {
  std::vector<PuSpec> spec;
  for (unsigned c = 0; c < 8; ++c) {
    spec.push_back({2 * c, c, 0});
    spec.push_back({2 * c + 1, c, 0});
  }
  for (unsigned c = 8; c < 16; ++c) spec.push_back({c + 8, c, 0, CpuKind::Efficient});
  return built(spec);
}

// 2 nodes of 4 cores without SMT (CPUs 0-3, 4-7) and a CPU-less memory node 2 (HBM/CXL).
Topology with_cpuless_node() {
  std::vector<PuSpec> spec;
  for (unsigned c = 0; c < 8; ++c) spec.push_back({c, c, c / 4});
  return built(spec, {2});
}

// ---- the upstream fixture: what run_cpu plans -------------------------------------------------

TEST(Planner, DefaultIsOneRankOverAllPhysicalCoresOnUpstreamFixture) {
  Plan p = planned(fixture(kUpstream), Config{});
  EXPECT_EQ(p.nranks, 1u);
  EXPECT_EQ(cpus_of(p), Ids({"0-7"}));
  EXPECT_EQ(mems_of(p), Ids({"0-1"}));
  EXPECT_EQ(omp_of(p), std::vector<unsigned>({8}));
  EXPECT_TRUE(any_contains(p.ranks[0].warnings, "different NUMA nodes 0-1"));
}

TEST(Planner, NinstancesTwoSplitsByNodeOnUpstreamFixture) {
  Config c;
  c.nranks = 2;
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(p.nranks, 2u);
  EXPECT_EQ(cpus_of(p), Ids({"0-3", "4-7"}));
  EXPECT_EQ(mems_of(p), Ids({"0", "1"}));
  EXPECT_EQ(omp_of(p), std::vector<unsigned>({4, 4}));
  EXPECT_TRUE(p.ranks[0].warnings.empty());
  EXPECT_TRUE(p.warnings.empty());
}

TEST(Planner, NcoresPerInstanceTwoGivesFourRanksOnUpstreamFixture) {
  Config c;
  c.ncores_per_instance = {2};
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-1", "2-3", "4-5", "6-7"}));
  EXPECT_EQ(mems_of(p), Ids({"0", "0", "1", "1"}));
  EXPECT_EQ(omp_of(p), std::vector<unsigned>({2, 2, 2, 2}));
}

TEST(Planner, LatencyModeGivesFourCoresPerRankOnUpstreamFixture) {
  Config c;
  c.mode = Mode::Latency;
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-3", "4-7"}));
  EXPECT_EQ(mems_of(p), Ids({"0", "1"}));
  EXPECT_EQ(omp_of(p), std::vector<unsigned>({4, 4}));
  EXPECT_TRUE(p.warnings.empty());
}

TEST(Planner, LatencyModeIgnoresSizingFlagsWithRunCpuWarningOnUpstreamFixture) {
  Config c;
  c.mode = Mode::Latency;
  c.nranks = 1;
  c.node_id = 1;
  c.use_logical_core = true;
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-3", "4-7"}));
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_EQ(p.warnings[0],
            "XEONRUN_MODE=latency is exclusive to XEONRUN_NINSTANCES, XEONRUN_NODE_ID and "
            "XEONRUN_USE_LOGICAL_CORE; they take no effect even though they are set");
}

TEST(Planner, ThroughputModeGivesOneRankPerNodeOnUpstreamFixture) {
  Config c;
  c.mode = Mode::Throughput;
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-3", "4-7"}));
  EXPECT_EQ(mems_of(p), Ids({"0", "1"}));
  EXPECT_EQ(omp_of(p), std::vector<unsigned>({4, 4}));
}

TEST(Planner, ThroughputModeWarnsAboutIgnoredNcoresOnUpstreamFixture) {
  Config c;
  c.mode = Mode::Throughput;
  c.ncores_per_instance = {2};
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-3", "4-7"}));
  EXPECT_TRUE(any_contains(p.warnings,
                           "XEONRUN_MODE=throughput is exclusive to "
                           "XEONRUN_NCORES_PER_INSTANCE"));
}

TEST(Planner, MultiInstanceWithoutSizingIsOneRankPerNodeOnUpstreamFixture) {
  Config c;
  c.mode = Mode::MultiInstance;
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-3", "4-7"}));
}

TEST(Planner, MultiInstanceWithSizingSlicesLikeDefaultOnUpstreamFixture) {
  Config c;
  c.mode = Mode::MultiInstance;
  c.nranks = 4;
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-1", "2-3", "4-5", "6-7"}));
}

TEST(Planner, NodeIdUsesOnlyThatNodesCoresOnUpstreamFixture) {
  Config c;
  c.node_id = 1;
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(cpus_of(p), Ids({"4-7"}));
  EXPECT_EQ(mems_of(p), Ids({"1"}));
  EXPECT_EQ(omp_of(p), std::vector<unsigned>({4}));
  EXPECT_TRUE(p.ranks[0].warnings.empty());
}

TEST(Planner, LogicalCoresOfNodeZeroIncludeSiblingsOnUpstreamFixture) {
  Config c;
  c.use_logical_core = true;
  c.node_id = 0;
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-3,8-11"}));
  EXPECT_EQ(mems_of(p), Ids({"0"}));
  EXPECT_EQ(omp_of(p), std::vector<unsigned>({8}));
}

TEST(Planner, LogicalCoresOfNodeOneIncludeSiblingsOnUpstreamFixture) {
  Config c;
  c.use_logical_core = true;
  c.node_id = 1;
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(cpus_of(p), Ids({"4-7,12-15"}));
  EXPECT_EQ(mems_of(p), Ids({"1"}));
}

TEST(Planner, LogicalCoresOfAllNodesAreOneRankOnUpstreamFixture) {
  Config c;
  c.use_logical_core = true;
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-15"}));
  EXPECT_EQ(omp_of(p), std::vector<unsigned>({16}));
}

TEST(Planner, CoreListWithNcoresPerInstanceOnUpstreamFixture) {
  Config c;
  c.core_list = CpuSet{0, 1, 2, 3};
  c.ncores_per_instance = {2};
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-1", "2-3"}));
  EXPECT_EQ(mems_of(p), Ids({"0", "0"}));
  EXPECT_EQ(omp_of(p), std::vector<unsigned>({2, 2}));
}

TEST(Planner, CoreListWithoutSizingIsOneRankOverTheListOnUpstreamFixture) {
  Config c;
  c.core_list = CpuSet{0, 1, 2, 3};
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-3"}));
  EXPECT_EQ(omp_of(p), std::vector<unsigned>({4}));
}

TEST(Planner, CoreListWithNinstancesSplitsTheListOnUpstreamFixture) {
  Config c;
  c.core_list = CpuSet{0, 1, 2, 3, 8, 9};
  c.nranks = 3;
  Plan p = planned(fixture(kUpstream), c);
  // run_cpu's order: the listed CPUs ascending, each one unit.
  EXPECT_EQ(cpus_of(p), Ids({"0-1", "2-3", "8-9"}));
}

TEST(Planner, CoreListInLogicalModeKeepsSiblingsTogetherOnUpstreamFixture) {
  Config c;
  c.core_list = CpuSet{0, 1, 8, 9};
  c.use_logical_core = true;
  c.nranks = 2;
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(cpus_of(p), Ids({"0,8", "1,9"}));
}

TEST(Planner, CoreListWithNodeIdUsesTheListedCpusOfThatNodeOnUpstreamFixture) {
  Config c;
  c.core_list = CpuSet{2, 3, 4, 5};
  c.node_id = 1;
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(cpus_of(p), Ids({"4-5"}));
}

TEST(Planner, RankSelectsOneRankOfTheWholePlanOnUpstreamFixture) {
  Config c;
  c.rank = 1;
  c.nranks = 2;
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(p.nranks, 2u);
  ASSERT_EQ(p.ranks.size(), 1u);
  EXPECT_EQ(p.ranks[0].rank, 1u);
  EXPECT_EQ(cpus_of(p), Ids({"4-7"}));
  EXPECT_EQ(mems_of(p), Ids({"1"}));
  EXPECT_EQ(env_value(p.ranks[0], "OMP_NUM_THREADS"), "4");
}

TEST(Planner, RankWithoutSizingIsOneRankPerNodeOnUpstreamFixture) {
  Config c;
  c.rank = 1;
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(p.nranks, 2u);
  EXPECT_EQ(cpus_of(p), Ids({"4-7"}));
}

TEST(Planner, NinstancesAndNcoresTogetherOnUpstreamFixture) {
  Config c;
  c.nranks = 2;
  c.ncores_per_instance = {3};
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-2", "3-5"}));
  EXPECT_EQ(mems_of(p), Ids({"0", "0-1"}));
  EXPECT_TRUE(any_contains(p.ranks[1].warnings, "different NUMA nodes 0-1"));
  EXPECT_TRUE(any_contains(p.warnings,
                           "CPUs 6-7 are not used by any rank: the ranks asked for "
                           "take 6 of the 8 usable cores"));
}

TEST(Planner, CommaListGivesConsecutiveRanksOfThoseSizesOnUpstreamFixture) {
  Config c;
  c.ncores_per_instance = {2, 2, 4};
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-1", "2-3", "4-7"}));
  EXPECT_EQ(omp_of(p), std::vector<unsigned>({2, 2, 4}));
}

TEST(Planner, IntelRuntimeEnvIsRunCpusOnUpstreamFixture) {
  Config c;
  c.thread_pools = ThreadPools::OpenMp;  // run_cpu sets OpenMP's variables only
  c.nranks = 2;
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(p.ranks[0].env, (std::vector<EnvVar>{{"OMP_NUM_THREADS", "4"},
                                                 {"KMP_AFFINITY", "granularity=fine,compact,1,0"},
                                                 {"KMP_BLOCKTIME", "1"}}));
}

TEST(Planner, PlansLogicalCoresOnlyOutsideLatencyAndThroughput) {
  Config c;
  c.use_logical_core = true;
  EXPECT_TRUE(plans_logical_cores(c));
  c.mode = Mode::Latency;
  EXPECT_FALSE(plans_logical_cores(c));
  c.mode = Mode::Throughput;
  EXPECT_FALSE(plans_logical_cores(c));
  c.mode = Mode::MultiInstance;
  EXPECT_TRUE(plans_logical_cores(c));
}

// ---- errors, on the upstream fixture ------------------------------------------------------------

TEST(Planner, RankOutOfRangeIsAnError) {
  Config c;
  c.rank = 5;
  c.nranks = 4;
  EXPECT_EQ(plan_error(fixture(kUpstream), c),
            "XEONRUN_RANK=5: rank out of range; accepted: 0-3 (4 ranks planned)");
}

TEST(Planner, RankOutOfRangeOfOneRankSaysZero) {
  Config c;
  c.rank = 1;
  c.core_list = CpuSet{0, 1};
  c.ncores_per_instance = {2};
  EXPECT_EQ(plan_error(fixture(kUpstream), c),
            "XEONRUN_RANK=1: rank out of range; accepted: 0 (1 rank planned)");
}

TEST(Planner, MoreInstancesThanCoresIsRunCpusError) {
  Config c;
  c.nranks = 9;
  EXPECT_EQ(plan_error(fixture(kUpstream), c),
            "XEONRUN_NINSTANCES=9: there are 8 total cores but you specify 9 ninstances; please "
            "make sure ninstances <= total_cores");
}

TEST(Planner, ZeroInstancesIsAnError) {
  Config c;
  c.nranks = 0;
  EXPECT_EQ(plan_error(fixture(kUpstream), c), "XEONRUN_NINSTANCES=0: accepted: 1 or more");
}

TEST(Planner, ZeroCoresPerInstanceIsAnError) {
  Config c;
  c.ncores_per_instance = {0};
  EXPECT_EQ(plan_error(fixture(kUpstream), c),
            "XEONRUN_NCORES_PER_INSTANCE=0: accepted: counts of 1 or more");
}

TEST(Planner, MoreCoresPerInstanceThanCoresIsAnErrorWhereRunCpuLaunchesNothing) {
  Config c;
  c.ncores_per_instance = {9};
  EXPECT_EQ(plan_error(fixture(kUpstream), c),
            "XEONRUN_NCORES_PER_INSTANCE=9: only 8 cores are usable, so no rank fits; accepted: "
            "1-8");
}

TEST(Planner, InstancesTimesCoresAboveCoresIsAnError) {
  Config c;
  c.nranks = 3;
  c.ncores_per_instance = {3};
  EXPECT_EQ(plan_error(fixture(kUpstream), c),
            "XEONRUN_NINSTANCES=3 x XEONRUN_NCORES_PER_INSTANCE=3 asks for 9 cores but only 8 "
            "are usable; please make sure ninstances * ncores_per_instance <= total_cores");
}

TEST(Planner, CommaListLongerThanCoresIsAnError) {
  Config c;
  c.ncores_per_instance = {4, 4, 2};
  std::string error = plan_error(fixture(kUpstream), c);
  EXPECT_NE(error.find("XEONRUN_NCORES_PER_INSTANCE=4,4,2 asks for 10 cores but only 8"),
            std::string::npos)
      << error;
}

TEST(Planner, CommaListAndDifferentNinstancesIsAnError) {
  Config c;
  c.ncores_per_instance = {2, 2};
  c.nranks = 3;
  EXPECT_EQ(plan_error(fixture(kUpstream), c),
            "XEONRUN_NINSTANCES=3: XEONRUN_NCORES_PER_INSTANCE=2,2 lists 2 ranks; accepted: "
            "XEONRUN_NINSTANCES=2 or unset");
}

TEST(Planner, UnknownNodeIsAnErrorListingTheNodes) {
  Config c;
  c.node_id = 2;
  EXPECT_EQ(plan_error(fixture(kUpstream), c),
            "XEONRUN_NODE_ID=2: no such NUMA node; accepted: 0-1");
}

TEST(Planner, CoreListWithUnknownCpuIsAnError) {
  Config c;
  c.core_list = CpuSet{0, 99};
  EXPECT_EQ(plan_error(fixture(kUpstream), c),
            "XEONRUN_CORE_LIST=0,99: CPU 99 does not exist on lscpu:pytorch_test_2s4c_ht.lscpu; "
            "accepted: usable CPUs 0-15");
}

TEST(Planner, EmptyCoreListIsAnError) {
  Config c;
  c.core_list = CpuSet{};
  std::string error = plan_error(fixture(kUpstream), c);
  EXPECT_EQ(error.rfind("XEONRUN_CORE_LIST=: the list is empty", 0), 0u) << error;
}

TEST(Planner, CoreListWithoutCpusOfTheNodeIsAnError) {
  Config c;
  c.core_list = CpuSet{0, 1};
  c.node_id = 1;
  std::string error = plan_error(fixture(kUpstream), c);
  EXPECT_EQ(error.rfind("XEONRUN_NODE_ID=1: none of node 1's CPUs is usable here", 0), 0u) << error;
  EXPECT_NE(error.find("accepted: 0"), std::string::npos) << error;
}

TEST(Planner, OddLogicalCountWithTwoThreadsPerCoreIsAnError) {
  Config c;
  c.use_logical_core = true;
  c.ncores_per_instance = {3};
  EXPECT_EQ(plan_error(fixture(kUpstream), c),
            "XEONRUN_NCORES_PER_INSTANCE=3: with XEONRUN_USE_LOGICAL_CORE the count is of logical "
            "CPUs and a rank takes whole cores of 2 logical CPUs each, so 3 would split a core; "
            "accepted: a multiple of 2");
}

TEST(Planner, UnknownMemNodeIsAnError) {
  Config c;
  c.mem_nodes = CpuSet{5};
  EXPECT_EQ(plan_error(fixture(kUpstream), c),
            "XEONRUN_MEM_NODES=5: node 5 does not exist on lscpu:pytorch_test_2s4c_ht.lscpu; "
            "accepted: allowed nodes 0-1");
}

TEST(Planner, MemNodesReplaceTheCpusNodesOnUpstreamFixture) {
  Config c;
  c.nranks = 2;
  c.mem_nodes = CpuSet{1};
  Plan p = planned(fixture(kUpstream), c);
  EXPECT_EQ(mems_of(p), Ids({"1", "1"}));
}

// ---- correct where run_cpu is wrong -------------------------------------------------------------

TEST(Planner, AdjacentSiblingsRanksGetFirstPusNotCoreIds) {
  // adjacent_siblings_2s4c.lscpu: CPUs 2k and 2k+1 share core k.
  Topology t = fixture("adjacent_siblings_2s4c.lscpu");
  Plan all = planned(t, Config{});
  EXPECT_EQ(cpus_of(all), Ids({"0,2,4,6,8,10,12,14"}));
  Config c;
  c.nranks = 2;
  Plan p = planned(t, c);
  EXPECT_EQ(cpus_of(p), Ids({"0,2,4,6", "8,10,12,14"}));
  EXPECT_EQ(mems_of(p), Ids({"0", "1"}));
  EXPECT_EQ(omp_of(p), std::vector<unsigned>({4, 4}));
}

TEST(Planner, AdjacentSiblingsLogicalRanksTakeWholeCores) {
  // adjacent_siblings_2s4c.lscpu
  Config c;
  c.use_logical_core = true;
  c.ncores_per_instance = {4};
  Plan p = planned(fixture("adjacent_siblings_2s4c.lscpu"), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-3", "4-7", "8-11", "12-15"}));
  EXPECT_EQ(omp_of(p), std::vector<unsigned>({4, 4, 4, 4}));
}

TEST(Planner, LogicalRanksNeverShareAPhysicalCore) {
  // adjacent_siblings_2s4c.lscpu with 3 ranks: 8 cores split 2/2/2, never a sibling apart.
  Topology t = fixture("adjacent_siblings_2s4c.lscpu");
  Config c;
  c.use_logical_core = true;
  c.nranks = 3;
  Plan p = planned(t, c);
  ASSERT_EQ(p.ranks.size(), 3u);
  std::set<unsigned> seen_cores;
  for (const RankPlacement& r : p.ranks) {
    std::set<unsigned> cores;
    for (unsigned cpu : r.cpus.ids()) cores.insert(t.pus[cpu].core);
    for (unsigned core : cores) EXPECT_TRUE(seen_cores.insert(core).second) << core;
    EXPECT_EQ(r.omp_threads, 4u);
  }
  EXPECT_EQ(cpus_of(p), Ids({"0-3", "4-7", "8-11"}));
  EXPECT_TRUE(any_contains(p.warnings, "CPUs 12-15 are not used by any rank"));
}

TEST(Planner, LogicalTwoRanksOnXeonKeepSiblingsTogether) {
  // xeon_2s28c_ht.lscpu: siblings at +56.
  Config c;
  c.use_logical_core = true;
  c.nranks = 2;
  Plan p = planned(fixture("xeon_2s28c_ht.lscpu"), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-27,56-83", "28-55,84-111"}));
  EXPECT_EQ(omp_of(p), std::vector<unsigned>({56, 56}));
  EXPECT_EQ(mems_of(p), Ids({"0", "1"}));
}

TEST(Planner, XeonDefaultAndLatencyMode) {
  // xeon_2s28c_ht.lscpu: 56 physical cores -> 14 latency ranks of 4.
  Topology t = fixture("xeon_2s28c_ht.lscpu");
  EXPECT_EQ(cpus_of(planned(t, Config{})), Ids({"0-55"}));
  Config c;
  c.mode = Mode::Latency;
  Plan p = planned(t, c);
  EXPECT_EQ(p.nranks, 14u);
  EXPECT_EQ(p.ranks[6].cpus.format(), "24-27");
  EXPECT_EQ(p.ranks[7].cpus.format(), "28-31");
  EXPECT_EQ(p.ranks[7].mems.format(), "1");
}

TEST(Planner, SixteenNodesThroughputUsesNodeIdsAboveTen) {
  // snc4_4s16c_16nodes.lscpu: node n = CPUs 4n..4n+3.
  Config c;
  c.mode = Mode::Throughput;
  Plan p = planned(fixture("snc4_4s16c_16nodes.lscpu"), c);
  ASSERT_EQ(p.nranks, 16u);
  for (unsigned n = 0; n < 16; ++n) {
    EXPECT_EQ(p.ranks[n].cpus.format(), std::to_string(4 * n) + "-" + std::to_string(4 * n + 3));
    EXPECT_EQ(p.ranks[n].mems.format(), std::to_string(n));
  }
}

TEST(Planner, SixteenNodesNodeIdTwelve) {
  // snc4_4s16c_16nodes.lscpu
  Config c;
  c.node_id = 12;
  c.use_logical_core = true;
  Plan p = planned(fixture("snc4_4s16c_16nodes.lscpu"), c);
  EXPECT_EQ(cpus_of(p), Ids({"48-51,112-115"}));
  EXPECT_EQ(mems_of(p), Ids({"12"}));
}

TEST(Planner, SixteenNodesDefaultRankSpansEveryNode) {
  // snc4_4s16c_16nodes.lscpu
  Plan p = planned(fixture("snc4_4s16c_16nodes.lscpu"), Config{});
  EXPECT_EQ(cpus_of(p), Ids({"0-63"}));
  EXPECT_EQ(mems_of(p), Ids({"0-15"}));
}

TEST(Planner, OfflineCpuIsNeverPlanned) {
  // offline_cpu_missing.lscpu: CPU 3 offline, so core 3 keeps only its sibling 7.
  for (const char* name :
       {"offline_cpu_missing.lscpu", "offline_cpu_all.lscpu", "offline_cpu_online_column.lscpu"}) {
    Topology t = fixture(name);
    EXPECT_EQ(cpus_of(planned(t, Config{})), Ids({"0-2,7"})) << name;
    Config logical;
    logical.use_logical_core = true;
    EXPECT_EQ(cpus_of(planned(t, logical)), Ids({"0-2,4-7"})) << name;
  }
}

TEST(Planner, OfflineCpuInCoreListIsAnError) {
  // offline_cpu_all.lscpu: CPU 3 has a row but is offline.
  Config c;
  c.core_list = CpuSet{2, 3};
  std::string error = plan_error(fixture("offline_cpu_all.lscpu"), c);
  EXPECT_EQ(error, "XEONRUN_CORE_LIST=2-3: CPU 3 is offline; accepted: usable CPUs 0-2,4-7");
}

TEST(Planner, UnevenLogicalCoresSplitGreedilyButNeverSplitACore) {
  // offline_cpu_missing.lscpu in logical mode: cores of 2,2,2,1 logical CPUs.
  Topology t = fixture("offline_cpu_missing.lscpu");
  Config c;
  c.use_logical_core = true;
  c.ncores_per_instance = {2};
  Plan p = planned(t, c);
  EXPECT_EQ(cpus_of(p), Ids({"0,4", "1,5", "2,6"}));
  EXPECT_TRUE(any_contains(p.warnings, "CPUs 7 are not used"));
  c.ncores_per_instance = {3};
  std::string error = plan_error(t, c);
  EXPECT_EQ(error.rfind("XEONRUN_NCORES_PER_INSTANCE=3: with XEONRUN_USE_LOGICAL_CORE a rank "
                        "takes whole cores, and rank 0 would split the core of CPUs 1,5",
                        0),
            0u)
      << error;
}

TEST(Planner, EmptyNodeColumnIsNodeZero) {
  // vm_no_numa.lscpu
  Plan p = planned(fixture("vm_no_numa.lscpu"), Config{});
  EXPECT_EQ(cpus_of(p), Ids({"0-3"}));
  EXPECT_EQ(mems_of(p), Ids({"0"}));
  EXPECT_TRUE(p.ranks[0].warnings.empty());
}

TEST(Planner, LatencyModeOnExactlyFourCoresIsOneRank) {
  // vm_no_numa.lscpu
  Config c;
  c.mode = Mode::Latency;
  EXPECT_EQ(cpus_of(planned(fixture("vm_no_numa.lscpu"), c)), Ids({"0-3"}));
}

TEST(Planner, LatencyModeOnFewerThanFourCoresIsAnError) {
  Topology t = built({{0, 0, 0}, {1, 1, 0}, {2, 2, 0}});
  Config c;
  c.mode = Mode::Latency;
  EXPECT_EQ(plan_error(t, c),
            "XEONRUN_MODE=latency: latency mode gives each rank 4 physical cores, but only 3 "
            "usable cores exist (CPUs 0-2); accepted: a machine or allowed set with at least 4 "
            "cores, or XEONRUN_NCORES_PER_INSTANCE");
}

TEST(Planner, UnevenNodesThroughputGivesEachNodeItsOwnCores) {
  // uneven_nodes_4_4_2.lscpu: run_cpu would slice 10 // 3 = 3 cores per rank across nodes.
  Config c;
  c.mode = Mode::Throughput;
  Plan p = planned(fixture("uneven_nodes_4_4_2.lscpu"), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-3", "4-7", "8-9"}));
  EXPECT_EQ(mems_of(p), Ids({"0", "1", "2"}));
  EXPECT_EQ(omp_of(p), std::vector<unsigned>({4, 4, 2}));
}

TEST(Planner, UnevenNodesSkipCrossNodeCoresIsComputedPerNode) {
  // uneven_nodes_4_4_2.lscpu: 3 cores per rank fit once in nodes 0 and 1, never in node 2.
  Topology t = fixture("uneven_nodes_4_4_2.lscpu");
  Config c;
  c.ncores_per_instance = {3};
  Plan across = planned(t, c);
  EXPECT_EQ(cpus_of(across), Ids({"0-2", "3-5", "6-8"}));
  EXPECT_EQ(across.warnings,
            std::vector<std::string>{
                "CPUs 9 are not used by any rank: 10 cores do not divide into ranks of 3"});
  c.skip_cross_node_cores = true;
  Plan p = planned(t, c);
  EXPECT_EQ(cpus_of(p), Ids({"0-2", "4-6"}));
  EXPECT_EQ(mems_of(p), Ids({"0", "1"}));
  EXPECT_TRUE(any_contains(p.warnings,
                           "CPUs 3,7-9 are not used by any rank: "
                           "XEONRUN_SKIP_CROSS_NODE_CORES leaves each node's "
                           "remainder unused"));
  c.ncores_per_instance = {2};
  EXPECT_EQ(cpus_of(planned(t, c)), Ids({"0-1", "2-3", "4-5", "6-7", "8-9"}));
}

TEST(Planner, SkipCrossNodeCoresLargerThanEveryNodeWarnsAndSpansNodes) {
  // uneven_nodes_4_4_2.lscpu
  Config c;
  c.ncores_per_instance = {5};
  c.skip_cross_node_cores = true;
  Plan p = planned(fixture("uneven_nodes_4_4_2.lscpu"), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-4", "5-9"}));
  EXPECT_TRUE(any_contains(p.warnings,
                           "there are 4 cores per node at most, but you specify 5 "
                           "ncores_per_instance and skip_cross_node_cores"));
}

TEST(Planner, SkipCrossNodeCoresWithTooManyInstancesIsAnError) {
  // uneven_nodes_4_4_2.lscpu: 3 ranks of 3 cores fit in 10 cores, but only 2 inside nodes.
  Config c;
  c.ncores_per_instance = {3};
  c.nranks = 3;
  c.skip_cross_node_cores = true;
  std::string error = plan_error(fixture("uneven_nodes_4_4_2.lscpu"), c);
  EXPECT_EQ(error.rfind("XEONRUN_NCORES_PER_INSTANCE=3 with XEONRUN_SKIP_CROSS_NODE_CORES: only 2 "
                        "of the 3 ranks fit inside single NUMA nodes",
                        0),
            0u)
      << error;
}

TEST(Planner, UnevenNodesBareRankIsOneRankPerNode) {
  // uneven_nodes_4_4_2.lscpu
  Config c;
  c.rank = 2;
  Plan p = planned(fixture("uneven_nodes_4_4_2.lscpu"), c);
  EXPECT_EQ(p.nranks, 3u);
  EXPECT_EQ(cpus_of(p), Ids({"8-9"}));
  EXPECT_EQ(omp_of(p), std::vector<unsigned>({2}));
}

TEST(Planner, NinstancesWithLeftoverCoresWarns) {
  // uneven_nodes_4_4_2.lscpu: 10 cores into 3 ranks of 3.
  Config c;
  c.nranks = 3;
  Plan p = planned(fixture("uneven_nodes_4_4_2.lscpu"), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-2", "3-5", "6-8"}));
  EXPECT_TRUE(any_contains(p.warnings,
                           "CPUs 9 are not used by any rank: 10 cores do not split "
                           "evenly into 3 ranks"));
}

TEST(Planner, HybridUsesPerformanceCoresOnlyByDefault) {
  Topology t = hybrid_8p8e();
  Plan p = planned(t, Config{});
  EXPECT_EQ(cpus_of(p), Ids({"0,2,4,6,8,10,12,14"}));
  Config c;
  c.use_efficient_cores = true;
  EXPECT_EQ(cpus_of(planned(t, c)), Ids({"0,2,4,6,8,10,12,14,16-23"}));
  c.mode = Mode::Latency;
  EXPECT_EQ(planned(t, c).nranks, 4u);
}

TEST(Planner, HybridLogicalWithEfficientCoresTakesWholeCores) {
  // P-cores weigh 2 logical CPUs, E-cores 1: ranks of 4 are 2 P-cores or 4 E-cores.
  Config c;
  c.use_efficient_cores = true;
  c.use_logical_core = true;
  c.ncores_per_instance = {4};
  Plan p = planned(hybrid_8p8e(), c);
  EXPECT_EQ(cpus_of(p), Ids({"0-3", "4-7", "8-11", "12-15", "16-19", "20-23"}));
}

TEST(Planner, CpulessNodeIsNeverACpuNode) {
  Topology t = with_cpuless_node();
  Config c;
  c.mode = Mode::Throughput;
  Plan p = planned(t, c);
  EXPECT_EQ(cpus_of(p), Ids({"0-3", "4-7"}));
  EXPECT_EQ(mems_of(p), Ids({"0", "1"}));
  Config node;
  node.node_id = 2;
  EXPECT_EQ(plan_error(t, node),
            "XEONRUN_NODE_ID=2: node 2 has no CPUs (a memory-only node); accepted: 0-1");
}

TEST(Planner, CpulessNodeIsInMemsWhenAskedFor) {
  Config c;
  c.nranks = 2;
  c.mem_nodes = CpuSet{1, 2};
  Plan p = planned(with_cpuless_node(), c);
  EXPECT_EQ(mems_of(p), Ids({"1-2", "1-2"}));
}

TEST(Planner, DisallowedCpusAreNeverPlanned) {
  // A container whose cpuset holds CPUs 0-1 and 4-5 of a 2-node, 8-CPU machine.
  std::vector<PuSpec> spec;
  for (unsigned c = 0; c < 8; ++c) spec.push_back({c, c, c / 4, CpuKind::Performance, c % 4 < 2});
  Topology t = built(spec);
  Config c;
  c.mode = Mode::Throughput;
  EXPECT_EQ(cpus_of(planned(t, c)), Ids({"0-1", "4-5"}));
  Config listed;
  listed.core_list = CpuSet{1, 2};
  EXPECT_EQ(plan_error(t, listed),
            "XEONRUN_CORE_LIST=1-2: CPU 2 is outside the CPUs this process may use; accepted: "
            "usable CPUs 0-1,4-5");
}

TEST(Planner, NodeWithoutUsableCpusIsAnError) {
  std::vector<PuSpec> spec;
  for (unsigned c = 0; c < 8; ++c) spec.push_back({c, c, c / 4, CpuKind::Performance, c < 4});
  Config c;
  c.node_id = 1;
  std::string error = plan_error(built(spec), c);
  EXPECT_EQ(error.rfind("XEONRUN_NODE_ID=1: none of node 1's CPUs is usable here", 0), 0u) << error;
  EXPECT_NE(error.find("; accepted: 0"), std::string::npos) << error;
}

TEST(Planner, NoUsableCpusIsAnError) {
  Topology t = built({{0, 0, 0, CpuKind::Efficient}});
  std::string error = plan_error(t, Config{});
  EXPECT_NE(error.find("no usable CPUs on test topology"), std::string::npos) << error;
  EXPECT_NE(error.find("XEONRUN_USE_EFFICIENT_CORES"), std::string::npos) << error;
}

TEST(Planner, DisallowedMemNodeIsAnError) {
  Topology t = with_cpuless_node();
  t.nodes[2].allowed = false;
  t.allowed_mems.remove(2);
  Config c;
  c.mem_nodes = CpuSet{2};
  EXPECT_EQ(plan_error(t, c),
            "XEONRUN_MEM_NODES=2: node 2 is outside the memory nodes this process may use; "
            "accepted: allowed nodes 0-1");
}

TEST(Planner, CpuNodesOutsideAllowedMemsFallBackWithAWarning) {
  Topology t = with_cpuless_node();
  t.allowed_mems = CpuSet{0, 2};
  Config c;
  c.node_id = 1;
  Plan p = planned(t, c);
  EXPECT_EQ(mems_of(p), Ids({"0,2"}));
  EXPECT_TRUE(any_contains(p.ranks[0].warnings, "outside the allowed memory nodes"));
}

TEST(Planner, HybridXmlFixtureUsesPerformanceCoresUnlessAsked) {
  // hybrid_8p8e.xml: P-cores = CPUs 2k,2k+1 (k < 8), E-cores = CPUs 16-23.
  Topology t = xml_fixture("hybrid_8p8e.xml");
  EXPECT_EQ(cpus_of(planned(t, Config{})), Ids({"0,2,4,6,8,10,12,14"}));
  Config c;
  c.use_efficient_cores = true;
  c.nranks = 2;
  EXPECT_EQ(cpus_of(planned(t, c)), Ids({"0,2,4,6,8,10,12,14", "16-23"}));
}

TEST(Planner, CpulessHbmXmlFixtureIsOnlyAMemoryNode) {
  // cpuless_hbm_node.xml: node 0 = CPUs 0-3,8-11, node 1 = 4-7,12-15, node 2 = HBM, no CPUs.
  Topology t = xml_fixture("cpuless_hbm_node.xml");
  Config c;
  c.mode = Mode::Throughput;
  Plan p = planned(t, c);
  EXPECT_EQ(cpus_of(p), Ids({"0-3", "4-7"}));
  EXPECT_EQ(mems_of(p), Ids({"0", "1"}));
  c.mem_nodes = CpuSet{0, 2};
  EXPECT_EQ(mems_of(planned(t, c)), Ids({"0,2", "0,2"}));
  Config node;
  node.node_id = 2;
  EXPECT_EQ(plan_error(t, node),
            "XEONRUN_NODE_ID=2: node 2 has no CPUs (a memory-only node); accepted: 0-1");
}

TEST(Planner, OfflineAndDisallowedXmlFixtureIsPlannedInsideTheCgroup) {
  // offline_disallowed.xml: adjacent siblings, CPU 3 offline, CPU 5 and node 1 outside the cgroup.
  Topology t = xml_fixture("offline_disallowed.xml");
  Config c;
  c.mode = Mode::Throughput;
  Plan p = planned(t, c);
  EXPECT_EQ(cpus_of(p), Ids({"0,2", "4,6"}));
  // Node 1's memory is not allowed: rank 1 falls back to the allowed node 0, and says so.
  EXPECT_EQ(mems_of(p), Ids({"0", "0"}));
  EXPECT_TRUE(any_contains(p.ranks[1].warnings, "outside the allowed memory nodes"));
  Config logical;
  logical.use_logical_core = true;
  EXPECT_EQ(cpus_of(planned(t, logical)), Ids({"0-2,4,6-7"}));
  Config mems;
  mems.mem_nodes = CpuSet{1};
  EXPECT_EQ(plan_error(t, mems),
            "XEONRUN_MEM_NODES=1: node 1 is outside the memory nodes this process may use; "
            "accepted: allowed nodes 0");
}

// Found by the hostile-values suite: 40000 per-rank counts made an 80 KB "one line".
TEST(PlannerErrors, HugeCountListIsCutInTheError) {
  Config config;
  config.ncores_per_instance.assign(40000, 1);
  const std::string message = plan_error(fixture(kUpstream), config);
  EXPECT_EQ(message.rfind("XEONRUN_NCORES_PER_INSTANCE=1,1,", 0), 0U) << message.substr(0, 200);
  EXPECT_LT(message.size(), 1000U);
}

// ---- Issue #11: faults found on dumps of real machines (tests/fixtures/real, README.md there).

// The nodes of a topology that hold usable CPUs, each with those CPUs.
std::vector<CpuSet> usable_cpus_by_node(const Topology& t) {
  std::vector<CpuSet> out;
  for (const NumaNode& node : t.nodes) {
    CpuSet usable = node.cpus & t.allowed_cpus;
    if (!usable.empty()) out.push_back(usable);
  }
  return out;
}

CpuSet nodes_of_cpus(const Topology& t, const CpuSet& cpus) {
  CpuSet nodes;
  for (const Pu& pu : t.pus) {
    if (cpus.contains(pu.cpu)) nodes.add(pu.node);
  }
  return nodes;
}

TEST(RealMachines, NumaNodeHungFromACacheKeepsItsOwnCpus) {
  // hwloc attaches these nodes to an L3 (a die), not to the package.
  for (const char* name : {"real/opteron6134_4s8n_cgroup.xml", "real/opteron6276_4s8n.xml",
                           "real/kunpeng920_2s4n.xml"}) {
    SCOPED_TRACE(name);
    Topology t = xml_fixture(name);
    const std::vector<CpuSet> by_node = usable_cpus_by_node(t);
    ASSERT_GT(by_node.size(), 1U);
    for (std::size_t i = 0; i < by_node.size(); ++i) {
      for (std::size_t j = i + 1; j < by_node.size(); ++j) {
        EXPECT_TRUE((by_node[i] & by_node[j]).empty()) << "two nodes share a CPU";
      }
    }
    Config throughput;
    throughput.mode = Mode::Throughput;
    Plan p = planned(t, throughput);
    ASSERT_EQ(p.ranks.size(), by_node.size());
    for (const RankPlacement& rank : p.ranks) EXPECT_EQ(nodes_of_cpus(t, rank.cpus).count(), 1U);
    Config node1;
    node1.node_id = 1;
    Plan one = planned(t, node1);
    ASSERT_EQ(one.ranks.size(), 1U);
    EXPECT_EQ(nodes_of_cpus(t, one.ranks[0].cpus).format(), "1");
    EXPECT_EQ(one.ranks[0].mems.format(), "1");
  }
}

TEST(RealMachines, SkipCrossNodeCoresWithNinstancesAloneKeepsEachRankInsideOneNode) {
  for (const char* name : {"real/haswell_cod_2s4n.xml", "real/opteron6134_4s8n_cgroup.xml",
                           "real/handmade_xeon_2s_rr.xml"}) {
    SCOPED_TRACE(name);
    Topology t = xml_fixture(name);
    Config c;
    c.nranks = 3;
    c.skip_cross_node_cores = true;
    Plan p = planned(t, c);
    ASSERT_EQ(p.ranks.size(), 3U);
    for (const RankPlacement& rank : p.ranks) {
      EXPECT_EQ(nodes_of_cpus(t, rank.cpus).count(), 1U) << rank.cpus.format();
      EXPECT_EQ(rank.cpus.count(), p.ranks[0].cpus.count()) << "ranks of equal size";
    }
  }
}

TEST(RealMachines, SkipCrossNodeCoresFillsEveryNodeWhenRanksDivideIt) {
  Topology t = xml_fixture("real/haswell_cod_2s4n.xml");
  const std::vector<CpuSet> by_node = usable_cpus_by_node(t);
  Config c;
  c.nranks = static_cast<unsigned>(by_node.size());
  c.skip_cross_node_cores = true;
  Plan p = planned(t, c);
  ASSERT_EQ(p.ranks.size(), by_node.size());
  for (std::size_t i = 0; i < by_node.size(); ++i) EXPECT_EQ(p.ranks[i].cpus, by_node[i]);
}

TEST(RealMachines, ThreeKindHybridPlansOnlyTheMostPerformantKind) {
  // handmade_core_ultra_3kinds.xml: P-cores CPUs 0-11 (efficiency 2), E-cores 12-19 (1),
  // low-power E-cores 20-21 (0).
  Topology t = xml_fixture("real/handmade_core_ultra_3kinds.xml");
  for (const Pu& pu : t.pus) {
    EXPECT_EQ(pu.kind == CpuKind::Efficient, pu.cpu >= 12) << "CPU " << pu.cpu;
  }
  Plan p = planned(t, Config{});
  EXPECT_EQ(cpus_of(p), Ids({"0,2,4,6,8,10"}));
  Config all;
  all.use_efficient_cores = true;
  EXPECT_EQ(planned(t, all).ranks[0].cpus.count(), 16U);
}

TEST(RealMachines, CpusOfAnOfflineNodeBindToTheOnlyAllowedNode) {
  // offline-cpu0-node0: node 0 is offline, package 0's CPUs belong to no node.
  Topology t = xml_fixture("real/haswell_2s_offline_node0.xml");
  EXPECT_EQ(find_node_ids(t), "1");
  for (const Pu& pu : t.pus) {
    EXPECT_EQ(pu.node, 1U);
    EXPECT_NE(pu.node_link, NodeLink::None);
  }
  Plan p = planned(t, Config{});
  for (const RankPlacement& rank : p.ranks) EXPECT_EQ(rank.mems.format(), "1");
  // Throughput: node 1's own CPUs are one rank, the CPUs no node holds another, never mixed.
  CpuSet own;
  for (const Pu& pu : t.pus) {
    if (pu.node_link == NodeLink::Own && t.usable(pu)) own.add(pu.cpu);
  }
  Config throughput;
  throughput.mode = Mode::Throughput;
  Plan per_locality = planned(t, throughput);
  ASSERT_EQ(per_locality.ranks.size(), 2U);
  EXPECT_EQ(per_locality.ranks[0].cpus, own);
  EXPECT_TRUE((per_locality.ranks[1].cpus & own).empty());
  Config node1;
  node1.node_id = 1;
  EXPECT_EQ(planned(t, node1).ranks[0].cpus, own);
}

TEST(RealMachines, CpusWhoseNodeACgroupExportLeftOutAreNeverBoundToAnInventedNode) {
  // opteron865_8s_cpusets.xml: cpuset.mems 1-4, so nodes 0, 5-7 are not in the export while
  // packages 0, 6 and 7's CPUs are allowed; several nodes are allowed, none is local to them.
  Topology t = xml_fixture("real/opteron865_8s_cpusets.xml");
  CpuSet homeless;
  for (const Pu& pu : t.pus) {
    if (pu.node_link == NodeLink::None && t.usable(pu)) homeless.add(pu.cpu);
  }
  ASSERT_FALSE(homeless.empty());
  Config throughput;
  throughput.mode = Mode::Throughput;
  for (const RankPlacement& rank : planned(t, throughput).ranks) {
    EXPECT_TRUE((rank.mems & t.allowed_mems) == rank.mems) << rank.mems.format();
    if ((rank.cpus & homeless).empty()) continue;
    EXPECT_EQ(rank.cpus & homeless, rank.cpus) << "a package of its own";
    EXPECT_EQ(rank.mems, t.allowed_mems);
    EXPECT_TRUE(any_contains(rank.warnings, "memory is left unbound"));
  }
}

TEST(RealMachines, DisallowedHomeNodeBindsToTheNearestAllowedNodeByDistance) {
  Topology t = xml_fixture("real/haswell_cod_2s4n.xml");
  // The cgroup's cpuset.mems leaves out node 1; node 0 is nearer to it than nodes 2 and 3.
  for (NumaNode& node : t.nodes) node.allowed = node.id != 1;
  t.distances = {{1, 0, 12}, {1, 2, 21}, {1, 3, 21}, {1, 1, 10}};
  t.finalize();
  Config c;
  c.node_id = 1;
  Plan p = planned(t, c);
  EXPECT_EQ(mems_of(p), Ids({"0"}));
  EXPECT_TRUE(any_contains(p.ranks[0].warnings, "using the nearest allowed nodes 0"));
  t.distances.clear();  // no distances, several allowed nodes: unbound, said so
  Plan unbound = planned(t, c);
  EXPECT_EQ(mems_of(unbound), Ids({"0,2-3"}));
  EXPECT_TRUE(any_contains(unbound.ranks[0].warnings, "memory is left unbound"));
}

TEST(RealMachines, CoreListIsSplitByNodeOnRoundRobinNumbering) {
  // handmade_xeon_2s_rr.xml numbers CPUs round-robin: node 0 = 0,2,4,6, node 1 = 1,3,5,7.
  Topology t = xml_fixture("real/handmade_xeon_2s_rr.xml");
  Config c;
  c.core_list = CpuSet{0, 3, 4, 7};
  c.nranks = 2;
  Plan p = planned(t, c);
  ASSERT_EQ(p.ranks.size(), 2U);
  for (const RankPlacement& rank : p.ranks) {
    EXPECT_EQ(nodes_of_cpus(t, rank.cpus).count(), 1U) << rank.cpus.format();
    EXPECT_TRUE(rank.warnings.empty());
  }
}

TEST(RealMachines, XmlVersion3IsRefusedNamingTheVersionAndTheV2ExportCommand) {
  Expected<Topology> t = load_topology(std::string("xml:") + XEONPLACE_FIXTURES +
                                       "/real/opteron6134_4s8n_cgroup.v3.xml");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("version 3.0"), std::string::npos) << t.error().message;
  EXPECT_NE(t.error().message.find("lstopo --of xml --export-xml-flags 2"), std::string::npos);
}

}  // namespace
}  // namespace xeonplace
