// planning_scope(): when the engine may plan outside the affinity it inherited.
#include <gtest/gtest.h>

#include "core/bind_policy.h"

namespace xeonplace {
namespace {

TEST(BindPolicy, ReplaceAlwaysPlansOverTheCgroup) {
  EXPECT_EQ(planning_scope(BindPolicy::Replace, false, 4), PlanningScope::CgroupOnly);
  EXPECT_EQ(planning_scope(BindPolicy::Replace, true, 1), PlanningScope::CgroupOnly);
}

TEST(BindPolicy, RespectAlwaysPlansInsideTheInheritedAffinity) {
  EXPECT_EQ(planning_scope(BindPolicy::Respect, true, 1), PlanningScope::CgroupAndAffinity);
  EXPECT_EQ(planning_scope(BindPolicy::Respect, false, 2), PlanningScope::CgroupAndAffinity);
}

TEST(BindPolicy, AutoReplacesTheOneCpuDefaultBindingOfOpenMpiAndSlurm) {
  EXPECT_EQ(planning_scope(BindPolicy::Auto, true, 1), PlanningScope::CgroupOnly);
}

TEST(BindPolicy, AutoRespectsAWiderBindingEvenUnderABindingLauncher) {
  EXPECT_EQ(planning_scope(BindPolicy::Auto, true, 2), PlanningScope::CgroupAndAffinity);
}

TEST(BindPolicy, AutoRespectsTasksetWhenNoLauncherBinds) {
  // `taskset -c 3 prog` with XEONRUN_RANK=0: the user chose that CPU.
  EXPECT_EQ(planning_scope(BindPolicy::Auto, false, 1), PlanningScope::CgroupAndAffinity);
}

// Two packages of two single-thread cores, one NUMA node each: CPUs 0,1 on node 0, 2,3 on node 1.
Topology two_nodes_of_two_cpus() {
  Topology topology;
  for (unsigned cpu = 0; cpu < 4; ++cpu) {
    topology.pus.push_back(Pu{cpu, cpu, cpu / 2, cpu / 2, CpuKind::Performance, true, true});
  }
  topology.nodes = {NumaNode{0, {}, true}, NumaNode{1, {}, true}};
  topology.finalize();
  return topology;
}

TEST(BindPolicy, RestrictingToTheAffinityDisallowsEveryOtherCpu) {
  Topology topology = two_nodes_of_two_cpus();
  restrict_to_affinity(topology, CpuSet{1, 2});
  EXPECT_EQ(topology.allowed_cpus, (CpuSet{1, 2}));
  EXPECT_FALSE(topology.pus[0].allowed);
  EXPECT_TRUE(topology.pus[1].allowed);
  ASSERT_EQ(topology.usable_cores(false).size(), 2u);
}

TEST(BindPolicy, RestrictingKeepsCpusTheCgroupAlreadyDisallowed) {
  Topology topology = two_nodes_of_two_cpus();
  topology.pus[3].allowed = false;
  topology.finalize();
  restrict_to_affinity(topology, CpuSet{0, 1, 2, 3});
  EXPECT_EQ(topology.allowed_cpus, (CpuSet{0, 1, 2}));
}

}  // namespace
}  // namespace xeonplace
