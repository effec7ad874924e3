// planned_runtime_env and merge_with_user_env: what each OpenMP runtime gets, and how values the
// user already exported win (with a warning) without ever setting both binding families.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/runtime_env.h"

namespace xeonplace {
namespace {

RankPlacement rank_of(unsigned omp_threads) {
  RankPlacement rank;
  rank.cpus = CpuSet{0, 1, 2, 3};
  rank.mems = CpuSet{0};
  rank.omp_threads = omp_threads;
  return rank;
}

using Env = std::vector<EnvVar>;

// The OpenMP variables alone, as run_cpu sets them (the other pools are tested below).
Config openmp_only() {
  Config c;
  c.thread_pools = ThreadPools::OpenMp;
  return c;
}

bool has(const Env& env, const std::string& name) {
  for (const EnvVar& var : env) {
    if (var.name == name) return true;
  }
  return false;
}

TEST(RuntimeEnv, IntelRuntimeGetsRunCpusKmpVariables) {
  Config c = openmp_only();  // omp_runtime defaults to Intel, as run_cpu
  EXPECT_EQ(planned_runtime_env(rank_of(4), c),
            (Env{{"OMP_NUM_THREADS", "4"},
                 {"KMP_AFFINITY", "granularity=fine,compact,1,0"},
                 {"KMP_BLOCKTIME", "1"}}));
}

TEST(RuntimeEnv, IntelRuntimeWithLogicalCoresOfEveryNodeLeavesKmpAffinityUnsetAsRunCpu) {
  Config c = openmp_only();
  c.use_logical_core = true;
  EXPECT_EQ(planned_runtime_env(rank_of(8), c),
            (Env{{"OMP_NUM_THREADS", "8"}, {"KMP_BLOCKTIME", "1"}}));
}

TEST(RuntimeEnv, IntelRuntimeWithLogicalCoresOfOneNodeSetsKmpAffinityAsRunCpu) {
  Config c;
  c.use_logical_core = true;
  c.node_id = 0;
  EXPECT_TRUE(has(planned_runtime_env(rank_of(8), c), "KMP_AFFINITY"));
}

TEST(RuntimeEnv, LatencyModeIgnoresLogicalCoresForBinding) {
  Config c = openmp_only();
  c.use_logical_core = true;
  c.mode = Mode::Latency;
  EXPECT_TRUE(has(planned_runtime_env(rank_of(4), c), "KMP_AFFINITY"));
  c.omp_runtime = OmpRuntime::Default;
  EXPECT_EQ(planned_runtime_env(rank_of(4), c),
            (Env{{"OMP_NUM_THREADS", "4"}, {"OMP_PROC_BIND", "close"}, {"OMP_PLACES", "cores"}}));
}

TEST(RuntimeEnv, GnuRuntimeBindsOneThreadPerCore) {
  Config c = openmp_only();
  c.omp_runtime = OmpRuntime::Default;
  EXPECT_EQ(planned_runtime_env(rank_of(4), c),
            (Env{{"OMP_NUM_THREADS", "4"}, {"OMP_PROC_BIND", "close"}, {"OMP_PLACES", "cores"}}));
}

TEST(RuntimeEnv, GnuRuntimeWithLogicalCoresBindsOneThreadPerHardwareThread) {
  Config c = openmp_only();
  c.omp_runtime = OmpRuntime::Default;
  c.use_logical_core = true;
  EXPECT_EQ(planned_runtime_env(rank_of(8), c),
            (Env{{"OMP_NUM_THREADS", "8"}, {"OMP_PROC_BIND", "close"}, {"OMP_PLACES", "threads"}}));
}

TEST(RuntimeEnv, EveryThreadPoolGetsTheRanksThreadCountByDefault) {
  const Env env = planned_runtime_env(rank_of(3), Config{});
  for (const char* name : kThreadPoolVariables) {
    bool found = false;
    for (const EnvVar& var : env) found = found || (var.name == name && var.value == "3");
    EXPECT_TRUE(found) << name;
  }
  EXPECT_FALSE(has(planned_runtime_env(rank_of(3), openmp_only()), "OPENBLAS_NUM_THREADS"));
}

TEST(RuntimeEnv, AThreadPoolTheUserSizedKeepsItsValue) {
  std::vector<std::string> warnings;
  const Env merged = merge_with_user_env(planned_runtime_env(rank_of(3), Config{}),
                                         {{"MKL_NUM_THREADS", "1"}}, warnings);
  EXPECT_FALSE(has(merged, "MKL_NUM_THREADS"));
  EXPECT_TRUE(has(merged, "OPENBLAS_NUM_THREADS"));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "MKL_NUM_THREADS=1 kept from the environment; the plan wants 3 "
                         "(XEONRUN_THREADS=plan gives it the plan's)");
}

TEST(RuntimeEnv, TheUsersOpenMpThreadCountSizesEveryPool) {
  std::vector<std::string> warnings;
  const Env merged = merge_with_user_env(planned_runtime_env(rank_of(3), Config{}),
                                         {{"OMP_NUM_THREADS", "2"}}, warnings);
  EXPECT_FALSE(has(merged, "OMP_NUM_THREADS"));
  for (const EnvVar& var : merged) {
    if (var.name.find("_THREADS") != std::string::npos) {
      EXPECT_EQ(var.value, "2") << var.name;
    }
  }
}

TEST(RuntimeEnv, NeverPlansBothBindingFamilies) {
  for (OmpRuntime runtime : {OmpRuntime::Intel, OmpRuntime::Default}) {
    for (bool logical : {false, true}) {
      Config c;
      c.omp_runtime = runtime;
      c.use_logical_core = logical;
      Env env = planned_runtime_env(rank_of(2), c);
      EXPECT_FALSE(has(env, "KMP_AFFINITY") && has(env, "OMP_PROC_BIND"));
      EXPECT_FALSE(has(env, "KMP_AFFINITY") && has(env, "OMP_PLACES"));
      EXPECT_TRUE(has(env, "OMP_NUM_THREADS"));
    }
  }
}

TEST(RuntimeEnv, UserValueIsKeptWithAWarningWhenItDiffers) {
  std::vector<std::string> warnings;
  Env out = merge_with_user_env({{"OMP_NUM_THREADS", "4"}, {"KMP_BLOCKTIME", "1"}},
                                {{"OMP_NUM_THREADS", "8"}}, warnings);
  EXPECT_EQ(out, (Env{{"KMP_BLOCKTIME", "1"}}));
  EXPECT_EQ(warnings, std::vector<std::string>{
                          "OMP_NUM_THREADS=8 kept from the environment; the plan wants 4 "
                          "(XEONRUN_THREADS=plan gives it the plan's)"});
}

TEST(RuntimeEnv, UserValueEqualToThePlanIsKeptSilently) {
  std::vector<std::string> warnings;
  Env out = merge_with_user_env({{"OMP_NUM_THREADS", "4"}}, {{"OMP_NUM_THREADS", "4"}}, warnings);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(warnings.empty());
}

TEST(RuntimeEnv, UnrelatedUserVariablesChangeNothing) {
  std::vector<std::string> warnings;
  Env planned{{"OMP_NUM_THREADS", "4"}, {"OMP_PROC_BIND", "close"}, {"OMP_PLACES", "cores"}};
  Env out = merge_with_user_env(planned, {{"PATH", "/bin"}, {"KMP_BLOCKTIME", "0"}}, warnings);
  EXPECT_EQ(out, planned);
  EXPECT_TRUE(warnings.empty());
}

TEST(RuntimeEnv, UserOmpProcBindDropsThePlannedKmpAffinity) {
  std::vector<std::string> warnings;
  Env out = merge_with_user_env(
      {{"OMP_NUM_THREADS", "4"}, {"KMP_AFFINITY", "granularity=fine,compact,1,0"}},
      {{"OMP_PROC_BIND", "spread"}}, warnings);
  EXPECT_EQ(out, (Env{{"OMP_NUM_THREADS", "4"}}));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].rfind("KMP_AFFINITY=granularity=fine,compact,1,0 not set: "
                              "OMP_PROC_BIND=spread is set in the environment",
                              0),
            0u)
      << warnings[0];
}

TEST(RuntimeEnv, UserOmpPlacesAloneAlsoDropsThePlannedKmpAffinity) {
  std::vector<std::string> warnings;
  Env out = merge_with_user_env({{"KMP_AFFINITY", "granularity=fine,compact,1,0"}},
                                {{"OMP_PLACES", "sockets"}}, warnings);
  EXPECT_TRUE(out.empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("OMP_PLACES=sockets is set"), std::string::npos) << warnings[0];
}

TEST(RuntimeEnv, UserKmpAffinityDropsThePlannedOmpBinding) {
  std::vector<std::string> warnings;
  Env out = merge_with_user_env(
      {{"OMP_NUM_THREADS", "2"}, {"OMP_PROC_BIND", "close"}, {"OMP_PLACES", "cores"}},
      {{"KMP_AFFINITY", "scatter"}}, warnings);
  EXPECT_EQ(out, (Env{{"OMP_NUM_THREADS", "2"}}));
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("OMP_PROC_BIND=close not set: KMP_AFFINITY=scatter"),
            std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[1].find("OMP_PLACES=cores not set: KMP_AFFINITY=scatter"), std::string::npos)
      << warnings[1];
}

}  // namespace
}  // namespace xeonplace
