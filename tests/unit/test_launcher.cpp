// Launcher detection, with the exact variable sets recorded on this machine in
// /work/shared/notes/launchers.md (Open MPI 4.1.4, MPICH 4.0.2, Slurm 22.05.8, torchrun 1.13.1).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "core/launcher.h"

namespace xeonplace {
namespace {

LauncherRank detect_ok(const EnvMap& env) {
  auto found = detect_launcher(env);
  EXPECT_TRUE(found.ok()) << (found.ok() ? "" : found.error().message);
  if (!found.ok() || !*found) {
    ADD_FAILURE() << "no launcher detected";
    return {};
  }
  return **found;
}

std::string detect_error(const EnvMap& env) {
  auto found = detect_launcher(env);
  EXPECT_FALSE(found.ok());
  return found.ok() ? std::string() : found.error().message;
}

// Rank 1 of `mpirun --allow-run-as-root -np 2`.
EnvMap open_mpi_rank1() {
  return {{"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
          {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
          {"OMPI_COMM_WORLD_NODE_RANK", "1"},
          {"OMPI_COMM_WORLD_RANK", "1"},
          {"OMPI_COMM_WORLD_SIZE", "2"},
          {"OMPI_UNIVERSE_SIZE", "2"},
          {"PMIX_RANK", "1"},
          {"PMIX_NAMESPACE", "prterun-host-12345@1"}};
}

// Rank 1 of `mpiexec.mpich -n 2`.
EnvMap mpich_rank1() {
  return {{"MPI_LOCALRANKID", "1"},
          {"MPI_LOCALNRANKS", "2"},
          {"PMI_RANK", "1"},
          {"PMI_SIZE", "2"},
          {"PMI_FD", "6"}};
}

// Task 1 of `srun -n 2` on the one-node Slurm.
EnvMap slurm_task1() {
  return {{"SLURM_LOCALID", "1"},
          {"SLURM_PROCID", "1"},
          {"SLURM_NTASKS", "2"},
          {"SLURM_NNODES", "1"},
          {"SLURM_NODEID", "0"},
          {"SLURM_GTIDS", "0,1"},
          {"SLURM_CPUS_ON_NODE", "2"},
          {"SLURM_CPU_BIND", "quiet,mask_cpu:0x1,0x2"},
          {"SLURM_STEP_TASKS_PER_NODE", "2"},
          {"SLURM_TASKS_PER_NODE", "2"}};
}

// Worker 1 of `torchrun --nproc_per_node 2`.
EnvMap torchrun_rank1() {
  return {{"LOCAL_RANK", "1"},
          {"LOCAL_WORLD_SIZE", "2"},
          {"RANK", "1"},
          {"WORLD_SIZE", "2"},
          {"GROUP_RANK", "0"},
          {"ROLE_RANK", "1"},
          {"MASTER_ADDR", "127.0.0.1"},
          {"MASTER_PORT", "29500"},
          {"OMP_NUM_THREADS", "1"},
          {"TORCHELASTIC_RUN_ID", "none"}};
}

EnvMap merged(EnvMap a, const EnvMap& b) {
  a.insert(b.begin(), b.end());
  return a;
}

TEST(Launcher, NoLauncherVariablesMeansNoLauncher) {
  auto found = detect_launcher({{"PATH", "/usr/bin"}, {"HOME", "/root"}});
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TEST(Launcher, OpenMpiRankAndSizeAndItBindsByDefault) {
  LauncherRank rank = detect_ok(open_mpi_rank1());
  EXPECT_EQ(rank.launcher, Launcher::OpenMpi);
  EXPECT_EQ(rank.local_rank, 1u);
  EXPECT_EQ(rank.local_nranks, 2u);
  EXPECT_TRUE(rank.binds_by_default);
  EXPECT_EQ(rank.rank_variable, "OMPI_COMM_WORLD_LOCAL_RANK");
  EXPECT_EQ(rank.size_variable, "OMPI_COMM_WORLD_LOCAL_SIZE");
}

TEST(Launcher, MpichRankAndSizeWithoutBinding) {
  LauncherRank rank = detect_ok(mpich_rank1());
  EXPECT_EQ(rank.launcher, Launcher::Mpich);
  EXPECT_EQ(rank.local_rank, 1u);
  EXPECT_EQ(rank.local_nranks, 2u);
  EXPECT_FALSE(rank.binds_by_default);
}

TEST(Launcher, SlurmRankAndSizeFromStepTasksAndItBindsByDefault) {
  LauncherRank rank = detect_ok(slurm_task1());
  EXPECT_EQ(rank.launcher, Launcher::Slurm);
  EXPECT_EQ(rank.local_rank, 1u);
  EXPECT_EQ(rank.local_nranks, 2u);
  EXPECT_TRUE(rank.binds_by_default);
  EXPECT_EQ(rank.size_variable, "SLURM_STEP_TASKS_PER_NODE");
}

TEST(Launcher, TorchrunRankAndSize) {
  LauncherRank rank = detect_ok(torchrun_rank1());
  EXPECT_EQ(rank.launcher, Launcher::Torchrun);
  EXPECT_EQ(rank.local_rank, 1u);
  EXPECT_EQ(rank.local_nranks, 2u);
  EXPECT_FALSE(rank.binds_by_default);
}

TEST(Launcher, GlobalRanksAreNeverUsedAsLocalRanks) {
  auto found = detect_launcher({{"RANK", "3"},
                                {"WORLD_SIZE", "8"},
                                {"OMPI_COMM_WORLD_RANK", "3"},
                                {"OMPI_COMM_WORLD_SIZE", "8"},
                                {"PMI_RANK", "3"},
                                {"PMI_SIZE", "8"},
                                {"SLURM_PROCID", "3"},
                                {"SLURM_NTASKS", "8"}});
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TEST(Launcher, TorchrunInsideSlurmIsTorchrun) {
  LauncherRank rank = detect_ok(
      merged(torchrun_rank1(), {{"SLURM_LOCALID", "0"}, {"SLURM_STEP_TASKS_PER_NODE", "1"}}));
  EXPECT_EQ(rank.launcher, Launcher::Torchrun);
  EXPECT_EQ(rank.local_rank, 1u);
}

TEST(Launcher, OpenMpiInsideAnSbatchAllocationIsOpenMpi) {
  LauncherRank rank = detect_ok(
      merged(open_mpi_rank1(), {{"SLURM_LOCALID", "0"}, {"SLURM_STEP_TASKS_PER_NODE", "1"}}));
  EXPECT_EQ(rank.launcher, Launcher::OpenMpi);
  EXPECT_EQ(rank.local_rank, 1u);
}

TEST(Launcher, PrecedenceIsTorchrunThenOpenMpiThenMpichThenSlurm) {
  EnvMap all =
      merged(merged(merged(torchrun_rank1(), open_mpi_rank1()), mpich_rank1()), slurm_task1());
  EXPECT_EQ(detect_ok(all).launcher, Launcher::Torchrun);
  all.erase("LOCAL_RANK");
  EXPECT_EQ(detect_ok(all).launcher, Launcher::OpenMpi);
  all.erase("OMPI_COMM_WORLD_LOCAL_RANK");
  EXPECT_EQ(detect_ok(all).launcher, Launcher::Mpich);
  all.erase("MPI_LOCALRANKID");
  EXPECT_EQ(detect_ok(all).launcher, Launcher::Slurm);
}

TEST(Launcher, ARankWithoutASizeLeavesTheSizeUnknown) {
  LauncherRank rank = detect_ok({{"LOCAL_RANK", "0"}});
  EXPECT_EQ(rank.launcher, Launcher::Torchrun);
  EXPECT_FALSE(rank.local_nranks.has_value());
  EXPECT_EQ(rank.size_variable, "");
}

TEST(Launcher, ASizeWithoutARankIsNoLauncher) {
  auto found = detect_launcher({{"LOCAL_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}});
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TEST(Launcher, MalformedRankNamesTheVariableAndTheLauncher) {
  for (const char* bad :
       {"", "abc", "-1", "+1", " 1", "1.0", "0x1", "65535", "99999999999999999999"}) {
    std::string error = detect_error({{"LOCAL_RANK", bad}});
    EXPECT_EQ(error.rfind(std::string("LOCAL_RANK=") + bad + ": ", 0), 0u) << error;
    EXPECT_NE(error.find("accepted: an integer 0..65534 (set by torchrun)"), std::string::npos)
        << error;
  }
}

TEST(Launcher, MalformedSizeIsAnErrorEvenWithAGoodRank) {
  std::string error =
      detect_error({{"OMPI_COMM_WORLD_LOCAL_RANK", "0"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "0"}});
  EXPECT_EQ(error,
            "OMPI_COMM_WORLD_LOCAL_SIZE=0: out of range; accepted: an integer 1..65535 (set by "
            "Open MPI)");
  error = detect_error({{"MPI_LOCALRANKID", "0"}, {"MPI_LOCALNRANKS", "two"}});
  EXPECT_EQ(error.rfind("MPI_LOCALNRANKS=two: not a decimal integer; accepted:", 0), 0u) << error;
}

TEST(Launcher, SlurmMultiNodeListIsIndexedByNodeId) {
  const unsigned expected[] = {2, 2, 2, 1};
  for (unsigned node = 0; node < 4; ++node) {
    EnvMap env = {{"SLURM_LOCALID", "0"},
                  {"SLURM_NODEID", std::to_string(node)},
                  {"SLURM_STEP_TASKS_PER_NODE", "2(x3),1"},
                  {"SLURM_NTASKS", "7"},
                  {"SLURM_NNODES", "4"}};
    EXPECT_EQ(detect_ok(env).local_nranks, expected[node]) << "node " << node;
  }
}

TEST(Launcher, SlurmTasksOnNodeExpandsRepeats) {
  EXPECT_EQ(*slurm_tasks_on_node("2(x3),1", 0), 2u);
  EXPECT_EQ(*slurm_tasks_on_node("2(x3),1", 1), 2u);
  EXPECT_EQ(*slurm_tasks_on_node("2(x3),1", 2), 2u);
  EXPECT_EQ(*slurm_tasks_on_node("2(x3),1", 3), 1u);
  EXPECT_EQ(*slurm_tasks_on_node("4", 0), 4u);
  EXPECT_EQ(*slurm_tasks_on_node("1,3(x2),5", 3), 5u);
  EXPECT_EQ(*slurm_tasks_on_node("16(x1000)", 999), 16u);
}

TEST(Launcher, SlurmNodeIdBeyondTheListIsAnError) {
  auto result = slurm_tasks_on_node("2(x3),1", 4);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message,
            "SLURM_NODEID=4: no entry in SLURM_STEP_TASKS_PER_NODE=2(x3),1; accepted: 0..3");
}

TEST(Launcher, MalformedSlurmTaskListsAreErrors) {
  for (const char* bad :
       {"", "2(x3", "2(3)", "(x3)", "2x3", "2(x0)", "0", "2,,1", ",2", "2,", "2(x3)1", "-2",
        "2 (x3)", "2(x3) ", "99999999", "2(x)", "2((x3))", "a", "2;1"}) {
    auto result = slurm_tasks_on_node(bad, 0);
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_EQ(result.error().message,
              std::string("SLURM_STEP_TASKS_PER_NODE=") + bad +
                  ": malformed task count list; accepted: task counts like 2(x3),1 (set by "
                  "Slurm)");
  }
}

TEST(Launcher, MalformedSlurmTaskListInTheEnvironmentIsAnError) {
  std::string error = detect_error(
      {{"SLURM_LOCALID", "0"}, {"SLURM_NODEID", "0"}, {"SLURM_STEP_TASKS_PER_NODE", "2(x3"}});
  EXPECT_EQ(error.rfind("SLURM_STEP_TASKS_PER_NODE=2(x3: malformed", 0), 0u) << error;
  error = detect_error(
      {{"SLURM_LOCALID", "0"}, {"SLURM_NODEID", "zero"}, {"SLURM_STEP_TASKS_PER_NODE", "2"}});
  EXPECT_EQ(error.rfind("SLURM_NODEID=zero: not a decimal integer", 0), 0u) << error;
}

TEST(Launcher, SlurmFallsBackToTasksPerNode) {
  LauncherRank rank =
      detect_ok({{"SLURM_LOCALID", "3"}, {"SLURM_NODEID", "1"}, {"SLURM_TASKS_PER_NODE", "4(x2)"}});
  EXPECT_EQ(rank.local_nranks, 4u);
  EXPECT_EQ(rank.size_variable, "SLURM_TASKS_PER_NODE");
}

TEST(Launcher, SlurmUsesNtasksOnlyOnAOneNodeStep) {
  LauncherRank one =
      detect_ok({{"SLURM_LOCALID", "0"}, {"SLURM_NNODES", "1"}, {"SLURM_NTASKS", "3"}});
  EXPECT_EQ(one.local_nranks, 3u);
  EXPECT_EQ(one.size_variable, "SLURM_NTASKS");
  LauncherRank two =
      detect_ok({{"SLURM_LOCALID", "0"}, {"SLURM_NNODES", "2"}, {"SLURM_NTASKS", "6"}});
  EXPECT_FALSE(two.local_nranks.has_value());
  LauncherRank unknown = detect_ok({{"SLURM_LOCALID", "0"}, {"SLURM_NTASKS", "6"}});
  EXPECT_FALSE(unknown.local_nranks.has_value());
}

TEST(Launcher, SlurmWithoutNodeIdUsesOnlyAOneNodeList) {
  LauncherRank single = detect_ok({{"SLURM_LOCALID", "1"}, {"SLURM_STEP_TASKS_PER_NODE", "2"}});
  EXPECT_EQ(single.local_nranks, 2u);
  LauncherRank multi = detect_ok({{"SLURM_LOCALID", "1"}, {"SLURM_STEP_TASKS_PER_NODE", "2(x2)"}});
  EXPECT_FALSE(multi.local_nranks.has_value());
}

TEST(Launcher, RankVariableListIsTheDistinctRankVariablesInPrecedenceOrder) {
  std::vector<std::string> expected;
  for (const auto& launcher : kLaunchers) {
    if (expected.empty() || expected.back() != launcher.rank_variable) {
      expected.emplace_back(launcher.rank_variable);
    }
  }
  std::vector<std::string> listed(std::begin(kLauncherLocalRankVariables),
                                  std::end(kLauncherLocalRankVariables));
  EXPECT_EQ(listed, expected);
  // Every local rank is part of the launcher context, so a rank started by a placed launcher of
  // any kind is placed again (docs/launchers.md, "A launcher that is itself preloaded").
  for (const char* variable : kLauncherLocalRankVariables) {
    EXPECT_NE(
        std::find_if(std::begin(kLauncherContextVariables), std::end(kLauncherContextVariables),
                     [&](const char* c) { return std::string(c) == variable; }),
        std::end(kLauncherContextVariables))
        << variable;
  }
}

// The launchers added for issue #14, each with the variables its own source sets for a rank
// (docs/launchers.md cites each): rank 1 of 2 on the second node of a 2-node job, global rank 3,
// so that a global rank read as a local one would show.

// deepspeed/launcher/launch.py: LOCAL_RANK, LOCAL_SIZE, RANK, WORLD_SIZE, CROSS_RANK, CROSS_SIZE.
EnvMap deepspeed_rank1() {
  return {{"LOCAL_RANK", "1"}, {"LOCAL_SIZE", "2"}, {"RANK", "3"},
          {"WORLD_SIZE", "4"}, {"CROSS_RANK", "1"}, {"CROSS_SIZE", "2"}};
}

TEST(Launcher, DeepSpeedLauncherRankAndSize) {
  LauncherRank rank = detect_ok(deepspeed_rank1());
  EXPECT_EQ(rank.launcher, Launcher::DeepSpeed);
  EXPECT_EQ(rank.local_rank, 1u);
  EXPECT_EQ(rank.local_nranks, 2u);
  EXPECT_EQ(rank.size_variable, "LOCAL_SIZE");
  EXPECT_FALSE(rank.binds_by_default);
  EXPECT_STREQ(to_string(rank.launcher), "DeepSpeed");
}

TEST(Launcher, TorchrunsLocalWorldSizeWinsOverALocalSize) {
  LauncherRank rank = detect_ok(merged(torchrun_rank1(), {{"LOCAL_SIZE", "7"}}));
  EXPECT_EQ(rank.launcher, Launcher::Torchrun);
  EXPECT_EQ(rank.local_nranks, 2u);
}

// horovod/runner/gloo_run.py: HOROVOD_RANK, HOROVOD_SIZE, HOROVOD_LOCAL_RANK, HOROVOD_LOCAL_SIZE,
// HOROVOD_CROSS_RANK, HOROVOD_CROSS_SIZE.
TEST(Launcher, HorovodGlooRankAndSize) {
  LauncherRank rank = detect_ok({{"HOROVOD_RANK", "3"},
                                 {"HOROVOD_SIZE", "4"},
                                 {"HOROVOD_LOCAL_RANK", "1"},
                                 {"HOROVOD_LOCAL_SIZE", "2"},
                                 {"HOROVOD_CROSS_RANK", "1"},
                                 {"HOROVOD_CROSS_SIZE", "2"}});
  EXPECT_EQ(rank.launcher, Launcher::Horovod);
  EXPECT_EQ(rank.local_rank, 1u);
  EXPECT_EQ(rank.local_nranks, 2u);
  EXPECT_EQ(rank.rank_variable, "HOROVOD_LOCAL_RANK");
}

// MVAPICH2 src/pm/mpirun/mpispawn.c, setup_local_environment(): PMI_ID, MV2_COMM_WORLD_RANK,
// MV2_COMM_WORLD_LOCAL_RANK, MV2_COMM_WORLD_LOCAL_SIZE, MV2_COMM_WORLD_SIZE.
TEST(Launcher, Mvapich2MpirunRshRankAndSize) {
  LauncherRank rank = detect_ok({{"PMI_ID", "3"},
                                 {"MV2_COMM_WORLD_RANK", "3"},
                                 {"MV2_COMM_WORLD_LOCAL_RANK", "1"},
                                 {"MV2_COMM_WORLD_LOCAL_SIZE", "2"},
                                 {"MV2_COMM_WORLD_SIZE", "4"}});
  EXPECT_EQ(rank.launcher, Launcher::Mvapich2);
  EXPECT_EQ(rank.local_rank, 1u);
  EXPECT_EQ(rank.local_nranks, 2u);
  EXPECT_EQ(rank.size_variable, "MV2_COMM_WORLD_LOCAL_SIZE");
}

// MVAPICH 3 names MVP_COMM_WORLD_LOCAL_RANK among mpirun_rsh's variables; no local size is named.
TEST(Launcher, Mvapich3RankWithAnUnknownSize) {
  LauncherRank rank = detect_ok({{"PMI_ID", "3"}, {"MVP_COMM_WORLD_LOCAL_RANK", "1"}});
  EXPECT_EQ(rank.launcher, Launcher::Mvapich3);
  EXPECT_EQ(rank.local_rank, 1u);
  EXPECT_FALSE(rank.local_nranks.has_value());
}

// HPE's pals.h ("Environment variables available for applications"): PALS_RANKID, PALS_NODEID,
// PALS_LOCAL_RANKID, PALS_LOCAL_SIZE, PALS_DEPTH, PALS_APID.
TEST(Launcher, CrayPalsRankAndSize) {
  LauncherRank rank = detect_ok({{"PALS_RANKID", "3"},
                                 {"PALS_NODEID", "1"},
                                 {"PALS_LOCAL_RANKID", "1"},
                                 {"PALS_LOCAL_SIZE", "2"},
                                 {"PALS_DEPTH", "1"},
                                 {"PALS_APID", "7f1e"},
                                 {"PMI_RANK", "3"}});
  EXPECT_EQ(rank.launcher, Launcher::CrayPals);
  EXPECT_EQ(rank.local_rank, 1u);
  EXPECT_EQ(rank.local_nranks, 2u);
}

// Flux's PALS emulation (flux-core src/shell/plugins/pals.c) sets PALS_RANKID and PALS_NODEID but
// no PALS_LOCAL_RANKID: the rank is Flux's.
TEST(Launcher, FluxEmulatingPalsIsFlux) {
  LauncherRank rank = detect_ok({{"PALS_RANKID", "3"},
                                 {"PALS_NODEID", "1"},
                                 {"FLUX_TASK_LOCAL_ID", "1"},
                                 {"FLUX_TASK_RANK", "3"},
                                 {"FLUX_JOB_SIZE", "4"},
                                 {"FLUX_JOB_NNODES", "2"}});
  EXPECT_EQ(rank.launcher, Launcher::Flux);
  EXPECT_EQ(rank.local_rank, 1u);
}

// jsrun: JSM_NAMESPACE_RANK, JSM_NAMESPACE_SIZE, JSM_NAMESPACE_LOCAL_RANK,
// JSM_NAMESPACE_LOCAL_SIZE.
TEST(Launcher, JsrunRankAndSize) {
  LauncherRank rank = detect_ok({{"JSM_NAMESPACE_RANK", "3"},
                                 {"JSM_NAMESPACE_SIZE", "4"},
                                 {"JSM_NAMESPACE_LOCAL_RANK", "1"},
                                 {"JSM_NAMESPACE_LOCAL_SIZE", "2"},
                                 {"LSB_JOBID", "1234"}});
  EXPECT_EQ(rank.launcher, Launcher::Jsrun);
  EXPECT_EQ(rank.local_rank, 1u);
  EXPECT_EQ(rank.local_nranks, 2u);
}

// flux-core src/shell/task.c: FLUX_TASK_LOCAL_ID, FLUX_TASK_RANK, FLUX_JOB_SIZE, FLUX_JOB_NNODES,
// FLUX_JOB_ID, and PMI_RANK/PMI_SIZE. No local size: FLUX_JOB_SIZE is one only on one node.
TEST(Launcher, FluxLocalSizeIsTheJobSizeOnlyOnOneNode) {
  EnvMap flux = {{"FLUX_TASK_LOCAL_ID", "1"},
                 {"FLUX_TASK_RANK", "3"},
                 {"FLUX_JOB_SIZE", "4"},
                 {"FLUX_JOB_NNODES", "2"},
                 {"FLUX_JOB_ID", "f2"},
                 {"PMI_RANK", "3"},
                 {"PMI_SIZE", "4"}};
  LauncherRank two_nodes = detect_ok(flux);
  EXPECT_EQ(two_nodes.launcher, Launcher::Flux);
  EXPECT_EQ(two_nodes.local_rank, 1u);
  EXPECT_FALSE(two_nodes.local_nranks.has_value());

  flux["FLUX_TASK_RANK"] = "1";
  flux["FLUX_JOB_SIZE"] = "2";
  flux["FLUX_JOB_NNODES"] = "1";
  LauncherRank one_node = detect_ok(flux);
  EXPECT_EQ(one_node.local_nranks, 2u);
  EXPECT_EQ(one_node.size_variable, "FLUX_JOB_SIZE");
}

TEST(Launcher, FluxStartedBySrunIsFlux) {
  LauncherRank rank = detect_ok(
      merged(slurm_task1(),
             {{"FLUX_TASK_LOCAL_ID", "0"}, {"FLUX_JOB_SIZE", "1"}, {"FLUX_JOB_NNODES", "1"}}));
  EXPECT_EQ(rank.launcher, Launcher::Flux);
  EXPECT_EQ(rank.local_rank, 0u);
  EXPECT_EQ(rank.local_nranks, 1u);
}

TEST(Launcher, EveryLauncherInPrecedenceOrder) {
  EnvMap all = merged(merged(torchrun_rank1(), open_mpi_rank1()), slurm_task1());
  for (const auto& [rank, size] : std::vector<std::pair<std::string, std::string>>{
           {"HOROVOD_LOCAL_RANK", "HOROVOD_LOCAL_SIZE"},
           {"MV2_COMM_WORLD_LOCAL_RANK", "MV2_COMM_WORLD_LOCAL_SIZE"},
           {"MVP_COMM_WORLD_LOCAL_RANK", ""},
           {"MPI_LOCALRANKID", "MPI_LOCALNRANKS"},
           {"PALS_LOCAL_RANKID", "PALS_LOCAL_SIZE"},
           {"JSM_NAMESPACE_LOCAL_RANK", "JSM_NAMESPACE_LOCAL_SIZE"},
           {"FLUX_TASK_LOCAL_ID", ""}}) {
    all[rank] = "1";
    if (!size.empty()) all[size] = "2";
  }
  all["LOCAL_SIZE"] = "2";
  std::vector<Launcher> seen;
  for (const auto& launcher : kLaunchers) {
    LauncherRank found = detect_ok(all);
    seen.push_back(found.launcher);
    if (found.launcher == Launcher::Torchrun) {
      all.erase("LOCAL_WORLD_SIZE");  // what is left is DeepSpeed's
    } else {
      all.erase(found.rank_variable);
    }
    (void)launcher;
  }
  std::vector<Launcher> expected;
  for (const auto& launcher : kLaunchers) expected.push_back(launcher.id);
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(expected.front(), Launcher::Torchrun);
  EXPECT_EQ(expected.back(), Launcher::Slurm);
}

TEST(Launcher, NewLaunchersGlobalRanksAreNeverUsedAsLocalRanks) {
  auto found = detect_launcher({{"HOROVOD_RANK", "3"},
                                {"MV2_COMM_WORLD_RANK", "3"},
                                {"PMI_ID", "3"},
                                {"PALS_RANKID", "3"},
                                {"PALS_NODEID", "1"},
                                {"JSM_NAMESPACE_RANK", "3"},
                                {"FLUX_TASK_RANK", "3"},
                                {"CROSS_RANK", "1"},
                                {"LOCAL_SIZE", "2"}});
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TEST(Launcher, NewLaunchersMalformedValuesNameTheVariableAndTheLauncher) {
  std::string error = detect_error({{"PALS_LOCAL_RANKID", "one"}});
  EXPECT_NE(error.find("PALS_LOCAL_RANKID"), std::string::npos) << error;
  EXPECT_NE(error.find("Cray PALS"), std::string::npos) << error;
  error =
      detect_error({{"FLUX_TASK_LOCAL_ID", "0"}, {"FLUX_JOB_NNODES", "1"}, {"FLUX_JOB_SIZE", "0"}});
  EXPECT_NE(error.find("FLUX_JOB_SIZE"), std::string::npos) << error;
  error = detect_error({{"HOROVOD_LOCAL_RANK", "0"}, {"HOROVOD_LOCAL_SIZE", "-2"}});
  EXPECT_NE(error.find("HOROVOD_LOCAL_SIZE"), std::string::npos) << error;
}

}  // namespace
}  // namespace xeonplace
