#include <gtest/gtest.h>

#include <vector>

#include "core/topology.h"

namespace xeonplace {
namespace {

Pu make_pu(unsigned cpu, unsigned core, unsigned node, CpuKind kind = CpuKind::Performance) {
  Pu pu;
  pu.cpu = cpu;
  pu.core = core;
  pu.package = node;
  pu.node = node;
  pu.kind = kind;
  return pu;
}

TEST(TopologyFinalize, CreatesNodesThatPusReferenceAndFillsSets) {
  Topology topology;
  topology.pus = {make_pu(3, 1, 2), make_pu(0, 0, 0), make_pu(1, 0, 0), make_pu(2, 1, 2)};
  topology.pus[1].allowed = false;  // cpu 0
  NumaNode hbm;
  hbm.id = 5;
  hbm.allowed = false;
  topology.nodes = {hbm};
  topology.finalize();

  ASSERT_EQ(topology.pus.size(), 4U);
  for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(topology.pus[i].cpu, i);  // sorted by cpu
  ASSERT_EQ(topology.nodes.size(), 3U);
  EXPECT_EQ(topology.nodes[0].id, 0U);
  EXPECT_EQ(topology.nodes[0].cpus.format(), "0-1");
  EXPECT_EQ(topology.nodes[1].id, 2U);
  EXPECT_EQ(topology.nodes[1].cpus.format(), "2-3");
  EXPECT_EQ(topology.nodes[2].id, 5U);
  EXPECT_TRUE(topology.nodes[2].cpuless());
  EXPECT_EQ(topology.allowed_cpus.format(), "1-3");
  EXPECT_EQ(topology.allowed_mems.format(), "0,2");
}

TEST(TopologyFinalize, RunningTwiceGivesTheSameValue) {
  Topology topology;
  topology.pus = {make_pu(0, 0, 1), make_pu(1, 1, 0)};
  topology.finalize();
  const std::string cpus0 = topology.nodes[0].cpus.format();
  topology.finalize();
  ASSERT_EQ(topology.nodes.size(), 2U);
  EXPECT_EQ(topology.nodes[0].cpus.format(), cpus0);
  EXPECT_EQ(topology.nodes[0].cpus.format(), "1");
}

TEST(TopologyUsableCores, OrderedByNodeThenFirstPuWithUsablePusOnly) {
  Topology topology;
  // Node 1's cores have lower cpu numbers than node 0's: node order wins.
  topology.pus = {make_pu(0, 10, 1), make_pu(1, 11, 1), make_pu(2, 12, 0), make_pu(3, 13, 0),
                  make_pu(4, 10, 1), make_pu(5, 11, 1), make_pu(6, 12, 0), make_pu(7, 13, 0)};
  topology.pus[6].online = false;   // cpu 6: core 12 keeps cpu 2 only
  topology.pus[3].allowed = false;  // cpu 3 and 7: core 13 vanishes
  topology.pus[7].allowed = false;
  topology.finalize();

  const std::vector<Core> cores = topology.usable_cores(false);
  ASSERT_EQ(cores.size(), 3U);
  EXPECT_EQ(cores[0].id, 12U);
  EXPECT_EQ(cores[0].node, 0U);
  EXPECT_EQ(cores[0].cpus, (std::vector<unsigned>{2}));
  EXPECT_EQ(cores[1].id, 10U);
  EXPECT_EQ(cores[1].cpus, (std::vector<unsigned>{0, 4}));
  EXPECT_EQ(cores[2].id, 11U);
  EXPECT_EQ(cores[2].cpus, (std::vector<unsigned>{1, 5}));
}

TEST(TopologyUsableCores, EfficientCoresOnlyWhenAsked) {
  Topology topology;
  topology.pus = {make_pu(0, 0, 0), make_pu(1, 0, 0), make_pu(2, 1, 0, CpuKind::Efficient),
                  make_pu(3, 2, 0, CpuKind::Efficient)};
  topology.finalize();
  EXPECT_TRUE(topology.has_hybrid_cpus());
  ASSERT_EQ(topology.usable_cores(false).size(), 1U);
  const std::vector<Core> all = topology.usable_cores(true);
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[1].kind, CpuKind::Efficient);
  EXPECT_EQ(all[1].cpus, (std::vector<unsigned>{2}));
}

TEST(TopologyUsableCores, UnsortedPusStillGiveAscendingCoreCpus) {
  Topology topology;
  topology.pus = {make_pu(9, 0, 0), make_pu(1, 0, 0)};
  const std::vector<Core> cores = topology.usable_cores(false);  // no finalize on purpose
  ASSERT_EQ(cores.size(), 1U);
  EXPECT_EQ(cores[0].cpus, (std::vector<unsigned>{1, 9}));
}

}  // namespace
}  // namespace xeonplace
