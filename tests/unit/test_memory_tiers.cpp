// Memory tiers (issue #15): which nodes preferred-many and weighted-interleave use, and the
// refusal on a kernel without the mode, on made-up facts.
#include <gtest/gtest.h>

#include <string>

#include "core/bind_policy.h"
#include "core/decision.h"

namespace xeonplace {
namespace {

// Two sockets, one DDR node each (0: CPUs 0-1, 1: CPUs 2-3), and a CPU-less node per socket
// (2 near node 0, 3 near node 1), as an HBM or CXL part shows up.
Topology tiered(bool with_distances) {
  Topology t;
  t.source = "made-up tiers";
  for (unsigned cpu = 0; cpu < 4; ++cpu) t.pus.push_back({cpu, cpu, cpu / 2, cpu / 2});
  for (unsigned id = 0; id < 4; ++id) t.nodes.push_back({id, {}, true});
  if (with_distances) {
    const unsigned d[4][4] = {
        {10, 21, 14, 24}, {21, 10, 24, 14}, {14, 24, 10, 28}, {24, 14, 28, 10}};
    for (unsigned i = 0; i < 4; ++i) {
      for (unsigned j = 0; j < 4; ++j) t.distances.push_back({i, j, d[i][j]});
    }
  }
  t.finalize();
  return t;
}

TEST(MemoryTiers, TheNearestCpuLessNodesOfEachHomeNode) {
  const Topology t = tiered(true);
  EXPECT_EQ(memory_tier_nodes(t, CpuSet{0}).format(), "2");
  EXPECT_EQ(memory_tier_nodes(t, CpuSet{1}).format(), "3");
  EXPECT_EQ(memory_tier_nodes(t, *CpuSet::parse("0-1", "t")).format(), "2-3");
  // Without distances every CPU-less node is a tier of every rank.
  EXPECT_EQ(memory_tier_nodes(tiered(false), CpuSet{0}).format(), "2-3");
}

TEST(MemoryTiers, PreferredManyUsesTiersAndWeightedInterleaveAddsThemToHome) {
  const Topology t = tiered(true);
  std::vector<std::string> warnings;
  EXPECT_EQ(memory_nodes_for(Membind::PreferredMany, t, CpuSet{1}, warnings).format(), "3");
  EXPECT_EQ(memory_nodes_for(Membind::WeightedInterleave, t, CpuSet{1}, warnings).format(), "1,3");
  EXPECT_EQ(memory_nodes_for(Membind::Bind, t, CpuSet{1}, warnings).format(), "1");
  EXPECT_TRUE(warnings.empty());
  Topology flat = t;
  flat.nodes.resize(2);
  flat.finalize();
  EXPECT_EQ(memory_nodes_for(Membind::PreferredMany, flat, CpuSet{0}, warnings).format(), "0");
  ASSERT_EQ(warnings.size(), 1U);
  EXPECT_NE(warnings[0].find("no CPU-less memory node"), std::string::npos);
}

TEST(MemoryTiers, KernelReleases) {
  EXPECT_FALSE(release_at_least("6.1.0-57-amd64", 6, 9));
  EXPECT_TRUE(release_at_least("6.1.0-57-amd64", 5, 15));
  EXPECT_FALSE(release_at_least("5.10.0-30-amd64", 5, 15));
  EXPECT_TRUE(release_at_least("6.18.44-fc", 6, 9));
  EXPECT_TRUE(release_at_least("7.0", 6, 9));
  EXPECT_TRUE(release_at_least("", 6, 9));  // unknown: the kernel's own refusal speaks
}

Facts tier_facts() {
  Facts facts;
  facts.topology = tiered(true);
  facts.inherited_affinity = *CpuSet::parse("0-3", "t");
  facts.allowed_mems = *CpuSet::parse("0-3", "t");
  facts.online_cpus = *CpuSet::parse("0-3", "t");
  facts.pid = 4242;
  facts.kernel_release = "6.1.0-57-amd64";
  facts.has_preferred_many = true;
  facts.has_weighted_interleave = false;
  return facts;
}

TEST(DecideMemoryTiers, EachRankPrefersItsOwnTier) {
  const EnvMap env = {{"XEONRUN_NINSTANCES", "2"}, {"XEONRUN_MEMBIND", "preferred-many"}};
  Expected<RankDecisions> ranks = decide_ranks(tier_facts(), env);
  ASSERT_TRUE(ranks.ok()) << ranks.error().message;
  EXPECT_EQ(ranks->ranks[0].mems.format(), "2");
  EXPECT_EQ(ranks->ranks[1].mems.format(), "3");
  EXPECT_EQ(ranks->ranks[1].membind, Membind::PreferredMany);
  // The handed placement carries the mode to the rank.
  const std::string handed = ranks->ranks[1].handoff.back().value;
  EXPECT_NE(handed.find("membind=preferred-many"), std::string::npos) << handed;
}

TEST(DecideMemoryTiers, AKernelWithoutTheModeIsRefusedNamingTheReleaseNeeded) {
  Facts facts = tier_facts();
  const EnvMap env = {{"XEONRUN_MEMBIND", "weighted-interleave"}, {"XEONRUN_RANK", "0"}};
  Expected<Decision> d = decide(facts, env);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("XEONRUN_MEMBIND=weighted-interleave"), std::string::npos);
  EXPECT_NE(d.error().message.find("Linux 6.9 or later"), std::string::npos);
  EXPECT_NE(d.error().message.find("6.1.0-57-amd64"), std::string::npos) << d.error().message;
  EXPECT_FALSE(decide_ranks(facts, env).ok());
  facts.has_preferred_many = false;
  d = decide(facts, {{"XEONRUN_MEMBIND", "preferred-many"}});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("Linux 5.15 or later"), std::string::npos);
  // A preview of another machine is not this kernel's business.
  facts.has_weighted_interleave = false;
  EXPECT_TRUE(decide_ranks(facts, {{"XEONRUN_MEMBIND", "weighted-interleave"},
                                   {"XEONRUN_TOPOLOGY", "synthetic:pack:2 core:2 pu:1"}})
                  .ok());
}

}  // namespace
}  // namespace xeonplace
