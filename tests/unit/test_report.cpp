// The placement report (core/report.h): numa_maps and sched parsing, the share on the planned
// nodes, the warning, and the JSON line read back.
#include <gtest/gtest.h>

#include <string>

#include "core/report.h"

namespace xeonplace {
namespace {

constexpr const char* kNumaMaps =
    "55ab44d38000 default file=/usr/bin/head mapped=2 N0=2 kernelpagesize_kB=4\n"
    "55ab45000000 default heap anon=30 dirty=30 N0=10 N1=20 kernelpagesize_kB=4\n"
    "7f0000000000 bind:1 anon=512 dirty=512 N1=1 kernelpagesize_kB=2048\n"
    "7ffd00000000 default stack anon=3 dirty=3 N0=3 kernelpagesize_kB=4\n"
    "garbage line\n";

TEST(Report, NumaMapsCountsPrivateMemoryByPageSize) {
  const auto bytes = node_bytes_of_numa_maps(kNumaMaps);
  ASSERT_EQ(bytes.size(), 2u);
  EXPECT_EQ(bytes.at(0), (10u + 3u) * 4096u);  // the file mapping is left out
  EXPECT_EQ(bytes.at(1), 20u * 4096u + 2048u * 1024u);
}

TEST(Report, SchedMigrationsAreSummedOverTasks) {
  EXPECT_EQ(migrations_of_sched("se.nr_migrations      :      3\nnr_switches : 9\n"
                                "se.nr_migrations      :      4\n"),
            7u);
  EXPECT_FALSE(migrations_of_sched("nr_switches : 9\n"));
}

RankReport report_on(const CpuSet& mems) {
  RankReport r;
  r.rank = 1;
  r.pid = 42;
  r.cpus = CpuSet{2, 3};
  r.mems = mems;
  r.cpu_seconds = 1.5;
  r.involuntary_switches = 7;
  r.migrations = 2;
  r.node_bytes = {{0, 1u << 20}, {1, 3u << 20}};
  r.pages_known = true;
  return r;
}

TEST(Report, ShareOnPlannedNodesAndWarning) {
  EXPECT_DOUBLE_EQ(*local_share(report_on(CpuSet{1})), 0.75);
  EXPECT_EQ(report_warning(report_on(CpuSet{1})), "");
  EXPECT_DOUBLE_EQ(*local_share(report_on(CpuSet{0})), 0.25);
  EXPECT_EQ(report_warning(report_on(CpuSet{0})),
            "rank 1: only 25.0% of its pages are on its node 0 (node 0 1.0 MiB, node 1 3.0 MiB)");
  RankReport unknown = report_on(CpuSet{0});
  unknown.pages_known = false;
  EXPECT_FALSE(local_share(unknown));
  EXPECT_EQ(report_warning(unknown), "");
}

TEST(Report, LineSaysEveryFigure) {
  EXPECT_EQ(report_line(report_on(CpuSet{1})),
            "rank 1: cpu 1.500s, 7 involuntary switches, 2 migrations, 75.0% of 4.0 MiB on node 1");
  RankReport r;
  EXPECT_EQ(report_line(r),
            "rank 0: cpu ?, ? involuntary switches, ? migrations, pages on nodes -: unknown");
}

TEST(Report, JsonLineReadsBack) {
  const RankReport r = report_on(CpuSet{0, 1});
  const std::string json = report_json(r);
  EXPECT_EQ(json,
            "{\"rank\": 1, \"pid\": 42, \"cpus\": [2,3], \"mems\": [0,1], \"cpu_seconds\": "
            "1.500000, \"involuntary_switches\": 7, \"migrations\": 2, \"node_bytes\": {\"0\": "
            "1048576, \"1\": 3145728}, \"local_share\": 1.0000}\n");
  const auto back = parse_report_json(json);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->rank, 1u);
  EXPECT_EQ(back->pid, 42);
  EXPECT_EQ(back->cpus, r.cpus);
  EXPECT_EQ(back->mems, r.mems);
  EXPECT_EQ(back->migrations, r.migrations);
  EXPECT_EQ(back->involuntary_switches, r.involuntary_switches);
  EXPECT_EQ(back->node_bytes, r.node_bytes);
  EXPECT_FALSE(parse_report_json("not json"));
}

TEST(Report, UnknownFiguresAreNull) {
  RankReport r;
  const std::string json = report_json(r);
  EXPECT_NE(json.find("\"migrations\": null"), std::string::npos);
  EXPECT_NE(json.find("\"node_bytes\": null"), std::string::npos);
  const auto back = parse_report_json(json);
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->migrations);
  EXPECT_FALSE(back->pages_known);
}

TEST(Report, WantedFromTheTwoVariables) {
  EXPECT_FALSE(report_wanted({}).any());
  EXPECT_TRUE(report_wanted({{"XEONRUN_REPORT", "1"}}).line);
  EXPECT_FALSE(report_wanted({{"XEONRUN_REPORT", "0"}}).any());
  EXPECT_FALSE(report_wanted({{"XEONRUN_REPORT", "maybe"}}).any());
  const ReportWanted file = report_wanted({{"XEONRUN_REPORT_FILE", "/tmp/r.jsonl"}});
  EXPECT_FALSE(file.line);
  EXPECT_EQ(file.file, "/tmp/r.jsonl");
}

}  // namespace
}  // namespace xeonplace
