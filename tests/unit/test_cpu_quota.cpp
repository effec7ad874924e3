// CPU quotas (issue #15): parsing the cgroup files, the directories read, and the decision's cap on
// made-up facts; read_cpu_quota on a made-up root laid out like /proc and /sys/fs/cgroup.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "core/cpu_quota.h"
#include "core/decision.h"
#include "core/lscpu.h"
#include "sys/facts.h"

namespace xeonplace {
namespace {

TEST(CpuQuota, CpuMaxAndCfsFilesParse) {
  EXPECT_FALSE(parse_cpu_max("max 100000\n", "f"));
  const auto q = parse_cpu_max("250000 100000\n", "f");
  ASSERT_TRUE(q);
  EXPECT_EQ(quota_cpus(*q), 3U);
  EXPECT_EQ(describe_cpus(*q), "2.5 CPUs");
  EXPECT_FALSE(parse_cpu_max("garbage", "f"));
  EXPECT_FALSE(parse_cpu_max("0 100000", "f"));
  EXPECT_FALSE(parse_cfs_quota("-1\n", "100000\n", "f"));
  const auto v1 = parse_cfs_quota("400000\n", "100000\n", "f");
  ASSERT_TRUE(v1);
  EXPECT_EQ(quota_cpus(*v1), 4U);
  EXPECT_EQ(describe_cpus(*v1), "4 CPUs");
  // Half a CPU still runs one thread.
  EXPECT_EQ(quota_cpus(*parse_cpu_max("50000 100000", "f")), 1U);
}

TEST(CpuQuota, TheTighterQuotaWinsWhateverItsPeriod) {
  const auto a = parse_cpu_max("300000 100000", "a");  // 3 CPUs
  const auto b = parse_cpu_max("100000 50000", "b");   // 2 CPUs
  EXPECT_EQ(tighter(a, b)->where, "b");
  EXPECT_EQ(tighter(b, a)->where, "b");
  EXPECT_EQ(tighter(std::nullopt, a)->where, "a");
  EXPECT_FALSE(tighter(std::nullopt, std::nullopt));
}

TEST(CpuQuota, DirectoriesFromTheCgroupUpToTheMountedRoot) {
  const auto memberships =
      parse_proc_cgroup("4:memory:/x\n1:cpu,cpuacct:/kubepods/pod1/c1\n0::/kubepods/pod1/c1\n");
  const auto mounts = parse_cgroup_mounts(
      "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
      "32 31 0:29 /kubepods /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup "
      "rw,cpu,cpuacct\n"
      "33 23 0:30 / /proc rw - proc proc rw\n");
  ASSERT_EQ(mounts.size(), 2U);
  const auto dirs = quota_directories(memberships, mounts);
  std::vector<std::string> v2;
  std::vector<std::string> v1;
  for (const QuotaDirectory& d : dirs) (d.v2 ? v2 : v1).push_back(d.directory);
  EXPECT_EQ(v1, (std::vector<std::string>{"/sys/fs/cgroup/cpu,cpuacct/pod1/c1",
                                          "/sys/fs/cgroup/cpu,cpuacct/pod1",
                                          "/sys/fs/cgroup/cpu,cpuacct"}));
  EXPECT_EQ(v2, (std::vector<std::string>{"/sys/fs/cgroup/kubepods/pod1/c1",
                                          "/sys/fs/cgroup/kubepods/pod1", "/sys/fs/cgroup/kubepods",
                                          "/sys/fs/cgroup"}));
  // A v1 hierarchy without the cpu controller holds no quota.
  EXPECT_TRUE(quota_directories(parse_proc_cgroup("4:memory:/x\n"), mounts).empty());
}

// 2 packages, one NUMA node each, 4 cores each, no SMT: CPUs 0-3 on node 0, 4-7 on node 1.
Topology machine() {
  Expected<Topology> t = parse_lscpu(
      "# CPU,Core,Socket,Node\n0,0,0,0\n1,1,0,0\n2,2,0,0\n3,3,0,0\n"
      "4,4,1,1\n5,5,1,1\n6,6,1,1\n7,7,1,1\n",
      "lscpu:made-up");
  EXPECT_TRUE(t.ok());
  return *t;
}

Facts quota_facts(const char* cpu_max) {
  Facts facts;
  facts.topology = machine();
  facts.inherited_affinity = *CpuSet::parse("0-7", "test");
  facts.allowed_mems = *CpuSet::parse("0-1", "test");
  facts.online_cpus = *CpuSet::parse("0-7", "test");
  facts.pid = 4242;
  if (cpu_max) facts.cpu_quota = parse_cpu_max(cpu_max, "/sys/fs/cgroup/pod/cpu.max");
  return facts;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

TEST(DecideCpuQuota, AQuotaCapsTheCpusPlannedWithOneInfoLine) {
  const EnvMap env = {{"XEONRUN_NINSTANCES", "1"}, {"XEONRUN_ALLOCATOR", "default"}};
  Expected<Decision> d = decide(quota_facts("250000 100000"), env);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->cpus.format(), "0-2");  // ceil(2.5) CPUs, on one node
  EXPECT_EQ(d->omp_threads, 3U);
  ASSERT_EQ(d->info.size(), 1U);
  EXPECT_NE(d->info[0].find("CPU quota 2.5 CPUs"), std::string::npos) << d->info[0];
  EXPECT_NE(d->info[0].find("planning 3 of the 8 usable CPUs"), std::string::npos) << d->info[0];
  EXPECT_NE(d->info[0].find("/sys/fs/cgroup/pod/cpu.max"), std::string::npos) << d->info[0];
}

TEST(DecideCpuQuota, NoQuotaOrALargerOneChangesNothing) {
  const EnvMap env = {{"XEONRUN_NINSTANCES", "1"}, {"XEONRUN_ALLOCATOR", "default"}};
  for (const char* cpu_max : {static_cast<const char*>(nullptr), "max 100000", "1600000 100000"}) {
    Expected<Decision> d = decide(quota_facts(cpu_max), env);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->cpus.format(), "0-7");
    EXPECT_TRUE(d->info.empty()) << joined(d->info);
  }
}

TEST(DecideCpuQuota, IgnoreAndACountOverrideTheQuota) {
  EnvMap env = {{"XEONRUN_NINSTANCES", "1"}, {"XEONRUN_CPU_QUOTA", "ignore"}};
  Expected<Decision> d = decide(quota_facts("200000 100000"), env);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->cpus.format(), "0-7");
  env["XEONRUN_CPU_QUOTA"] = "5";
  d = decide(quota_facts(nullptr), env);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->cpus.format(), "0-4");
  EXPECT_NE(joined(d->info).find("XEONRUN_CPU_QUOTA=5: planning 5 of the 8"), std::string::npos)
      << joined(d->info);
  env["XEONRUN_CPU_QUOTA"] = "0";
  d = decide(quota_facts(nullptr), env);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("XEONRUN_CPU_QUOTA=0"), std::string::npos);
  EXPECT_NE(d.error().message.find("auto, ignore, or a CPU count"), std::string::npos)
      << d.error().message;
}

TEST(DecideCpuQuota, RanksCutByNodeShareTheQuotaAcrossNodes) {
  const EnvMap env = {{"XEONRUN_NINSTANCES", "2"}};
  Expected<RankDecisions> ranks = decide_ranks(quota_facts("400000 100000"), env);
  ASSERT_TRUE(ranks.ok()) << ranks.error().message;
  ASSERT_EQ(ranks->ranks.size(), 2U);
  EXPECT_EQ(ranks->ranks[0].cpus.format(), "0-1");
  EXPECT_EQ(ranks->ranks[1].cpus.format(), "4-5");
  EXPECT_EQ(ranks->ranks[0].mems.format(), "0");
  EXPECT_EQ(ranks->ranks[1].mems.format(), "1");
  ASSERT_EQ(ranks->info.size(), 1U);
  EXPECT_NE(ranks->info[0].find("planning 4 of the 8"), std::string::npos);
}

TEST(DecideCpuQuota, AFixtureIsPlannedWithoutThisMachinesQuota) {
  const EnvMap env = {{"XEONRUN_TOPOLOGY", "lscpu:made-up"}};
  Expected<RankDecisions> ranks = decide_ranks(quota_facts("100000 100000"), env);
  ASSERT_TRUE(ranks.ok()) << ranks.error().message;
  EXPECT_EQ(ranks->ranks[0].cpus.format(), "0-7");
}

// read_cpu_quota on a directory laid out like /: /proc/self/{cgroup,mountinfo} and the cgroup
// files they point to.
class FakeRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/xeonplace-quota-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override { std::system(("rm -rf '" + root_ + "'").c_str()); }
  void write(const std::string& path, const std::string& text) {
    std::system(("mkdir -p \"$(dirname '" + root_ + path + "')\"").c_str());
    std::ofstream(root_ + path) << text;
  }
  std::string root_;
};

TEST_F(FakeRoot, TheTightestQuotaAlongTheV2PathWins) {
  write("/proc/self/cgroup", "0::/pods/pod1/c1\n");
  write("/proc/self/mountinfo", "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
  write("/sys/fs/cgroup/pods/pod1/c1/cpu.max", "max 100000\n");
  write("/sys/fs/cgroup/pods/pod1/cpu.max", "150000 100000\n");
  write("/sys/fs/cgroup/pods/cpu.max", "800000 100000\n");
  const std::optional<CpuQuota> quota = read_cpu_quota(root_);
  ASSERT_TRUE(quota);
  EXPECT_EQ(quota_cpus(*quota), 2U);
  EXPECT_EQ(quota->where, root_ + "/sys/fs/cgroup/pods/pod1/cpu.max");
}

TEST_F(FakeRoot, AV1CfsQuotaIsReadAndNoFilesMeanNoQuota) {
  write("/proc/self/cgroup", "3:cpu,cpuacct:/docker/abc\n0::/\n");
  write("/proc/self/mountinfo",
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n");
  EXPECT_FALSE(read_cpu_quota(root_));
  write("/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "300000\n");
  write("/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  write("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  write("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  const std::optional<CpuQuota> quota = read_cpu_quota(root_);
  ASSERT_TRUE(quota);
  EXPECT_EQ(quota_cpus(*quota), 3U);
}

}  // namespace
}  // namespace xeonplace
