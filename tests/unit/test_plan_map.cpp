// The map of a plan (core/plan_map.h): marks, fitting in the width, colour only when asked, SVG.
#include <gtest/gtest.h>

#include <string>

#include "core/plan_map.h"

namespace xeonplace {
namespace {

// 2 packages x 2 cores x 2 threads, siblings N and N+4; CPU 7 offline, CPU 6 not allowed.
Topology small_machine() {
  Topology t;
  for (unsigned cpu = 0; cpu < 8; ++cpu) {
    Pu pu;
    pu.cpu = cpu;
    pu.core = cpu % 4;
    pu.package = (cpu % 4) / 2;
    pu.node = pu.package;
    pu.online = cpu != 7;
    pu.allowed = cpu != 6;
    t.pus.push_back(pu);
  }
  t.nodes = {NumaNode{0, {}, true}, NumaNode{1, {}, true}};
  t.source = "test";
  t.finalize();
  return t;
}

MapPlan one_rank_on_package0() {
  MapPlan plan;
  plan.nranks = 1;
  plan.ranks.push_back({0, CpuSet{0, 1, 4, 5}, CpuSet{0}});
  return plan;
}

TEST(PlanMap, EachCpuGetsItsMark) {
  const Topology t = small_machine();
  MapPlan plan = one_rank_on_package0();
  plan.reserved = CpuSet{2};
  EXPECT_EQ(mark_of(t, plan, t.pus[0]).kind, CpuMarkKind::Rank);
  EXPECT_EQ(mark_of(t, plan, t.pus[2]).kind, CpuMarkKind::Reserved);
  EXPECT_EQ(mark_of(t, plan, t.pus[3]).kind, CpuMarkKind::Free);
  EXPECT_EQ(mark_of(t, plan, t.pus[6]).kind, CpuMarkKind::NotAllowed);
  EXPECT_EQ(mark_of(t, plan, t.pus[7]).kind, CpuMarkKind::Offline);
}

TEST(PlanMap, HelperCoresInsideARankShowAsReserved) {
  const Topology t = small_machine();
  MapPlan plan = one_rank_on_package0();
  plan.reserved = CpuSet{5};  // the rank's own CPU, kept for helper threads
  EXPECT_EQ(mark_of(t, plan, t.pus[1]).kind, CpuMarkKind::Rank);
  EXPECT_EQ(mark_of(t, plan, t.pus[5]).kind, CpuMarkKind::Reserved);
}

TEST(PlanMap, SiblingsSitTogetherUnderTheirPackage) {
  const std::string text = map_text(small_machine(), one_rank_on_package0(), MapStyle{});
  // Package 0: cores {0,4} and {1,5}, both rank 0; package 1: {2,6} free/not allowed, {3,7}
  // free/offline.
  EXPECT_NE(text.find("package 0 / node 0  (2 cores, 4 CPUs)\n    0 | 00 00\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("package 1 / node 1  (2 cores, 4 CPUs)\n    2 | .- .x\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("0 rank 0  CPUs 0-1,4-5  memory 0\n"), std::string::npos) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
}

TEST(PlanMap, ColourOnlyWhenAsked) {
  MapStyle style;
  style.colour = true;
  const std::string text = map_text(small_machine(), one_rank_on_package0(), style);
  EXPECT_NE(text.find("\x1b["), std::string::npos);
}

TEST(PlanMap, RowsFitTheWidth) {
  Topology t;
  for (unsigned cpu = 0; cpu < 240; ++cpu) {
    Pu pu;
    pu.cpu = cpu;
    pu.core = cpu % 120;
    pu.package = pu.core / 60;
    pu.node = pu.package;
    t.pus.push_back(pu);
  }
  t.nodes = {NumaNode{0, {}, true}, NumaNode{1, {}, true}};
  t.finalize();
  MapPlan plan;
  plan.nranks = 1;
  plan.ranks.push_back({0, t.allowed_cpus, CpuSet{0, 1}});
  for (unsigned width : {80u, 132u}) {
    const std::string text = map_text(t, plan, MapStyle{width, false});
    std::size_t start = 0;
    std::size_t marks = 0;
    while (start < text.size()) {
      const std::size_t end = text.find('\n', start);
      const std::string line = text.substr(start, end - start);
      EXPECT_LE(line.size(), width) << line;
      if (line.find(" | ") != std::string::npos) {
        for (char c : line.substr(line.find(" | ") + 3)) marks += c == '0';
      }
      start = end + 1;
    }
    EXPECT_EQ(marks, 240u) << "width " << width;
  }
}

TEST(PlanMap, RankGlyphsRunThroughDigitsAndLetters) {
  EXPECT_EQ(rank_glyph(0), '0');
  EXPECT_EQ(rank_glyph(9), '9');
  EXPECT_EQ(rank_glyph(10), 'a');
  EXPECT_EQ(rank_glyph(36), 'A');
  EXPECT_EQ(rank_glyph(61), 'Z');
  EXPECT_EQ(rank_glyph(62), '#');
}

TEST(PlanMap, SvgHasOneTitledBoxPerCpu) {
  const std::string svg = map_svg(small_machine(), one_rank_on_package0());
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("</svg>\n"), std::string::npos);
  std::size_t cpus = 0;
  for (std::size_t at = svg.find("<title>CPU "); at != std::string::npos;
       at = svg.find("<title>CPU ", at + 1)) {
    ++cpus;
  }
  EXPECT_EQ(cpus, 8u);
  EXPECT_NE(svg.find("<title>CPU 5: rank 0</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>CPU 7: offline</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>CPU 6: not allowed</title>"), std::string::npos);
}

}  // namespace
}  // namespace xeonplace
