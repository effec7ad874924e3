// The launcher's pure parts: flag parsing, line cutting, the rank environment, the summary.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <ctime>
#include <string>
#include <vector>

#include "tools/spawn/cli.h"
#include "tools/spawn/line_splitter.h"
#include "tools/spawn/output.h"
#include "tools/spawn/rank_env.h"
#include "tools/spawn/summary.h"

namespace xeonplace::spawn {
namespace {

std::vector<std::string> split_all(const std::vector<std::string>& chunks, bool finish = true) {
  LineSplitter splitter;
  std::vector<std::string> lines;
  auto emit = [&](std::string_view line) { lines.emplace_back(line); };
  for (const auto& c : chunks) splitter.feed(c, emit);
  if (finish) splitter.finish(emit);
  return lines;
}

TEST(LineSplitter, LinesSplitAcrossChunksComeOutWhole) {
  EXPECT_EQ(split_all({"ab", "c\nde", "f\n\n"}),
            (std::vector<std::string>{"abc\n", "def\n", "\n"}));
}

TEST(LineSplitter, PartialLineIsHeldUntilItsNewline) {
  EXPECT_TRUE(split_all({"no newline yet"}, false).empty());
}

TEST(LineSplitter, FinalPartialLineGetsANewlineAtEnd) {
  EXPECT_EQ(split_all({"a\nlast"}), (std::vector<std::string>{"a\n", "last\n"}));
  EXPECT_EQ(split_all({"a\n"}), (std::vector<std::string>{"a\n"}));
}

TEST(LineSplitter, OverlongLineIsCutAtTheLimitInsteadOfGrowingWithoutBound) {
  std::string huge(LineSplitter::kMaxLine + 10, 'x');
  auto lines = split_all({huge.substr(0, 100), huge.substr(100)}, false);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].size(), huge.size() + 1);
  EXPECT_EQ(lines[0].back(), '\n');
}

Expected<SpawnOptions> parse(std::vector<std::string> args) { return parse_args(args); }

TEST(Cli, BothSpellingsAndBothValueFormsSetTheSameVariable) {
  for (auto args : std::vector<std::vector<std::string>>{{"--ncores-per-instance", "4", "p"},
                                                         {"--ncores_per_instance", "4", "p"},
                                                         {"--ncores-per-instance=4", "p"},
                                                         {"--ncores_per_instance=4", "p"}}) {
    auto o = parse(args);
    ASSERT_TRUE(o) << o.error().message;
    EXPECT_EQ(lookup(o->flag_env, "XEONRUN_NCORES_PER_INSTANCE"), "4");
    EXPECT_EQ(o->program, "p");
  }
}

TEST(Cli, ProgramArgumentsAreUntouched) {
  auto o = parse({"--no-python", "prog", "--ninstances", "3", "--", "-x"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->program, "prog");
  EXPECT_EQ(o->program_args, (std::vector<std::string>{"--ninstances", "3", "--", "-x"}));
  EXPECT_EQ(o->flag_env.count("XEONRUN_NINSTANCES"), 0u);
}

TEST(Cli, DoubleDashEndsTheFlags) {
  auto o = parse({"--no-python", "--", "-weird-name", "a"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->program, "-weird-name");
}

TEST(Cli, MultiInstanceGivesWayToASpecificMode) {
  auto o = parse({"--multi-instance", "--latency-mode", "x.py"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(lookup(o->flag_env, "XEONRUN_MODE"), "latency");
  o = parse({"--throughput-mode", "--multi_instance", "x.py"});
  ASSERT_TRUE(o);
  EXPECT_EQ(lookup(o->flag_env, "XEONRUN_MODE"), "throughput");
}

TEST(Cli, LatencyAndThroughputTogetherIsAnError) {
  auto o = parse({"--latency-mode", "--throughput-mode", "x.py"});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("--latency-mode and --throughput-mode"), std::string::npos);
}

TEST(Cli, TwoAllocatorsIsAnErrorNamingBothFlags) {
  auto o = parse({"--enable-tcmalloc", "--enable_jemalloc", "x.py"});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("--enable-jemalloc"), std::string::npos);
  EXPECT_NE(o.error().message.find("--enable-tcmalloc"), std::string::npos);
}

TEST(Cli, UnambiguousPrefixIsAcceptedAsArgparseDoes) {
  auto o = parse({"--ninst", "2", "x.py"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(lookup(o->flag_env, "XEONRUN_NINSTANCES"), "2");
  auto ambiguous = parse({"--enable", "x.py"});
  ASSERT_FALSE(ambiguous);
  EXPECT_NE(ambiguous.error().message.find("ambiguous"), std::string::npos);
}

TEST(Cli, BadValueNamesFlagAndValue) {
  auto o = parse({"--ninstances", "many", "x.py"});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("--ninstances"), std::string::npos);
  EXPECT_NE(o.error().message.find("many"), std::string::npos);
}

TEST(Cli, GracePeriodAcceptsFractionsAndRejectsNonsense) {
  auto o = parse({"--grace-period", "0.25", "x.py"});
  ASSERT_TRUE(o);
  EXPECT_DOUBLE_EQ(o->grace_period_seconds, 0.25);
  for (const char* bad : {"-1", "abc", "", "1e9", "nan"}) {
    EXPECT_FALSE(parse({"--grace-period", bad, "x.py"})) << bad;
  }
}

TEST(Cli, ModuleAndNoPythonTogetherIsAnError) { EXPECT_FALSE(parse({"-m", "--no-python", "x"})); }

TEST(Cli, EmptyLibraryMeansPreloadNothing) {
  auto o = parse({"--library=", "x.py"});
  ASSERT_TRUE(o);
  ASSERT_TRUE(o->library.has_value());
  EXPECT_EQ(*o->library, "");
}

TEST(Cli, PlanningErrorsNameTheFlagThatSetTheVariable) {
  auto o = parse({"--node_id", "7", "x.py"});
  ASSERT_TRUE(o);
  EXPECT_EQ(with_flag_names("XEONRUN_NODE_ID=7: no such NUMA node", *o),
            "XEONRUN_NODE_ID=7: no such NUMA node (set by --node-id)");
  EXPECT_EQ(with_flag_names("XEONRUN_RANK=3: out of range", *o), "XEONRUN_RANK=3: out of range");
}

TEST(RankEnv, PlacementOutputsAreDroppedAndFlagsOverrideTheEnvironment) {
  EnvMap base = {{"XEONRUN_PLACED_CPUS", "3"},
                 {"XEONRUN_REEXEC_GUARD", "1"},
                 {"XEONRUN_MODE", "throughput"},
                 {"HOME", "/root"}};
  EnvMap planning = planning_env(base, {{"XEONRUN_MODE", "latency"}});
  EXPECT_EQ(planning, (EnvMap{{"HOME", "/root"}, {"XEONRUN_MODE", "latency"}}));
}

TEST(PlanningEnv, APlacedParentsPlannedValuesAreSetAsideAndTheUsersKept) {
  // xeonrun-spawn under a placed shell: OMP_NUM_THREADS is the shell's plan, KMP_BLOCKTIME the
  // user's (not listed in XEONRUN_PLACED_ENV).
  const EnvMap base = {{"XEONRUN_PLACED_RANK", "0"},
                       {"XEONRUN_PLACED_ENV", "OMP_NUM_THREADS"},
                       {"OMP_NUM_THREADS", "2"},
                       {"KMP_BLOCKTIME", "5"}};
  EXPECT_EQ(planning_env(base, {}), (EnvMap{{"KMP_BLOCKTIME", "5"}}));
  // Without a placed parent the same names are the user's.
  EXPECT_EQ(planning_env({{"XEONRUN_PLACED_ENV", "OMP_NUM_THREADS"}, {"OMP_NUM_THREADS", "2"}}, {}),
            (EnvMap{{"OMP_NUM_THREADS", "2"}}));
}

// `when` in local time, as strftime writes it with `format`.
std::string local_time_text(long when, const char* format) {
  const std::time_t t = when;
  std::tm local{};
  if (::localtime_r(&t, &local) == nullptr) return "";
  char text[64] = "";
  std::strftime(text, sizeof text, format, &local);
  return text;
}

// ipexrun's names: launch.py stamps the prefix with datetime.now()'s %Y%m%d%H%M%S;
// cpu_info.py's get_pool_txt lists ids when no two are consecutive, else FIRST-LAST runs.
TEST(IpexrunLogNames, StampedPrefixInstanceIndexAndCoresAsIpexrunWritesThem) {
  const long when = 1700000000;
  const std::string stamped = ipexrun_stamped_prefix("bench", when);
  EXPECT_EQ(stamped, local_time_text(when, "bench_%Y%m%d%H%M%S"));
  EXPECT_EQ(stamped.size(), std::string("bench_").size() + 14);
  EXPECT_EQ(ipexrun_cores_text({0, 1, 2, 3}), "0-3");
  EXPECT_EQ(ipexrun_cores_text({0, 1, 2, 5}), "0-2,5-5");
  EXPECT_EQ(ipexrun_cores_text({0, 2, 4}), "0,2,4");
  EXPECT_EQ(ipexrun_cores_text({7}), "7");
  EXPECT_EQ(ipexrun_log_file_name("run_20260101120000", 2, {4, 5, 6, 9}),
            "run_20260101120000_instance_2_cores_4-6_9-9.log");
  EXPECT_EQ(ipexrun_log_file_name("p", 0, {0, 28}), "p_instance_0_cores_0_28.log");
  EXPECT_EQ(ipexrun_launcher_log_name("run_20260101120000"), "run_20260101120000_instances.log");
  EXPECT_EQ(run_cpu_log_names("run", 3).out, "run_rank3.log");
  EXPECT_EQ(run_cpu_log_names("run", 3).err, "run_rank3.err");
}

// ipexrun's _instances.log lines: IPEX's format_str "%(asctime)s - %(filename)s - %(name)s -
// %(levelname)s - %(message)s", asctime as Python's logging writes it (local time, ",mmm").
TEST(IpexrunLogNames, LauncherLogLinesInIpexrunsLoggerFormat) {
  const long when = 1700000000;
  const std::string seconds = local_time_text(when, "%Y-%m-%d %H:%M:%S");
  ASSERT_EQ(seconds.size(), 19u);
  const std::string stamp = seconds + ",007";
  EXPECT_EQ(ipexrun_launcher_log_lines("ipexrun: warning: CPUs 4-7 are not used\n"
                                       "ipexrun: rank 0  cpus 0-3  exit 0  wall 0.013s\n"
                                       "ipexrun: error: rank 1 failed\n"
                                       "usage: ipexrun [flags]\n",
                                       "ipexrun", when, 7),
            stamp + " - ipexrun - xeonplace - WARNING - CPUs 4-7 are not used\n" + stamp +
                " - ipexrun - xeonplace - INFO - rank 0  cpus 0-3  exit 0  wall 0.013s\n" + stamp +
                " - ipexrun - xeonplace - ERROR - rank 1 failed\n" + stamp +
                " - ipexrun - xeonplace - INFO - usage: ipexrun [flags]\n");
  // The name as invoked ("xeonrun-spawn cpu" when the backend word chose ipexrun's meaning).
  EXPECT_EQ(
      ipexrun_launcher_log_lines("xeonrun-spawn cpu: warning: w\n", "xeonrun-spawn cpu", when, 999),
      seconds + ",999 - xeonrun-spawn cpu - xeonplace - WARNING - w\n");
  EXPECT_EQ(ipexrun_launcher_log_lines("", "ipexrun", when, 0), "");
}

TEST(RankEnv, HandoffOverridesThePlanningEnvironment) {
  EnvMap env = rank_env({{"LD_PRELOAD", "/a.so"}, {"HOME", "/root"}},
                        {{"XEONRUN_RANK", "2"}, {"LD_PRELOAD", "/lib/x.so:/a.so"}});
  EXPECT_EQ(env,
            (EnvMap{{"HOME", "/root"}, {"LD_PRELOAD", "/lib/x.so:/a.so"}, {"XEONRUN_RANK", "2"}}));
}

TEST(Summary, DescribesExitSignalAndStartFailure) {
  RankEnd end;
  end.started = true;
  end.rank = 3;
  end.cpus = "4-7";
  end.wall_seconds = 1.5;
  end.wait_status = 3 << 8;
  EXPECT_EQ(summary_line(end), "xeonrun-spawn: rank 3  cpus 4-7  exit 3  wall 1.500s\n");
  EXPECT_EQ(summary_line(end, "ipexrun"), "ipexrun: rank 3  cpus 4-7  exit 3  wall 1.500s\n");
  end.wait_status = SIGKILL;
  EXPECT_EQ(describe_end(end), "killed by signal 9 (SIGKILL)");
  end.started = false;
  end.start_error = "fork: EAGAIN";
  EXPECT_EQ(describe_end(end), "not started (fork: EAGAIN)");
}

}  // namespace
}  // namespace xeonplace::spawn
