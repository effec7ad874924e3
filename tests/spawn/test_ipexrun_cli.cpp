// ipexrun's command line (tools/spawn/ipexrun_cli.h) and run_cpu main's per-rank counts: which
// XEONRUN_* variables each flag sets, and the one-line errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tools/spawn/cli.h"
#include "tools/spawn/ipexrun_cli.h"

namespace xeonplace::spawn {
namespace {

using Args = std::vector<std::string>;

SpawnOptions ipex(const Args& args) {
  auto parsed = parse_command_line("/usr/bin/ipexrun", args);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
  return parsed.ok() ? std::move(parsed).value() : SpawnOptions{};
}

std::string ipex_error(const Args& args) {
  auto parsed = parse_command_line("ipexrun", args);
  EXPECT_FALSE(parsed.ok());
  return parsed.ok() ? std::string() : parsed.error().message;
}

std::string var(const SpawnOptions& o, const std::string& name) {
  auto it = o.flag_env.find(name);
  return it == o.flag_env.end() ? "(unset)" : it->second;
}

TEST(IpexrunCli, TheNameOrTheBackendWordCpuSelectsIpexrun) {
  EXPECT_TRUE(is_ipexrun_invocation("/opt/bin/ipexrun", {"app.py"}));
  EXPECT_TRUE(is_ipexrun_invocation("xeonrun-spawn", {"cpu", "app.py"}));
  EXPECT_FALSE(is_ipexrun_invocation("xeonrun-spawn", {"app.py", "cpu"}));
  EXPECT_FALSE(is_ipexrun_invocation("/x/ipexrun-old", {"app.py"}));
  auto o = ipex({"cpu", "--ninstances", "2", "app.py", "--ninstances", "9"});
  EXPECT_EQ(var(o, "XEONRUN_COMPAT"), "ipexrun");
  EXPECT_EQ(var(o, "XEONRUN_NINSTANCES"), "2");
  EXPECT_EQ(o.program, "app.py");
  EXPECT_EQ(o.program_args, (Args{"--ninstances", "9"}));
}

TEST(IpexrunCli, NcoresPerInstanceZeroAndMinusOne) {
  EXPECT_EQ(var(ipex({"--ncores-per-instance", "0", "a.py"}), "XEONRUN_NCORES_PER_INSTANCE"),
            "(unset)");
  auto greedy = ipex({"--ncores-per-instance=-1", "--ninstances", "3", "a.py"});
  EXPECT_EQ(var(greedy, "XEONRUN_LEFTOVER_CORES"), "spread");
  EXPECT_EQ(var(greedy, "XEONRUN_NCORES_PER_INSTANCE"), "(unset)");
  EXPECT_EQ(var(ipex({"--ncores_per_instance", "4", "a.py"}), "XEONRUN_NCORES_PER_INSTANCE"), "4");
  EXPECT_NE(ipex_error({"--ncores-per-instance", "-2", "a.py"}).find("accepted: -1"),
            std::string::npos);
  EXPECT_EQ(var(ipex({"--ninstances", "0", "a.py"}), "XEONRUN_NINSTANCES"), "(unset)");
}

TEST(IpexrunCli, ListsAndSwitches) {
  auto o = ipex({"--instance-idx", "0, 2-3", "--nodes-list", "0-1", "--cores-list", "0-31,62-79",
                 "--use-logical-cores", "--use-e-cores", "--bind-numa-node", "--strategy", "close",
                 "a.py"});
  EXPECT_EQ(var(o, "XEONRUN_INSTANCE_IDX"), "0,2-3");
  EXPECT_EQ(var(o, "XEONRUN_NODES_LIST"), "0-1");
  EXPECT_EQ(var(o, "XEONRUN_CORE_LIST"), "0-31,62-79");
  EXPECT_EQ(var(o, "XEONRUN_USE_LOGICAL_CORE"), "1");
  EXPECT_EQ(var(o, "XEONRUN_USE_EFFICIENT_CORES"), "1");
  EXPECT_EQ(var(o, "XEONRUN_SKIP_CROSS_NODE_CORES"), "1");
  EXPECT_EQ(var(o, "XEONRUN_STRATEGY"), "close");
  EXPECT_EQ(var(ipex({"--instance-idx", "-1", "a.py"}), "XEONRUN_INSTANCE_IDX"), "-1");
  EXPECT_EQ(var(ipex({"--skip-cross-node-cores", "a.py"}), "XEONRUN_SKIP_CROSS_NODE_CORES"), "1");
}

TEST(IpexrunCli, RuntimeAllocatorAndTaskManager) {
  auto o = ipex({"--omp-runtime", "auto", "--memory-allocator", "jemalloc", "--benchmark", "a.py"});
  EXPECT_EQ(var(o, "XEONRUN_OMP_RUNTIME"), "intel");
  EXPECT_EQ(var(o, "XEONRUN_ALLOCATOR"), "jemalloc");
  EXPECT_EQ(var(o, "XEONRUN_BENCHMARK"), "1");
  auto none = ipex({"--multi-task-manager", "none", "a.py"});
  EXPECT_EQ(var(none, "XEONRUN_PIN"), "none");
  EXPECT_EQ(var(none, "XEONRUN_MEMBIND"), "none");
  auto taskset = ipex({"--multi-task-manager", "taskset", "a.py"});
  EXPECT_EQ(var(taskset, "XEONRUN_PIN"), "(unset)");
  EXPECT_EQ(var(taskset, "XEONRUN_MEMBIND"), "none");
  EXPECT_EQ(var(ipex({"--disable_numactl", "a.py"}), "XEONRUN_MEMBIND"), "none");
  EXPECT_NE(ipex_error({"--multi-task-manager", "hwloc", "a.py"})
                .find("accepted: auto, none, numactl, taskset"),
            std::string::npos);
  EXPECT_NE(ipex_error({"--omp-runtime", "gnu", "a.py"}).find("accepted: auto, default, intel"),
            std::string::npos);
}

TEST(IpexrunCli, ModesLogsAndProgramForms) {
  EXPECT_EQ(var(ipex({"--latency-mode", "a.py"}), "XEONRUN_MODE"), "latency");
  EXPECT_NE(ipex_error({"--latency-mode", "--throughput-mode", "a.py"}).find("together"),
            std::string::npos);
  auto o = ipex({"--log-dir", "/tmp/l", "--log-file-prefix", "bench", "-m", "pkg.mod", "x"});
  EXPECT_EQ(o.log_path, "/tmp/l");
  EXPECT_EQ(o.log_file_prefix, "bench");
  EXPECT_TRUE(o.module);
  EXPECT_EQ(o.program, "pkg.mod");
  EXPECT_TRUE(ipex({"--no-python", "/bin/true"}).no_python);
}

TEST(IpexrunCli, ArgparsePrefixesAndRefusals) {
  EXPECT_EQ(var(ipex({"--ninst", "2", "--multi-t", "none", "a.py"}), "XEONRUN_NINSTANCES"), "2");
  EXPECT_NE(ipex_error({"--n", "2", "a.py"}).find("ambiguous flag '--n'"), std::string::npos);
  const std::string nnodes = ipex_error({"--nnodes", "2", "a.py"});
  EXPECT_NE(nnodes.find("--nnodes"), std::string::npos);
  EXPECT_NE(nnodes.find("mpiexec"), std::string::npos);
  EXPECT_EQ(nnodes.find('\n'), std::string::npos);
  EXPECT_NE(ipex_error({"--hostfile", "h", "a.py"}).find("torchrun"), std::string::npos);
  EXPECT_NE(ipex_error({"xpu", "a.py"}).find("accepted: cpu"), std::string::npos);
  EXPECT_NE(ipex_error({"--ncores-per-instance"}).find("needs a value"), std::string::npos);
  // The launcher's own flags stay available.
  auto o = ipex({"--dry-run", "--json", "--topology", "lscpu:/x"});
  EXPECT_TRUE(o.dry_run);
  EXPECT_EQ(var(o, "XEONRUN_TOPOLOGY"), "lscpu:/x");
}

TEST(IpexrunCli, TheLauncherNamesItselfAsInvoked) {
  EXPECT_EQ(program_name("/opt/bin/ipexrun", {"app.py"}), "ipexrun");
  EXPECT_EQ(program_name("ipexrun", {"cpu", "app.py"}), "ipexrun");
  EXPECT_EQ(program_name("/usr/bin/xeonrun-spawn", {"cpu", "app.py"}), "xeonrun-spawn cpu");
  EXPECT_EQ(program_name("/usr/bin/xeonrun-spawn", {"app.py"}), "xeonrun-spawn");
  EXPECT_EQ(program_name("/x/run-cpu", {"app.py"}), "xeonrun-spawn");
  EXPECT_EQ(ipex({"a.py"}).program_name, "ipexrun");
  EXPECT_TRUE(ipex({"a.py"}).ipexrun_semantics);
  EXPECT_NE(ipex_error({"--bogus", "a.py"}).find("see ipexrun --help"), std::string::npos);
  EXPECT_EQ(ipexrun_help_text("ipexrun").rfind("usage: ipexrun [cpu] [FLAGS]", 0), 0u);
  EXPECT_EQ(ipexrun_help_text("xeonrun-spawn cpu").rfind("usage: xeonrun-spawn cpu [FLAGS]", 0),
            0u);
  auto run_cpu = parse_command_line("xeonrun-spawn", {"a.py"});
  ASSERT_TRUE(run_cpu.ok());
  EXPECT_EQ(run_cpu->program_name, "xeonrun-spawn");
  EXPECT_FALSE(run_cpu->ipexrun_semantics);
}

// ipexrun's distributed launcher: the workers' cores come on top of a --ncores-per-instance count
// (launcher_distributed.py, `ncores_per_instance += args.ccl_worker_count`).
TEST(IpexrunCli, CclWorkerCountIsTheHelperCoresOnTopOfACoreCount) {
  auto alone = ipex({"--ccl-worker-count", "2", "a.py"});
  EXPECT_EQ(var(alone, "XEONRUN_HELPER_CORES"), "2");
  EXPECT_EQ(var(alone, "XEONRUN_NCORES_PER_INSTANCE"), "(unset)");
  auto sized = ipex({"--ccl_worker_count=1", "--ncores-per-instance", "3", "a.py"});
  EXPECT_EQ(var(sized, "XEONRUN_HELPER_CORES"), "1");
  EXPECT_EQ(var(sized, "XEONRUN_NCORES_PER_INSTANCE"), "4");
  EXPECT_EQ(sized.flag_of_variable.at("XEONRUN_NCORES_PER_INSTANCE"),
            "--ncores-per-instance + --ccl-worker-count");
  auto spread = ipex({"--ncores-per-instance", "-1", "--ccl-worker-count", "1", "a.py"});
  EXPECT_EQ(var(spread, "XEONRUN_LEFTOVER_CORES"), "spread");
  EXPECT_EQ(var(spread, "XEONRUN_NCORES_PER_INSTANCE"), "(unset)");
  EXPECT_EQ(var(ipex({"--ccl-worker-count", "0", "a.py"}), "XEONRUN_HELPER_CORES"), "(unset)");
  const std::string bad = ipex_error({"--ccl-worker-count", "-1", "a.py"});
  EXPECT_NE(bad.find("--ccl-worker-count: invalid value '-1'"), std::string::npos) << bad;
  EXPECT_NE(bad.find("accepted:"), std::string::npos) << bad;
  EXPECT_NE(ipex_error({"--logical-cores-for-ccl", "a.py"}).find("mpiexec"), std::string::npos);
}

TEST(RunCpuMainCli, SpaceSeparatedCountsStopAtTheFirstNonCount) {
  auto parsed = parse_command_line("xeonrun-spawn",
                                   {"--ncores-per-instance", "43", "43", "42", "app.py", "7"});
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(var(*parsed, "XEONRUN_NCORES_PER_INSTANCE"), "43,43,42");
  EXPECT_EQ(parsed->program, "app.py");
  EXPECT_EQ(parsed->program_args, (Args{"7"}));
  auto single = parse_command_line("xeonrun-spawn", {"--ncores-per-instance", "4", "app.py"});
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(var(*single, "XEONRUN_NCORES_PER_INSTANCE"), "4");
  EXPECT_EQ(single->program, "app.py");
  // The = form takes one value only; the next argument is the program.
  auto inline_form = parse_command_line("xeonrun-spawn", {"--ncores-per-instance=4", "8", "x"});
  ASSERT_TRUE(inline_form.ok());
  EXPECT_EQ(var(*inline_form, "XEONRUN_NCORES_PER_INSTANCE"), "4");
  EXPECT_EQ(inline_form->program, "8");
}

}  // namespace
}  // namespace xeonplace::spawn
