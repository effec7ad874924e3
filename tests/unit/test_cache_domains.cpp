// Cache domains and helper cores (issue #15, docs/design.md "Cache domains", "Helper cores"):
// XEONRUN_DOMAIN on the EPYC fixtures of tests/fixtures/real (NPS1: four L3 domains per NUMA node;
// NPS4: one per node), the L3 ids the loaders read, and XEONRUN_HELPER_CORES' plan. Expectations
// about domains come from the loaded fixture (each PU's l3/node), not from numbers written here.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/lscpu.h"
#include "core/planner.h"
#include "fixtures.h"
#include "sys/topology_source.h"

namespace xeonplace {
namespace {

using test::planned;
Topology real_fixture(const std::string& name) { return test::xml_fixture("real/" + name); }

const Pu& pu_of(const Topology& topology, unsigned cpu) {
  for (const Pu& pu : topology.pus) {
    if (pu.cpu == cpu) return pu;
  }
  ADD_FAILURE() << "no CPU " << cpu;
  return topology.pus.front();
}

// The L3 domains a rank's CPUs touch.
std::set<unsigned> l3s_of(const Topology& topology, const RankPlacement& rank) {
  std::set<unsigned> l3s;
  for (unsigned cpu : rank.cpus.ids()) l3s.insert(pu_of(topology, cpu).l3.value_or(~0U));
  return l3s;
}

bool some_rank_straddles_l3(const Topology& topology, const Plan& plan) {
  for (const RankPlacement& rank : plan.ranks) {
    if (l3s_of(topology, rank).size() > 1) return true;
  }
  return false;
}

Config sized(std::vector<unsigned> counts, Domain domain) {
  Config config;
  config.ncores_per_instance = std::move(counts);
  config.domain = domain;
  return config;
}

Config ninstances(unsigned n, Domain domain) {
  Config config;
  config.nranks = n;
  config.domain = domain;
  return config;
}

const char* const kEpyc[] = {"handmade_epyc_2s_nps1.xml", "handmade_epyc_2s_nps4.xml"};

TEST(CacheDomains, HwlocLoaderGivesEveryEpycCpuAnL3NestedInItsNode) {
  for (const char* name : kEpyc) {
    const Topology topology = real_fixture(name);
    ASSERT_TRUE(topology.has_l3_domains()) << name;
    std::map<unsigned, std::set<unsigned>> nodes_of_l3;
    for (const Pu& pu : topology.pus) nodes_of_l3[*pu.l3].insert(pu.node);
    EXPECT_GT(nodes_of_l3.size(), topology.nodes.size() - 1) << name;
    for (const auto& [l3, nodes] : nodes_of_l3) EXPECT_EQ(nodes.size(), 1u) << name << " L3 " << l3;
  }
}

TEST(CacheDomains, RanksStayInsideL3DomainsWhereRunCpusSplitCrossesThem) {
  // Sizes that do not divide an L3 domain: run_cpu's arithmetic (numa) lets ranks straddle two.
  Config eight_of_three = sized({3}, Domain::L3);
  eight_of_three.nranks = 8;
  const std::vector<Config> sizings = {sized({3}, Domain::L3), eight_of_three,
                                       sized({2, 4, 4, 2}, Domain::L3)};
  for (const char* name : kEpyc) {
    const Topology topology = real_fixture(name);
    for (Config config : sizings) {
      const Plan in_l3 = planned(topology, config);
      config.domain = Domain::Numa;
      const Plan run_cpu = planned(topology, config);
      EXPECT_TRUE(some_rank_straddles_l3(topology, run_cpu)) << name;
      ASSERT_FALSE(in_l3.ranks.empty()) << name;
      EXPECT_FALSE(some_rank_straddles_l3(topology, in_l3)) << name;
      for (const RankPlacement& rank : in_l3.ranks) {
        EXPECT_EQ(rank.domain.rfind("l3:", 0), 0u) << name << ": " << rank.domain;
      }
    }
  }
}

TEST(CacheDomains, AutoKeepsMixedSizesInsideL3DomainsWithoutLeftovers) {
  for (const char* name : kEpyc) {
    const Topology topology = real_fixture(name);
    const Plan automatic = planned(topology, sized({2, 4, 2, 4}, Domain::Auto));
    const Plan run_cpu = planned(topology, sized({2, 4, 2, 4}, Domain::Numa));
    EXPECT_TRUE(some_rank_straddles_l3(topology, run_cpu)) << name;
    EXPECT_FALSE(some_rank_straddles_l3(topology, automatic)) << name;
  }
}

TEST(CacheDomains, AutoPlansAsRunCpuWhenEveryRankHasTheSameSize) {
  // With one size that divides every domain, cutting inside domains and run_cpu's contiguous cut
  // are the same plan; with one that does not, auto falls back to run_cpu's.
  for (const char* name : kEpyc) {
    const Topology topology = real_fixture(name);
    for (unsigned k : {1U, 2U, 3U, 4U, 5U, 8U, 16U}) {
      const Plan automatic = planned(topology, sized({k}, Domain::Auto));
      const Plan run_cpu = planned(topology, sized({k}, Domain::Numa));
      ASSERT_EQ(automatic.ranks.size(), run_cpu.ranks.size()) << name << " k=" << k;
      for (std::size_t r = 0; r < run_cpu.ranks.size(); ++r) {
        EXPECT_EQ(automatic.ranks[r].cpus, run_cpu.ranks[r].cpus) << name << " k=" << k;
      }
    }
  }
}

TEST(CacheDomains, ThroughputModeGivesOneRankPerL3Domain) {
  for (const char* name : kEpyc) {
    const Topology topology = real_fixture(name);
    std::set<unsigned> l3s;
    for (const Pu& pu : topology.pus) l3s.insert(*pu.l3);
    Config config;
    config.mode = Mode::Throughput;
    config.domain = Domain::L3;
    const Plan plan = planned(topology, config);
    EXPECT_EQ(plan.ranks.size(), l3s.size()) << name;
    std::set<unsigned> seen;
    for (const RankPlacement& rank : plan.ranks) {
      ASSERT_EQ(l3s_of(topology, rank).size(), 1u) << name;
      seen.insert(*l3s_of(topology, rank).begin());
    }
    EXPECT_EQ(seen, l3s) << name;
  }
}

TEST(CacheDomains, RanksLargerThanAnL3DomainFallBackToNodesWithAWarning) {
  const Topology topology = real_fixture("handmade_epyc_2s_nps1.xml");
  const Plan plan = planned(topology, sized({8}, Domain::L3));
  ASSERT_FALSE(plan.ranks.empty());
  bool warned = false;
  for (const std::string& w : plan.warnings) warned = warned || w.find("XEONRUN_DOMAIN=l3") == 0;
  EXPECT_TRUE(warned);
  for (const RankPlacement& rank : plan.ranks) {
    EXPECT_EQ(rank.domain.rfind("numa:", 0), 0u) << rank.domain;
  }
}

TEST(CacheDomains, L3WithoutCacheInformationWarnsAndPlansAsNuma) {
  Topology topology;
  topology.source = "test";
  for (unsigned cpu = 0; cpu < 8; ++cpu) topology.pus.push_back(Pu{cpu, cpu, 0, cpu / 4});
  topology.finalize();
  const Plan l3 = planned(topology, sized({3}, Domain::L3));
  const Plan numa = planned(topology, sized({3}, Domain::Numa));
  ASSERT_EQ(l3.ranks.size(), numa.ranks.size());
  for (std::size_t r = 0; r < l3.ranks.size(); ++r) EXPECT_EQ(l3.ranks[r].cpus, numa.ranks[r].cpus);
  ASSERT_FALSE(l3.warnings.empty());
  EXPECT_NE(l3.warnings.front().find("no L3"), std::string::npos) << l3.warnings.front();
}

TEST(CacheDomains, LscpuL3ColumnsGiveCacheDomains) {
  const std::string columns =
      "# CPU,Core,Socket,Node,,L1d,L1i,L2,L3\n0,0,0,0,,0,0,0,0\n1,1,0,0,,1,1,1,1\n";
  const std::string colons =
      "# CPU,Core,Socket,Node,L1d:L1i:L2:L3\n0,0,0,0,0:0:0:5\n1,1,0,0,1:1:1:5\n";
  Expected<Topology> a = parse_lscpu(columns, "a");
  Expected<Topology> b = parse_lscpu(colons, "b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->pus[0].l3, 0u);
  EXPECT_EQ(a->pus[1].l3, 1u);
  EXPECT_EQ(b->pus[0].l3, 5u);
  EXPECT_EQ(b->pus[1].l3, 5u);
  EXPECT_FALSE(parse_lscpu("# CPU,Core,Socket,Node\n0,0,0,0\n", "c")->has_l3_domains());
  EXPECT_FALSE(parse_lscpu("# CPU,Core,Socket,Node,L3\n0,0,0,0,x\n", "d").ok());
}

TEST(HelperCores, KeptOutOfOmpThreadsAndGivenToOneCcl) {
  const Topology topology = real_fixture("handmade_epyc_2s_nps1.xml");
  Config config = ninstances(2, Domain::Auto);
  config.helper_cores = 2;
  const Plan plan = planned(topology, config);
  ASSERT_EQ(plan.ranks.size(), 2u);
  std::vector<std::string> affinity;
  for (const RankPlacement& rank : plan.ranks) {
    const std::vector<unsigned> cpus = rank.cpus.ids();
    const std::vector<unsigned> helpers = rank.helper_cpus.ids();
    ASSERT_EQ(helpers.size(), 2u);
    EXPECT_TRUE(rank.helper_cpus.is_subset_of(rank.cpus));
    EXPECT_EQ(helpers.back(), cpus.back());  // the rank's last cores
    EXPECT_EQ(rank.omp_threads, cpus.size() - helpers.size());
    for (unsigned cpu : helpers) affinity.push_back(std::to_string(cpu));
  }
  std::string expected;
  for (const std::string& cpu : affinity) expected += (expected.empty() ? "" : ",") + cpu;
  for (const RankPlacement& rank : plan.ranks) {
    std::map<std::string, std::string> env;
    for (const EnvVar& var : rank.env) env[var.name] = var.value;
    EXPECT_EQ(env["OMP_NUM_THREADS"], std::to_string(rank.omp_threads));
    EXPECT_EQ(env["CCL_WORKER_COUNT"], "2");
    EXPECT_EQ(env["CCL_WORKER_AFFINITY"], expected);
  }
}

TEST(HelperCores, ARankKeepsAtLeastOneComputeCore) {
  const Topology topology = real_fixture("handmade_epyc_2s_nps1.xml");
  Config config = sized({4}, Domain::Auto);
  config.helper_cores = 4;
  Expected<Plan> result = plan(topology, config);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message,
            "XEONRUN_HELPER_CORES=4: the smallest rank has 4 cores and keeps at least one for "
            "compute; accepted: 0..3");
}

TEST(HelperCores, NoneByDefaultSetsNoOneCclVariable) {
  const Topology topology = real_fixture("handmade_epyc_2s_nps1.xml");
  const Plan plan = planned(topology, ninstances(2, Domain::Auto));
  for (const RankPlacement& rank : plan.ranks) {
    EXPECT_TRUE(rank.helper_cpus.empty());
    for (const EnvVar& var : rank.env) EXPECT_NE(var.name.rfind("CCL_", 0), 0u) << var.name;
  }
}

}  // namespace
}  // namespace xeonplace
