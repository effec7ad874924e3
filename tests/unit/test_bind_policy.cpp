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

// What Open MPI 4.1 and Slurm 22.05 exported on this machine (docs/launchers.md).
TEST(BindPolicy, OpenMpiDefaultBindingIsRecognised) {
  EnvMap env{{"OMPI_MCA_orte_bound_at_launch", "1"}};
  EXPECT_EQ(launcher_binding(Launcher::OpenMpi, env), LauncherBinding::Default);
}

TEST(BindPolicy, OpenMpiBindToOrRankfileIsTheUsersBinding) {
  EXPECT_EQ(launcher_binding(Launcher::OpenMpi, {{"OMPI_MCA_orte_bound_at_launch", "1"},
                                          {"OMPI_MCA_hwloc_base_binding_policy", "core"}}),
            LauncherBinding::Explicit);
  EXPECT_EQ(launcher_binding(Launcher::OpenMpi, {{"OMPI_MCA_orte_bound_at_launch", "1"},
                                          {"OMPI_MCA_orte_rankfile", "/tmp/rankfile"}}),
            LauncherBinding::Explicit);
}

TEST(BindPolicy, OpenMpiWithoutBoundAtLaunchDidNotBind) {
  // --bind-to none, or -np 4 --oversubscribe on 2 CPUs: the variable is absent.
  EXPECT_EQ(launcher_binding(Launcher::OpenMpi, {{"OMPI_MCA_hwloc_base_binding_policy", "none"}}),
            LauncherBinding::None);
}

TEST(BindPolicy, SlurmBindTypeTellsDefaultFromTheUsersBinding) {
  EXPECT_EQ(launcher_binding(Launcher::Slurm, {{"SLURM_CPU_BIND_TYPE", "mask_cpu:"}}),
            LauncherBinding::Default);
  EXPECT_EQ(launcher_binding(Launcher::Slurm, {{"SLURM_CPU_BIND_TYPE", "map_cpu:"}}),
            LauncherBinding::Explicit);
  EXPECT_EQ(launcher_binding(Launcher::Slurm, {{"SLURM_CPU_BIND_TYPE", "none"}}), LauncherBinding::None);
  EXPECT_EQ(launcher_binding(Launcher::Slurm, {}), LauncherBinding::Unknown);
}

TEST(BindPolicy, LaunchersThatDoNotSayAreUnknown) {
  EXPECT_EQ(launcher_binding(Launcher::Mpich, {{"OMPI_MCA_orte_bound_at_launch", "1"}}),
            LauncherBinding::Unknown);
  EXPECT_EQ(launcher_binding(Launcher::Torchrun, {}), LauncherBinding::Unknown);
}

TEST(BindPolicy, AutoKeepsAUsersBindingAndReplacesTheDefaultOne) {
  EXPECT_EQ(planning_scope(BindPolicy::Auto, true, LauncherBinding::Explicit, 1),
            PlanningScope::CgroupAndAffinity);
  EXPECT_EQ(planning_scope(BindPolicy::Auto, true, LauncherBinding::Default, 1),
            PlanningScope::CgroupOnly);
  EXPECT_EQ(planning_scope(BindPolicy::Auto, true, LauncherBinding::None, 2),
            PlanningScope::CgroupAndAffinity);
  // Without information, the one-CPU rule.
  EXPECT_EQ(planning_scope(BindPolicy::Auto, true, LauncherBinding::Unknown, 1),
            PlanningScope::CgroupOnly);
}

TEST(BindPolicy, ExplicitPoliciesIgnoreWhatTheLauncherSays) {
  EXPECT_EQ(planning_scope(BindPolicy::Respect, true, LauncherBinding::Default, 1),
            PlanningScope::CgroupAndAffinity);
  EXPECT_EQ(planning_scope(BindPolicy::Replace, true, LauncherBinding::Explicit, 1),
            PlanningScope::CgroupOnly);
}

TEST(BindPolicy, ALauncherBindingSmallerThanTheCgroupIsTheRanksOwnSlice) {
  EXPECT_TRUE(binding_is_per_rank(LauncherBinding::Explicit, false, 1, 2));
  EXPECT_TRUE(binding_is_per_rank(LauncherBinding::Default, false, 4, 2));
}

TEST(BindPolicy, ABindingToTheWholeCgroupIsShared) {
  EXPECT_FALSE(binding_is_per_rank(LauncherBinding::Default, true, 4, 2));
}

TEST(BindPolicy, ASetTooSmallForEveryRankIsTheRanksOwnSlice) {
  // MPICH -bind-to core: one core per rank and no variable saying so.
  EXPECT_TRUE(binding_is_per_rank(LauncherBinding::Unknown, false, 1, 2));
  // taskset -c 0-3 around mpiexec -n 2: shared by both ranks, sliced.
  EXPECT_FALSE(binding_is_per_rank(LauncherBinding::Unknown, false, 4, 2));
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
