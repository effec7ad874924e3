// decide() and decide_ranks() (core/decision.h) with made-up facts: every path the engine and the
// spawner take, without a process to place.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "core/decision.h"
#include "core/lscpu.h"
#include "core/placement_inputs.h"

namespace xeonplace {
namespace {

// 2 packages, one NUMA node each, 2 cores each, no SMT: CPUs 0-1 on node 0, 2-3 on node 1.
Topology machine() {
  Expected<Topology> t = parse_lscpu(
      "# CPU,Core,Socket,Node\n0,0,0,0\n1,1,0,0\n2,2,1,1\n3,3,1,1\n", "lscpu:made-up");
  EXPECT_TRUE(t.ok());
  return *t;
}

constexpr const char* kSelf = "/opt/xp/libxeonplace.so";
constexpr const char* kTcmalloc = "/usr/lib/libtcmalloc.so.4";
constexpr const char* kJemalloc = "/usr/lib/libjemalloc.so.2";
constexpr const char* kIomp = "/usr/lib/libiomp5.so";

// A process about to be placed on the whole machine, with tcmalloc and libiomp5 on disk.
Facts process_facts(const EnvMap& env) {
  Facts facts;
  facts.topology = machine();
  facts.inherited_affinity = *CpuSet::parse("0-3", "test");
  facts.allowed_mems = *CpuSet::parse("0-1", "test");
  facts.online_cpus = *CpuSet::parse("0-3", "test");
  facts.self_path = kSelf;
  facts.process_name = "app";
  facts.pid = 4242;
  facts.loaded = {"/lib/libc.so.6", kSelf};
  for (const LibraryRequest& request : facts_wanted(env).libraries) {
    LibraryLookup lookup{request, std::nullopt, "not found: " + request.what};
    for (const std::string& name : request.names) {
      if (name == "libtcmalloc.so.4") lookup.path = kTcmalloc;
      if (name == "libjemalloc.so.2" && !lookup.path) lookup.path = kJemalloc;
      if (name == "libiomp5.so") lookup.path = kIomp;
    }
    facts.libraries.push_back(lookup);
  }
  return facts;
}

std::string value_of(const std::vector<EnvVar>& vars, const std::string& name) {
  for (const EnvVar& var : vars) {
    if (var.name == name) return var.value;
  }
  return "(unset)";
}

// The warnings of `d` that contain `word` (the made-up machine adds a planner warning of its own).
std::vector<std::string> warnings_about(const Decision& d, const std::string& word) {
  std::vector<std::string> out;
  for (const std::string& w : d.warnings) {
    if (w.find(word) != std::string::npos) out.push_back(w);
  }
  return out;
}

TEST(Decide, DisableSkipsWithoutLookingAtAnythingElse) {
  const EnvMap env = {{"XEONRUN_DISABLE", "1"}, {"XEONRUN_RANK", "nonsense"}};
  Expected<Decision> d = decide(Facts{}, env);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->action, Action::Skip);
}

TEST(Decide, BadConfigurationIsAnErrorNamingTheVariable) {
  const EnvMap env = {{"XEONRUN_RANK", "2"}, {"XEONRUN_NINSTANCES", "2"}};
  Expected<Decision> d = decide(process_facts(env), env);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("XEONRUN_RANK=2"), std::string::npos);
}

TEST(Decide, TopologyErrorIsReported) {
  const EnvMap env = {{"XEONRUN_NINSTANCES", "1"}};
  Facts facts = process_facts(env);
  facts.topology = Expected<Topology>(make_error("hwloc: no topology"));
  Expected<Decision> d = decide(facts, env);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message, "hwloc: no topology");
}

TEST(Decide, RankOfTwoGetsItsNodeAndReexecsToChainLoad) {
  const EnvMap env = {{"XEONRUN_RANK", "1"},
                      {"XEONRUN_NINSTANCES", "2"},
                      {"XEONRUN_THREAD_POOLS", "openmp"}};
  Expected<Decision> d = decide(process_facts(env), env);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->action, Action::Place);
  EXPECT_EQ(d->cpus.format(), "2-3");
  EXPECT_EQ(d->mems.format(), "1");
  EXPECT_EQ(value_of(d->runtime, "OMP_NUM_THREADS"), "2");
  EXPECT_TRUE(d->pin_existing_threads);
  EXPECT_TRUE(d->reexec);
  EXPECT_EQ(value_of(d->handoff, "LD_PRELOAD"),
            std::string(kTcmalloc) + ":" + kIomp + ":" + kSelf);
  EXPECT_EQ(value_of(d->handoff, "XEONRUN_PLACEMENT"),
            "v1;rank=1;nranks=2;cpus=2-3;mems=1;membind=bind;pin=process;source=XEONRUN_RANK;"
            "env=OMP_NUM_THREADS,KMP_AFFINITY,KMP_BLOCKTIME");
  EXPECT_EQ(value_of(d->placed, "XEONRUN_PLACED_CPUS"), "2-3");
}

TEST(Decide, NothingToLoadMeansNoReexec) {
  const EnvMap env = {{"XEONRUN_NINSTANCES", "1"},
                      {"XEONRUN_ALLOCATOR", "default"},
                      {"XEONRUN_OMP_RUNTIME", "default"}};
  Expected<Decision> d = decide(process_facts(env), env);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->reexec);
  EXPECT_EQ(value_of(d->handoff, "LD_PRELOAD"), "(unset)");
}

TEST(Decide, LibgompLoadedWithOtherValuesNeedsAReexecEvenWithoutLibraries) {
  const EnvMap env = {{"XEONRUN_NINSTANCES", "1"},
                      {"XEONRUN_ALLOCATOR", "default"},
                      {"XEONRUN_OMP_RUNTIME", "default"}};
  Facts facts = process_facts(env);
  facts.loaded.push_back("/lib/libgomp.so.1");
  Expected<Decision> d = decide(facts, env);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->reexec);
  EXPECT_TRUE(d->added_libraries.empty());
}

TEST(Decide, SecureExecutionAndDebuggersAreNeverReexecuted) {
  const EnvMap env = {{"XEONRUN_NINSTANCES", "1"}};
  for (bool traced : {false, true}) {
    Facts facts = process_facts(env);
    (traced ? facts.traced : facts.secure) = true;
    Expected<Decision> d = decide(facts, env);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->action, Action::Place);
    EXPECT_FALSE(d->reexec);
    ASSERT_FALSE(d->warnings.empty());
    EXPECT_NE(d->warnings.back().find(traced ? "debugger" : "AT_SECURE"), std::string::npos);
  }
}

TEST(Decide, ReexecNeverPlacesWithoutReexecutingAndSaysWhatIsMissingOnce) {
  const EnvMap env = {{"XEONRUN_NINSTANCES", "1"}, {"XEONRUN_REEXEC", "never"}};
  Expected<Decision> d = decide(process_facts(env), env);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->action, Action::Place);
  EXPECT_FALSE(d->reexec);
  const std::vector<std::string> said = warnings_about(*d, "chain-load");
  ASSERT_EQ(said.size(), 1u);
  EXPECT_NE(said[0].find("XEONRUN_REEXEC=never"), std::string::npos);
  EXPECT_NE(said[0].find(kTcmalloc), std::string::npos);
  EXPECT_NE(said[0].find(kIomp), std::string::npos);
}

TEST(Decide, ReexecAutoIsTheDefault) {
  for (const char* value : {"auto", "AUTO"}) {
    const EnvMap env = {{"XEONRUN_NINSTANCES", "1"}, {"XEONRUN_REEXEC", value}};
    Expected<Decision> d = decide(process_facts(env), env);
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(d->reexec);
  }
}

TEST(Decide, ASanitizerRuntimeGetsNoAllocatorButStillTheOpenMpRuntime) {
  for (const char* sanitizer : {"/usr/lib/x86_64-linux-gnu/libasan.so.8", "AddressSanitizer"}) {
    const EnvMap env = {{"XEONRUN_NINSTANCES", "1"}, {"LD_PRELOAD", kSelf}};
    Facts facts = process_facts(env);
    facts.sanitizer = sanitizer;
    Expected<Decision> d = decide(facts, env);
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(d->reexec);
    EXPECT_EQ(d->added_libraries, std::vector<std::string>{kIomp});
    EXPECT_EQ(value_of(d->handoff, "LD_PRELOAD"), std::string(kIomp) + ":" + kSelf);
    const std::vector<std::string> said = warnings_about(*d, "chain-load");
    ASSERT_EQ(said.size(), 1u);
    EXPECT_NE(said[0].find(sanitizer), std::string::npos);
    EXPECT_NE(said[0].find(kTcmalloc), std::string::npos);
  }
}

TEST(Decide, ASanitizedImageAfterTheReexecDoesNotMissTheAllocator) {
  const EnvMap first = {{"XEONRUN_NINSTANCES", "1"}, {"LD_PRELOAD", kSelf}};
  Facts facts = process_facts(first);
  facts.sanitizer = "AddressSanitizer";
  Expected<Decision> d = decide(facts, first);
  ASSERT_TRUE(d.ok());
  EnvMap second = first;
  for (const EnvVar& var : d->handoff) second[var.name] = var.value;
  for (const EnvVar& var : guard_env(facts.pid, "app")) second[var.name] = var.value;
  facts.loaded.push_back(kIomp);
  Expected<Decision> after = decide(facts, second);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(warnings_about(*after, "chain-load").empty());
}

TEST(Decide, AReexecWithoutNewLibrariesKeepsTheLoadedLdPreload) {
  // libgomp read stale settings: a re-exec with the LD_PRELOAD this image was loaded with, set
  // explicitly so that the new image's environment holds it once.
  const EnvMap env = {{"XEONRUN_NINSTANCES", "1"},
                      {"XEONRUN_ALLOCATOR", "default"},
                      {"XEONRUN_OMP_RUNTIME", "default"},
                      {"LD_PRELOAD", kSelf}};
  Facts facts = process_facts(env);
  facts.loaded.push_back("/lib/libgomp.so.1");
  Expected<Decision> d = decide(facts, env);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->reexec);
  EXPECT_EQ(value_of(d->handoff, "LD_PRELOAD"), kSelf);
}

TEST(Decide, DryRunAndFixturesChangeNothing) {
  for (const EnvMap& env : {EnvMap{{"XEONRUN_DRY_RUN", "1"}},
                            EnvMap{{"XEONRUN_TOPOLOGY", "lscpu:/some/where"}}}) {
    Expected<Decision> d = decide(process_facts(env), env);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->action, Action::DryRun);
    EXPECT_FALSE(d->reexec);
  }
}

TEST(Decide, UserValuesAreKeptWithAWarningAndNotListedAsPlanned) {
  const EnvMap env = {{"XEONRUN_NINSTANCES", "1"}, {"OMP_NUM_THREADS", "7"}};
  Expected<Decision> d = decide(process_facts(env), env);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(value_of(d->runtime, "OMP_NUM_THREADS"), "(unset)");  // kept as it is
  bool warned = false;
  for (const std::string& w : d->warnings) warned = warned || w.find("OMP_NUM_THREADS=7") != std::string::npos;
  EXPECT_TRUE(warned);
  EXPECT_EQ(value_of(d->placed, "XEONRUN_PLACED_ENV").find("OMP_NUM_THREADS"), std::string::npos);
}

TEST(Decide, InheritedAffinityIsRespectedUnlessALauncherDefaultBindingIsReplaced) {
  // mpirun's default binding of this rank to one CPU: replaced, the rank gets its node.
  EnvMap env = {{"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                {"OMPI_MCA_orte_bound_at_launch", "1"}};
  Facts facts = process_facts(env);
  facts.inherited_affinity = *CpuSet::parse("1", "test");
  Expected<Decision> d = decide(facts, env);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->cpus.format(), "2-3");
  // taskset by the user: kept, the rank is planned inside it.
  env = {{"XEONRUN_NINSTANCES", "1"}};
  facts = process_facts(env);
  facts.inherited_affinity = *CpuSet::parse("2-3", "test");
  d = decide(facts, env);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->cpus.format(), "2-3");
}

TEST(Decide, ARankStartedByAPlacedLauncherSetsTheLaunchersPlacementAside) {
  // torchrun was placed over the whole machine (OMP_NUM_THREADS=4 is its plan's); its rank 1
  // must get its own plan, not keep the launcher's value as if the user had set it.
  const EnvMap env = {
      {"LOCAL_RANK", "1"},
      {"LOCAL_WORLD_SIZE", "2"},
      {"OMP_NUM_THREADS", "4"},
      {"XEONRUN_NINSTANCES", "2"},
      {"XEONRUN_PLACED_RANK", "0"},
      {"XEONRUN_PLACED_ENV", "OMP_NUM_THREADS"},
      // torchrun's inputs had no LOCAL_RANK: the rank's differ.
      {"XEONRUN_PLACED_INPUTS", placement_inputs_fingerprint({{"XEONRUN_NINSTANCES", "2"}})},
      {"XEONRUN_PLACEMENT",
       "v1;rank=0;nranks=1;cpus=0-3;mems=0-1;membind=bind;"
       "pin=process;source=;env=OMP_NUM_THREADS"}};
  Expected<Decision> d = decide(process_facts(env), env);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->cpus.format(), "2-3");
  EXPECT_EQ(value_of(d->runtime, "OMP_NUM_THREADS"), "2");
  EXPECT_EQ(value_of(d->placed, "XEONRUN_PLACED_LAUNCHER"), "LOCAL_RANK=1;");
}

TEST(Decide, WhatIsExportedAndHandedToTheReexecIsWhatTheKernelAccepted) {
  const EnvMap env = {{"XEONRUN_NINSTANCES", "2"}, {"XEONRUN_RANK", "1"}};
  Expected<Decision> d = decide(process_facts(env), env);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->reexec);
  // set_mempolicy refused (a container without CAP_SYS_NICE), sched_setaffinity refused too.
  record_what_was_applied(*d, false, *CpuSet::parse("0-3", "test"), false);
  EXPECT_EQ(value_of(d->placed, "XEONRUN_PLACED_MEMBIND"), "none");
  EXPECT_EQ(value_of(d->placed, "XEONRUN_PLACED_CPUS"), "0-3");
  Expected<HandedPlacement> handed =
      parse_handed_placement(value_of(d->handoff, "XEONRUN_PLACEMENT"));
  ASSERT_TRUE(handed.ok());
  EXPECT_EQ(handed->membind, Membind::None);
  EXPECT_EQ(handed->cpus.format(), "0-3");
  // Everything accepted: nothing changes.
  Expected<Decision> ok = decide(process_facts(env), env);
  ASSERT_TRUE(ok.ok());
  record_what_was_applied(*ok, true, CpuSet{}, true);
  EXPECT_EQ(value_of(ok->placed, "XEONRUN_PLACED_MEMBIND"), "bind");
  EXPECT_EQ(value_of(ok->placed, "XEONRUN_PLACED_CPUS"), "2-3");
  // XEONRUN_PIN=none left the affinity alone on purpose: the plan's CPUs are reported.
  Expected<Decision> unpinned = decide(process_facts(env), env);
  ASSERT_TRUE(unpinned.ok());
  unpinned->pin = Pin::None;
  record_what_was_applied(*unpinned, false, *CpuSet::parse("0-3", "test"), true);
  EXPECT_EQ(value_of(unpinned->placed, "XEONRUN_PLACED_CPUS"), "2-3");
}

// ---- a child of a placed process (docs/design.md §5) ----

// What a process placed with `inputs` exports (decide()'s XEONRUN_PLACED_*), on top of `inputs`
// and the runtime variables it set: the environment its children start with.
EnvMap placed_parent(const EnvMap& inputs, const CpuSet& affinity) {
  Facts facts = process_facts(inputs);
  facts.inherited_affinity = affinity;
  Expected<Decision> parent = decide(facts, inputs);
  EXPECT_TRUE(parent.ok()) << parent.error().message;
  EnvMap env = inputs;
  for (const EnvVar& var : parent->runtime) env[var.name] = var.value;
  for (const EnvVar& var : parent->placed) env[var.name] = var.value;
  return env;
}

TEST(PlacementInputs, TheFingerprintIgnoresOrderOutputsAndReportingButNotInputs) {
  const EnvMap inputs = {{"XEONRUN_NINSTANCES", "2"}, {"LOCAL_RANK", "1"}, {"HOME", "/root"}};
  const std::string base = placement_inputs_fingerprint(inputs);
  EXPECT_EQ(base.size(), 16u);
  EnvMap same = inputs;
  same["XEONRUN_PLACED_RANK"] = "0";
  same["XEONRUN_REEXEC_GUARD"] = "12";
  same["XEONRUN_LOG_LEVEL"] = "debug";
  same["XEONRUN_LOG_FILE"] = "/tmp/log";
  same["OMP_NUM_THREADS"] = "3";
  EXPECT_EQ(placement_inputs_fingerprint(same), base);
  EnvMap rank = inputs;
  rank["XEONRUN_RANK"] = "1";
  EXPECT_NE(placement_inputs_fingerprint(rank), base);
  EnvMap launcher = inputs;
  launcher["LOCAL_RANK"] = "0";
  EXPECT_NE(placement_inputs_fingerprint(launcher), base);
  // The front's C entry point over "NAME=value" entries in another order gives the same value.
  const char* const entries[] = {"HOME=/root", "LOCAL_RANK=1", "XEONRUN_PLACED_CPUS=0-1",
                                 "XEONRUN_NINSTANCES=2", nullptr};
  const char* const context[] = {"LOCAL_RANK="};
  char text[XEONPLACE_FINGERPRINT_SIZE];
  xeonplace_format_fingerprint(xeonplace_inputs_fingerprint(entries, context, 1), text);
  EXPECT_EQ(std::string(text), base);
}

TEST(Decide, APlacedProcessExportsTheFingerprintOfItsInputs) {
  const EnvMap env = {{"XEONRUN_NINSTANCES", "2"}, {"XEONRUN_RANK", "1"}};
  Expected<Decision> d = decide(process_facts(env), env);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(value_of(d->placed, "XEONRUN_PLACED_INPUTS"), placement_inputs_fingerprint(env));
}

TEST(Decide, AChildAskingForItsOwnRankIsPlacedOverTheMachineNotItsParentsSlice) {
  // A shell entrypoint placed as rank 0 of 2 (CPUs 0-1) starts XEONRUN_RANK=1 app: the app
  // inherits the shell's slice, which is ours, not a binding the user chose.
  EnvMap env = placed_parent({{"XEONRUN_NINSTANCES", "2"}}, *CpuSet::parse("0-3", "test"));
  ASSERT_EQ(env["XEONRUN_PLACED_CPUS"], "0-1");
  env["XEONRUN_RANK"] = "1";
  Facts facts = process_facts(env);
  facts.inherited_affinity = *CpuSet::parse("0-1", "test");
  Expected<Decision> d = decide(facts, env);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->action, Action::Place);
  EXPECT_EQ(d->cpus.format(), "2-3");
  EXPECT_EQ(d->rank, 1u);
  EXPECT_EQ(value_of(d->runtime, "OMP_NUM_THREADS"), "2");
  EXPECT_NE(value_of(d->placed, "XEONRUN_PLACED_INPUTS"), env["XEONRUN_PLACED_INPUTS"]);
}

TEST(Decide, AChildWithItsParentsInputsInsideTheSlicesSubsetIsToldWhatItHas) {
  // LD_PRELOAD=... XEONRUN_NINSTANCES=1 taskset -c 1 prog: taskset was placed on 0-3 with
  // OMP_NUM_THREADS=4, then narrowed prog to CPU 1.
  const EnvMap env = placed_parent({{"XEONRUN_NINSTANCES", "1"}}, *CpuSet::parse("0-3", "test"));
  Facts facts = process_facts(env);
  facts.inherited_affinity = *CpuSet::parse("1", "test");
  Expected<Decision> d = decide(facts, env);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->action, Action::Correct);
  EXPECT_EQ(value_of(d->placed, "XEONRUN_PLACED_CPUS"), "1");
  EXPECT_EQ(value_of(d->runtime, "OMP_NUM_THREADS"), "1");
  // A user's OMP_NUM_THREADS (not listed in XEONRUN_PLACED_ENV) is theirs: left alone.
  EnvMap user = placed_parent({{"XEONRUN_NINSTANCES", "1"}, {"OMP_NUM_THREADS", "8"}},
                              *CpuSet::parse("0-3", "test"));
  d = decide(facts, user);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->action, Action::Correct);
  EXPECT_EQ(value_of(d->runtime, "OMP_NUM_THREADS"), "(unset)");
  // The whole slice, inherited as it was: nothing to do.
  facts.inherited_affinity = *CpuSet::parse("0-3", "test");
  d = decide(facts, env);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->action, Action::Skip);
}

TEST(Decide, AChildUnderAPlacedParentIsPlannedOverWhatTheParentPlannedOver) {
  // The shell ran under taskset -c 0-1: rank 0 of 2 got CPU 0. Its child asking for rank 1 gets
  // CPU 1, inside the user's taskset, not the other package.
  EnvMap env = placed_parent({{"XEONRUN_NINSTANCES", "2"}}, *CpuSet::parse("0-1", "test"));
  ASSERT_EQ(env["XEONRUN_PLACED_CPUS"], "0");
  ASSERT_EQ(env["XEONRUN_PLACED_SCOPE"], "0-1");
  // The image a re-exec starts is handed the scope and exports it again.
  {
    EnvMap first = {{"XEONRUN_NINSTANCES", "2"}};
    Facts at_start = process_facts(first);
    at_start.inherited_affinity = *CpuSet::parse("0-1", "test");
    Expected<Decision> d = decide(at_start, first);
    ASSERT_TRUE(d.ok() && d->reexec);
    for (const EnvVar& var : d->handoff) first[var.name] = var.value;
    Facts reexecuted = process_facts(first);
    reexecuted.inherited_affinity = *CpuSet::parse("0", "test");
    Expected<Decision> image = decide(reexecuted, first);
    ASSERT_TRUE(image.ok()) << image.error().message;
    EXPECT_EQ(value_of(image->placed, "XEONRUN_PLACED_SCOPE"), "0-1");
  }
  env["XEONRUN_RANK"] = "1";
  Facts facts = process_facts(env);
  facts.inherited_affinity = *CpuSet::parse("0", "test");
  Expected<Decision> d = decide(facts, env);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->cpus.format(), "1");
  // A parent that did not say what it planned over: the cgroup's CPUs.
  env.erase("XEONRUN_PLACED_SCOPE");
  d = decide(facts, env);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->cpus.format(), "2-3");
}

TEST(Decide, TheParentsPlacementIsOursOnlyWhenTheAffinityIsExactlyIt) {
  const EnvMap env = {{"XEONRUN_PLACED_RANK", "0"},
                      {"XEONRUN_PLACED_CPUS", "0-1"},
                      {"XEONRUN_PLACED_SCOPE", "0-3"}};
  EXPECT_EQ(planning_affinity(*CpuSet::parse("0-1", "test"), env).format(), "0-3");
  EXPECT_EQ(planning_affinity(*CpuSet::parse("1", "test"), env).format(), "1");
  EXPECT_EQ(planning_affinity(*CpuSet::parse("0-1", "test"),
                              {{"XEONRUN_PLACED_CPUS", "0-1"}, {"XEONRUN_PLACED_SCOPE", "0-3"}})
                .format(),
            "0-1");
  EXPECT_EQ(parents_planned_variables({{"XEONRUN_PLACED_ENV", "OMP_NUM_THREADS"}}).size(), 0u);
  EXPECT_EQ(parents_planned_variables({{"XEONRUN_PLACED_RANK", "0"},
                                       {"XEONRUN_PLACED_ENV", "OMP_NUM_THREADS,KMP_BLOCKTIME"}})
                .size(),
            2u);
}

// ---- handed placements ----

EnvMap handed_env(const std::string& cpus, const std::string& mems) {
  return {{"XEONRUN_RANK", "1"},
          {"OMP_NUM_THREADS", "2"},
          {"XEONRUN_PLACEMENT", "v1;rank=1;nranks=2;cpus=" + cpus + ";mems=" + mems +
                                    ";membind=bind;pin=process;source=xeonrun-spawn;"
                                    "env=OMP_NUM_THREADS"}};
}

TEST(DecideHanded, AppliedWithoutATopologyWhenAllowed) {
  const EnvMap env = handed_env("2-3", "1");
  EXPECT_TRUE(facts_wanted(env).handed);
  Facts facts = process_facts(env);
  facts.topology.reset();  // not gathered
  Expected<Decision> d = decide(facts, env);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->action, Action::Place);
  EXPECT_EQ(d->cpus.format(), "2-3");
  EXPECT_TRUE(d->pin_existing_threads);  // inherited 0-3: not inside yet
  EXPECT_FALSE(d->reexec);
  EXPECT_EQ(value_of(d->placed, "XEONRUN_PLACED_ENV"), "OMP_NUM_THREADS");
}

TEST(DecideHanded, AProcessAlreadyInsideKeepsItsThreadsMasks) {
  const EnvMap env = handed_env("2-3", "1");
  Facts facts = process_facts(env);
  facts.inherited_affinity = *CpuSet::parse("2", "test");  // libgomp bound the initial thread
  Expected<Decision> d = decide(facts, env);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_FALSE(d->pin_existing_threads);
}

TEST(DecideHanded, CpusOrNodesOutsideWhatIsAllowedAreRefused) {
  Facts facts = process_facts(handed_env("2-3", "1"));
  facts.inherited_affinity = *CpuSet::parse("0-1", "test");
  Expected<Decision> d = decide(facts, handed_env("2-3", "1"));
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("XEONRUN_PLACEMENT: CPUs 2-3"), std::string::npos);
  d = decide(process_facts(handed_env("2-3", "5")), handed_env("2-3", "5"));
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("memory nodes 5"), std::string::npos);
  d = decide(process_facts(handed_env("2-9", "1")), handed_env("2-9", "1"));
  ASSERT_FALSE(d.ok());
}

TEST(DecideHanded, TheReexecutedImageDoesNotPinAgainAndChecksItsLibraries) {
  EnvMap env = handed_env("2-3", "1");
  env["XEONRUN_REEXEC_GUARD"] = "4242";
  Facts facts = process_facts(env);
  facts.inherited_affinity = *CpuSet::parse("2-3", "test");
  Expected<Decision> d = decide(facts, env);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->pin_existing_threads);
  EXPECT_FALSE(d->reexec);
  ASSERT_FALSE(d->warnings.empty());  // tcmalloc and libiomp5 are not among `loaded`
  EXPECT_NE(d->warnings.back().find("still not loaded"), std::string::npos);
}

TEST(HandedPlacement, FormatAndParseRoundTripAndGarbageIsRefused) {
  HandedPlacement p;
  p.rank = 3;
  p.nranks = 4;
  p.cpus = *CpuSet::parse("4-7", "t");
  p.mems = *CpuSet::parse("1", "t");
  p.membind = Membind::Interleave;
  p.pin = Pin::Thread;
  p.source = "Slurm";
  p.env = {"OMP_NUM_THREADS", "KMP_AFFINITY"};
  Expected<HandedPlacement> back = parse_handed_placement(format_handed_placement(p));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(format_handed_placement(*back), format_handed_placement(p));
  for (const char* bad : {"", "v2", "v1;rank=4;nranks=4;cpus=0;mems=0;membind=bind;pin=process;"
                                    "source=;env=",
                          "v1;rank=0;nranks=1;cpus=;mems=0;membind=bind;pin=process;source=;env=",
                          "v1;nranks=1;rank=0;cpus=0;mems=0;membind=bind;pin=process;source=;env="}) {
    Expected<HandedPlacement> parsed = parse_handed_placement(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().message.rfind("XEONRUN_PLACEMENT=", 0), 0u);
  }
}

// ---- the spawner: planned once ----

TEST(DecideRanks, EachRankIsHandedItsPlacementAndTheLibraryComesBeforeTheUsersPreload) {
  const EnvMap env = {{"XEONRUN_NINSTANCES", "2"},
                      {"XEONRUN_ALLOCATOR", "jemalloc"},
                      {"LD_PRELOAD", "/user/libx.so"}};
  Facts facts = process_facts(env);
  facts.pid = 0;
  facts.loaded.clear();
  Expected<RankDecisions> ranks = decide_ranks(facts, env);
  ASSERT_TRUE(ranks.ok()) << ranks.error().message;
  ASSERT_EQ(ranks->ranks.size(), 2u);
  for (unsigned r = 0; r < 2; ++r) {
    const Decision& d = ranks->ranks[r];
    EXPECT_FALSE(d.reexec);
    EXPECT_EQ(value_of(d.handoff, "XEONRUN_RANK"), std::to_string(r));
    EXPECT_EQ(value_of(d.handoff, "LD_PRELOAD"),
              std::string(kJemalloc) + ":" + kIomp + ":" + kSelf + ":/user/libx.so");
    EXPECT_NE(value_of(d.handoff, "MALLOC_CONF"), "(unset)");
    Expected<HandedPlacement> handed =
        parse_handed_placement(value_of(d.handoff, "XEONRUN_PLACEMENT"));
    ASSERT_TRUE(handed.ok());
    EXPECT_EQ(handed->cpus, d.cpus);
    EXPECT_EQ(handed->source, "xeonrun-spawn");
  }
  EXPECT_EQ(ranks->ranks[1].cpus.format(), "2-3");
}

TEST(DecideRanks, MultiInstanceRanksAreNotGivenARankCount) {
  const EnvMap env = {{"XEONRUN_MODE", "multi-instance"}};
  Facts facts = process_facts(env);
  facts.pid = 0;
  Expected<RankDecisions> ranks = decide_ranks(facts, env);
  ASSERT_TRUE(ranks.ok());
  for (const Decision& d : ranks->ranks) {
    EXPECT_EQ(value_of(d.handoff, "XEONRUN_NINSTANCES"), "(unset)");
  }
}

TEST(DecideRanks, WithoutTheLibraryNoPreloadIsAdded) {
  const EnvMap env = {{"XEONRUN_NINSTANCES", "1"},
                      {"XEONRUN_ALLOCATOR", "default"},
                      {"XEONRUN_OMP_RUNTIME", "default"}};
  Facts facts = process_facts(env);
  facts.pid = 0;
  facts.self_path.clear();
  Expected<RankDecisions> ranks = decide_ranks(facts, env);
  ASSERT_TRUE(ranks.ok());
  EXPECT_EQ(value_of(ranks->ranks[0].handoff, "LD_PRELOAD"), "(unset)");
}

TEST(LauncherContext, NamesTheLocalRanksAndTheSlurmStepInOrder) {
  EXPECT_EQ(launcher_context({{"SLURM_STEP_ID", "3"}, {"LOCAL_RANK", "1"}, {"RANK", "9"}}),
            "LOCAL_RANK=1;SLURM_STEP_ID=3;");
  EXPECT_EQ(launcher_context({}), "");
}

}  // namespace
}  // namespace xeonplace

namespace xeonplace {
namespace {

// Issue #14: torchrun's OMP_NUM_THREADS=1. Worker 0 of 2 on the made-up 4-core machine: the plan
// gives it 2 threads. `agent_had_omp`: what /proc/PPID/environ said (nullopt: unreadable).
Decision torchrun_worker(const EnvMap& extra, std::optional<bool> agent_had_omp) {
  EnvMap env = {{"LOCAL_RANK", "0"},
                {"LOCAL_WORLD_SIZE", "2"},
                {"RANK", "0"},
                {"WORLD_SIZE", "2"},
                {"TORCHELASTIC_RUN_ID", "none"},
                {"OMP_NUM_THREADS", "1"},
                {"XEONRUN_ALLOCATOR", "default"},
                {"XEONRUN_OMP_RUNTIME", "default"}};
  for (const auto& [name, value] : extra) env[name] = value;
  Facts facts = process_facts(env);
  facts.parent_started_with = agent_had_omp;
  Expected<Decision> d = decide(facts, env);
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message);
  return d.ok() ? *d : Decision{};
}

TEST(DecideThreads, TorchrunsWorkerAsksForItsAgentsStartingEnvironment) {
  const EnvMap worker = {
      {"LOCAL_RANK", "0"}, {"TORCHELASTIC_RUN_ID", "none"}, {"OMP_NUM_THREADS", "1"}};
  EXPECT_EQ(facts_wanted(worker).parent_start_variable, "OMP_NUM_THREADS");
  EnvMap users = worker;
  users["OMP_NUM_THREADS"] = "3";  // never torchrun's
  EXPECT_EQ(facts_wanted(users).parent_start_variable, "");
  EnvMap not_torchrun = worker;
  not_torchrun.erase("TORCHELASTIC_RUN_ID");
  EXPECT_EQ(facts_wanted(not_torchrun).parent_start_variable, "");
  EnvMap inherit = worker;
  inherit["XEONRUN_THREADS"] = "inherit";
  EXPECT_EQ(facts_wanted(inherit).parent_start_variable, "");
}

TEST(DecideThreads, AutoReplacesTorchrunsDefaultWhenTheAgentStartedWithoutOne) {
  const Decision d = torchrun_worker({}, false);
  EXPECT_EQ(d.action, Action::Place);
  EXPECT_EQ(value_of(d.runtime, "OMP_NUM_THREADS"), "2");
  EXPECT_TRUE(warnings_about(d, "kept from the environment").empty());
}

TEST(DecideThreads, AutoKeepsAOneTheUserGaveTheAgent) {
  const Decision d = torchrun_worker({}, true);
  EXPECT_EQ(value_of(d.runtime, "OMP_NUM_THREADS"), "(unset)");  // kept: not set again
  const auto kept = warnings_about(d, "OMP_NUM_THREADS=1 kept from the environment");
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_NE(kept[0].find("XEONRUN_THREADS=plan"), std::string::npos) << kept[0];
}

TEST(DecideThreads, AutoKeepsItWhenTheAgentsEnvironmentCannotBeRead) {
  EXPECT_EQ(value_of(torchrun_worker({}, std::nullopt).runtime, "OMP_NUM_THREADS"), "(unset)");
}

TEST(DecideThreads, InheritKeepsTorchrunsDefault) {
  const Decision d = torchrun_worker({{"XEONRUN_THREADS", "inherit"}}, false);
  EXPECT_EQ(value_of(d.runtime, "OMP_NUM_THREADS"), "(unset)");
}

TEST(DecideThreads, PlanReplacesTheUsersThreadCountsToo) {
  const Decision d = torchrun_worker(
      {{"XEONRUN_THREADS", "plan"}, {"OMP_NUM_THREADS", "5"}, {"MKL_NUM_THREADS", "7"}}, true);
  EXPECT_EQ(value_of(d.runtime, "OMP_NUM_THREADS"), "2");
  EXPECT_EQ(value_of(d.runtime, "MKL_NUM_THREADS"), "2");
  EXPECT_TRUE(warnings_about(d, "kept from the environment").empty());
}

TEST(DecideThreads, PlanOutsideTorchrunReplacesAnInheritedCount) {
  const EnvMap env = {{"XEONRUN_NINSTANCES", "2"},      {"XEONRUN_RANK", "1"},
                      {"XEONRUN_THREADS", "plan"},      {"OMP_NUM_THREADS", "9"},
                      {"XEONRUN_ALLOCATOR", "default"}, {"XEONRUN_OMP_RUNTIME", "default"}};
  Expected<Decision> d = decide(process_facts(env), env);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(value_of(d->runtime, "OMP_NUM_THREADS"), "2");
}

}  // namespace
}  // namespace xeonplace
