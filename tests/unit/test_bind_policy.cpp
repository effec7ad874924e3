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

}  // namespace
}  // namespace xeonplace
