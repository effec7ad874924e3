// The plan as a table and as design.md §4, including string escaping.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "core/lscpu.h"
#include "core/plan_format.h"

namespace xeonplace {
namespace {

Plan two_ranks() {
  Plan plan;
  plan.nranks = 2;
  for (unsigned r = 0; r < 2; ++r) {
    RankPlacement rank;
    rank.rank = r;
    rank.cpus = r == 0 ? CpuSet{0, 1, 2, 3} : CpuSet{4, 5, 6, 7};
    rank.mems = CpuSet{r};
    rank.omp_threads = 4;
    rank.domain = "numa:" + std::to_string(r);
    rank.env = {{"OMP_NUM_THREADS", "4"}, {"KMP_BLOCKTIME", "1"}};
    plan.ranks.push_back(rank);
  }
  return plan;
}

TEST(PlanFormat, JsonHasDesignShape) {
  EXPECT_EQ(format_plan_json(two_ranks()),
            "{\"nranks\": 2, \"ranks\": ["
            "{\"rank\": 0, \"cpus\": [0,1,2,3], \"mems\": [0], \"omp_threads\": 4, "
            "\"domain\": \"numa:0\", \"env\": {\"OMP_NUM_THREADS\": \"4\", \"KMP_BLOCKTIME\": "
            "\"1\"}, \"warnings\": []}, "
            "{\"rank\": 1, \"cpus\": [4,5,6,7], \"mems\": [1], \"omp_threads\": 4, "
            "\"domain\": \"numa:1\", \"env\": {\"OMP_NUM_THREADS\": \"4\", \"KMP_BLOCKTIME\": "
            "\"1\"}, \"warnings\": []}"
            "], \"warnings\": []}\n");
}

TEST(PlanFormat, JsonOfAnEmptyPlan) {
  EXPECT_EQ(format_plan_json(Plan{}), "{\"nranks\": 0, \"ranks\": [], \"warnings\": []}\n");
}

TEST(PlanFormat, JsonEscapesQuotesBackslashesAndControlCharacters) {
  Plan plan = two_ranks();
  plan.ranks.resize(1);
  plan.ranks[0].env = {{"A", "say \"hi\"\\ok"}};
  plan.ranks[0].warnings = {"tab\there\nnew\rline\b\f", std::string("nul\x01\x1f end")};
  plan.warnings = {"caf\xc3\xa9 stays UTF-8"};
  const std::string json = format_plan_json(plan);
  EXPECT_NE(json.find("\"env\": {\"A\": \"say \\\"hi\\\"\\\\ok\"}"), std::string::npos) << json;
  EXPECT_NE(json.find("\"warnings\": [\"tab\\there\\nnew\\rline\\b\\f\", "
                      "\"nul\\u0001\\u001f end\"]"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"warnings\": [\"caf\xc3\xa9 stays UTF-8\"]}"), std::string::npos) << json;
  for (char c : json.substr(0, json.size() - 1)) {
    EXPECT_GE(static_cast<unsigned char>(c), 0x20u) << "raw control character in " << json;
  }
}

TEST(PlanFormat, TableShowsListsAndWarnings) {
  Plan plan = two_ranks();
  plan.ranks[1].warnings = {"first", "second"};
  plan.warnings = {"CPUs 8-9 are not used by any rank"};
  EXPECT_EQ(format_plan_table(plan),
            "rank  cpus  mems  omp  domain  warnings\n"
            "0     0-3   0     4    numa:0\n"
            "1     4-7   1     4    numa:1  first; second\n"
            "warning: CPUs 8-9 are not used by any rank\n");
}

TEST(PlanFormat, TableSaysWhenOnlyOneRankOfThePlanIsShown) {
  Plan plan = two_ranks();
  plan.ranks.erase(plan.ranks.begin());
  EXPECT_EQ(format_plan_table(plan),
            "2 ranks planned; showing 1\n"
            "rank  cpus  mems  omp  domain  warnings\n"
            "1     4-7   1     4    numa:1\n");
}

TEST(PlanFormat, TableColumnsWidenForLongLists) {
  Plan plan = two_ranks();
  plan.ranks[0].cpus = CpuSet{0, 2, 4, 6, 8, 10};
  plan.ranks[0].mems = CpuSet{0, 12};
  plan.ranks[0].omp_threads = 120;
  EXPECT_EQ(format_plan_table(plan),
            "rank  cpus          mems  omp  domain  warnings\n"
            "0     0,2,4,6,8,10  0,12  120  numa:0\n"
            "1     4-7           1     4    numa:1\n");
}

TEST(PlanFormat, HelperCpusAreShownOnlyWhenARankKeepsSome) {
  Plan plan = two_ranks();
  plan.ranks[0].helper_cpus = CpuSet{3};
  plan.ranks[0].omp_threads = 3;
  EXPECT_EQ(format_plan_table(plan),
            "rank  cpus  mems  omp  domain  helpers  warnings\n"
            "0     0-3   0     3    numa:0  3\n"
            "1     4-7   1     4    numa:1\n");
  const std::string json = format_plan_json(plan);
  EXPECT_NE(json.find("\"cpus\": [0,1,2,3], \"helper_cpus\": [3], "), std::string::npos) << json;
  EXPECT_EQ(json.find("\"helper_cpus\"", json.find("\"rank\": 1")), std::string::npos) << json;
}

TEST(PlanFormat, JsonOfNinstancesTwoOnUpstreamFixtureIsRunCpusPlan) {
  // pytorch_test_2s4c_ht.lscpu with --ninstances 2: what run_cpu launches (numactl -C 0-3 -m 0,
  // numactl -C 4-7 -m 1, OMP_NUM_THREADS=4, KMP_AFFINITY and KMP_BLOCKTIME as run_cpu sets them).
  std::ifstream in(std::string(XEONPLACE_FIXTURES) + "/pytorch_test_2s4c_ht.lscpu");
  std::stringstream text;
  text << in.rdbuf();
  Expected<Topology> topology = parse_lscpu(text.str(), "lscpu:upstream");
  ASSERT_TRUE(topology.ok()) << topology.error().message;
  Config config;
  config.nranks = 2;
  config.thread_pools = ThreadPools::OpenMp;  // run_cpu sets OpenMP's variables only
  Expected<Plan> plan = xeonplace::plan(*topology, config);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const std::string env =
      "\"env\": {\"OMP_NUM_THREADS\": \"4\", \"KMP_AFFINITY\": \"granularity=fine,compact,1,0\", "
      "\"KMP_BLOCKTIME\": \"1\"}";
  EXPECT_EQ(format_plan_json(*plan),
            "{\"nranks\": 2, \"ranks\": [{\"rank\": 0, \"cpus\": [0,1,2,3], \"mems\": [0], "
            "\"omp_threads\": 4, \"domain\": \"numa:0\", " +
                env +
                ", \"warnings\": []}, {\"rank\": 1, \"cpus\": "
                "[4,5,6,7], \"mems\": [1], \"omp_threads\": 4, \"domain\": \"numa:1\", " +
                env +
                ", \"warnings\": []}], "
                "\"warnings\": []}\n");
}

}  // namespace
}  // namespace xeonplace
