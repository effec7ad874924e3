#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/lscpu.h"

namespace xeonplace {
namespace {

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(XEONPLACE_FIXTURES) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Topology parse_fixture(const std::string& name) {
  Expected<Topology> topology = parse_lscpu(read_fixture(name), "lscpu:" + name);
  EXPECT_TRUE(topology.ok()) << (topology.ok() ? "" : topology.error().message);
  return topology.ok() ? std::move(topology).value() : Topology{};
}

std::string parse_error(const std::string& text) {
  Expected<Topology> topology = parse_lscpu(text, "lscpu:t");
  EXPECT_FALSE(topology.ok()) << text;
  return topology.ok() ? std::string() : topology.error().message;
}

std::vector<unsigned> first_pus(const std::vector<Core>& cores, unsigned node) {
  std::vector<unsigned> out;
  for (const Core& core : cores) {
    if (core.node == node) out.push_back(core.cpus.front());
  }
  return out;
}

std::vector<unsigned> all_pus(const std::vector<Core>& cores, unsigned node) {
  std::vector<unsigned> out;
  for (const Core& core : cores) {
    if (core.node == node) out.insert(out.end(), core.cpus.begin(), core.cpus.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(LscpuPytorchFixture, PhysicalCoresPerNodeMatchPytorch) {
  const Topology topology = parse_fixture("pytorch_test_2s4c_ht.lscpu");
  const std::vector<Core> cores = topology.usable_cores(false);
  ASSERT_EQ(cores.size(), 8U);
  EXPECT_EQ(first_pus(cores, 0), (std::vector<unsigned>{0, 1, 2, 3}));
  EXPECT_EQ(first_pus(cores, 1), (std::vector<unsigned>{4, 5, 6, 7}));
}

TEST(LscpuPytorchFixture, LogicalCoresPerNodeMatchPytorch) {
  const Topology topology = parse_fixture("pytorch_test_2s4c_ht.lscpu");
  const std::vector<Core> cores = topology.usable_cores(false);
  EXPECT_EQ(all_pus(cores, 0), (std::vector<unsigned>{0, 1, 2, 3, 8, 9, 10, 11}));
  EXPECT_EQ(all_pus(cores, 1), (std::vector<unsigned>{4, 5, 6, 7, 12, 13, 14, 15}));
}

TEST(LscpuPytorchFixture, ShapeAndSets) {
  const Topology topology = parse_fixture("pytorch_test_2s4c_ht.lscpu");
  ASSERT_EQ(topology.pus.size(), 16U);
  EXPECT_EQ(topology.source, "lscpu:pytorch_test_2s4c_ht.lscpu");
  EXPECT_EQ(topology.allowed_cpus.format(), "0-15");
  EXPECT_EQ(topology.allowed_mems.format(), "0-1");
  ASSERT_EQ(topology.nodes.size(), 2U);
  EXPECT_EQ(topology.nodes[0].cpus.format(), "0-3,8-11");
  EXPECT_EQ(topology.nodes[1].cpus.format(), "4-7,12-15");
  EXPECT_EQ(topology.pus[12].core, 4U);
  EXPECT_EQ(topology.pus[12].package, 1U);
  EXPECT_FALSE(topology.has_hybrid_cpus());
}

std::vector<unsigned> range(unsigned first, unsigned last) {
  std::vector<unsigned> out;
  for (unsigned id = first; id <= last; ++id) out.push_back(id);
  return out;
}

TEST(LscpuFixtures, Xeon2x28WithSiblingsAtPlus56) {
  const Topology topology = parse_fixture("xeon_2s28c_ht.lscpu");
  ASSERT_EQ(topology.pus.size(), 112U);
  const std::vector<Core> cores = topology.usable_cores(false);
  ASSERT_EQ(cores.size(), 56U);
  EXPECT_EQ(first_pus(cores, 0), range(0, 27));
  EXPECT_EQ(first_pus(cores, 1), range(28, 55));
  EXPECT_EQ(cores[0].cpus, (std::vector<unsigned>{0, 56}));
  EXPECT_EQ(cores[55].cpus, (std::vector<unsigned>{55, 111}));
  EXPECT_EQ(topology.nodes[1].cpus.format(), "28-55,84-111");
}

TEST(LscpuFixtures, AdjacentSiblingsShareACore) {
  const Topology topology = parse_fixture("adjacent_siblings_2s4c.lscpu");
  const std::vector<Core> cores = topology.usable_cores(false);
  ASSERT_EQ(cores.size(), 8U);
  EXPECT_EQ(first_pus(cores, 0), (std::vector<unsigned>{0, 2, 4, 6}));
  EXPECT_EQ(first_pus(cores, 1), (std::vector<unsigned>{8, 10, 12, 14}));
  EXPECT_EQ(cores[1].cpus, (std::vector<unsigned>{2, 3}));
  EXPECT_EQ(topology.nodes[0].cpus.format(), "0-7");
}

TEST(LscpuFixtures, SixteenNodesWithIdsAboveNine) {
  const Topology topology = parse_fixture("snc4_4s16c_16nodes.lscpu");
  ASSERT_EQ(topology.pus.size(), 128U);
  ASSERT_EQ(topology.nodes.size(), 16U);
  EXPECT_EQ(topology.allowed_mems.format(), "0-15");
  EXPECT_EQ(topology.nodes[15].id, 15U);
  EXPECT_EQ(topology.nodes[15].cpus.format(), "60-63,124-127");
  EXPECT_EQ(topology.nodes[10].cpus.format(), "40-43,104-107");
  const std::vector<Core> cores = topology.usable_cores(false);
  ASSERT_EQ(cores.size(), 64U);
  EXPECT_EQ(first_pus(cores, 12), range(48, 51));
  EXPECT_EQ(cores[63].package, 3U);
}

TEST(LscpuFixtures, OfflineCpuInEveryStyleIsNeverUsable) {
  for (const char* name :
       {"offline_cpu_missing.lscpu", "offline_cpu_all.lscpu", "offline_cpu_online_column.lscpu"}) {
    SCOPED_TRACE(name);
    const Topology topology = parse_fixture(name);
    EXPECT_EQ(topology.allowed_cpus.format(), "0-2,4-7");
    const std::vector<Core> cores = topology.usable_cores(false);
    ASSERT_EQ(cores.size(), 4U);
    EXPECT_EQ(cores[3].cpus, (std::vector<unsigned>{7}));
    EXPECT_EQ(first_pus(cores, 0), (std::vector<unsigned>{0, 1, 2, 7}));
  }
  EXPECT_EQ(parse_fixture("offline_cpu_missing.lscpu").pus.size(), 7U);
  const Topology all = parse_fixture("offline_cpu_all.lscpu");
  ASSERT_EQ(all.pus.size(), 8U);
  EXPECT_FALSE(all.pus[3].online);
}

TEST(LscpuFixtures, VmWithoutNumaIsNodeZero) {
  const Topology topology = parse_fixture("vm_no_numa.lscpu");
  ASSERT_EQ(topology.nodes.size(), 1U);
  EXPECT_EQ(topology.nodes[0].cpus.format(), "0-3");
  EXPECT_EQ(topology.usable_cores(false).size(), 4U);
}

TEST(LscpuFixtures, UnevenNodesFourFourTwo) {
  const Topology topology = parse_fixture("uneven_nodes_4_4_2.lscpu");
  const std::vector<Core> cores = topology.usable_cores(false);
  ASSERT_EQ(cores.size(), 10U);
  EXPECT_EQ(first_pus(cores, 0), range(0, 3));
  EXPECT_EQ(first_pus(cores, 1), range(4, 7));
  EXPECT_EQ(first_pus(cores, 2), range(8, 9));
  EXPECT_EQ(all_pus(cores, 2), (std::vector<unsigned>{8, 9, 18, 19}));
}

TEST(LscpuParse, EmptyNodeColumnMeansNodeZero) {
  Expected<Topology> topology = parse_lscpu("# CPU,Core,Socket,Node\n0,0,0,\n1,1,0,\n", "t");
  ASSERT_TRUE(topology.ok()) << topology.error().message;
  ASSERT_EQ(topology->nodes.size(), 1U);
  EXPECT_EQ(topology->nodes[0].id, 0U);
  EXPECT_EQ(topology->nodes[0].cpus.format(), "0-1");
}

TEST(LscpuParse, MissingCpuRowIsAGapNotAPu) {
  Expected<Topology> topology = parse_lscpu("0,0,0,0\n2,2,0,0\n", "t");
  ASSERT_TRUE(topology.ok()) << topology.error().message;
  ASSERT_EQ(topology->pus.size(), 2U);
  EXPECT_EQ(topology->allowed_cpus.format(), "0,2");
}

TEST(LscpuParse, EmptyTopologyColumnsMarkAnOfflineCpu) {
  Expected<Topology> topology = parse_lscpu("0,0,0,0\n1,,,\n2,1,0,0\n", "t");
  ASSERT_TRUE(topology.ok()) << topology.error().message;
  ASSERT_EQ(topology->pus.size(), 3U);
  EXPECT_FALSE(topology->pus[1].online);
  EXPECT_EQ(topology->allowed_cpus.format(), "0,2");
  // Its made-up core id never collides with a real core.
  EXPECT_NE(topology->pus[1].core, 0U);
  EXPECT_NE(topology->pus[1].core, 1U);
  EXPECT_EQ(topology->usable_cores(false).size(), 2U);
}

TEST(LscpuParse, OnlineColumnMarksOfflineCpus) {
  Expected<Topology> topology =
      parse_lscpu("# CPU,Core,Socket,Node,Online\n0,0,0,0,Y\n1,1,0,0,N\n2,,,,N\n", "t");
  ASSERT_TRUE(topology.ok()) << topology.error().message;
  ASSERT_EQ(topology->pus.size(), 3U);
  EXPECT_TRUE(topology->pus[0].online);
  EXPECT_FALSE(topology->pus[1].online);
  EXPECT_FALSE(topology->pus[2].online);
  EXPECT_EQ(topology->allowed_cpus.format(), "0");
}

TEST(LscpuParse, PlainParseHeaderWithCacheColumnsIsUnderstood) {
  // What `lscpu -p` prints by default: an empty column name separates the caches.
  Expected<Topology> topology = parse_lscpu(
      "# CPU,Core,Socket,Node,,L1d,L1i,L2,L3\n0,0,0,0,,0,0,0,0\n1,1,0,1,,1,1,1,0\n", "t");
  ASSERT_TRUE(topology.ok()) << topology.error().message;
  ASSERT_EQ(topology->nodes.size(), 2U);
  EXPECT_EQ(topology->pus[1].node, 1U);
}

TEST(LscpuParse, CrlfLineEndsAndBlankLinesAreTolerated) {
  Expected<Topology> topology = parse_lscpu("0,0,0,0\r\n\r\n1,1,0,0\r\n", "t");
  ASSERT_TRUE(topology.ok()) << topology.error().message;
  EXPECT_EQ(topology->pus.size(), 2U);
}

TEST(LscpuParse, WrongFieldCountNamesSourceAndLine) {
  EXPECT_EQ(parse_error("# c\n0,0,0,0\n1,1,0\n").rfind("lscpu:t:3: expected 4 fields", 0), 0U);
  EXPECT_EQ(parse_error("0,0,0,0,0\n").rfind("lscpu:t:1: expected 4 fields", 0), 0U);
}

TEST(LscpuParse, NonNumericValuesAreErrors) {
  EXPECT_EQ(parse_error("0,0,0,0\nx,1,0,0\n").rfind("lscpu:t:2: CPU 'x' is not an id", 0), 0U);
  EXPECT_EQ(parse_error("0,a,0,0\n").rfind("lscpu:t:1: Core 'a' is not an id", 0), 0U);
  EXPECT_EQ(parse_error("0,0,-1,0\n").rfind("lscpu:t:1: Socket '-1' is not an id", 0), 0U);
  EXPECT_EQ(parse_error("0,0,0,0x1\n").rfind("lscpu:t:1: Node '0x1' is not an id", 0), 0U);
  EXPECT_EQ(parse_error("99999999999,0,0,0\n").rfind("lscpu:t:1: CPU '99999999999'", 0), 0U);
  EXPECT_EQ(parse_error("0,0,0,0,X\n1,1,0,0,Y\n").rfind("lscpu:t:1: expected 4 fields", 0), 0U);
  EXPECT_EQ(parse_error("# CPU,Core,Socket,Node,Online\n0,0,0,0,maybe\n")
                .rfind("lscpu:t:2: Online 'maybe' is not Y or N", 0),
            0U);
}

TEST(LscpuParse, OnlineCpuWithoutCoreIsAnError) {
  EXPECT_EQ(parse_error("# CPU,Core,Socket,Node,Online\n0,,0,0,Y\n")
                .rfind("lscpu:t:2: Core '' is not an id", 0),
            0U);
}

TEST(LscpuParse, DuplicateCpuIsAnErrorNamingBothLines) {
  const std::string message = parse_error("0,0,0,0\n1,1,0,0\n1,1,0,0\n");
  EXPECT_EQ(message.rfind("lscpu:t:3: CPU 1 is listed again (first at lscpu:t:2)", 0), 0U)
      << message;
}

TEST(LscpuParse, SocketLocalCoreIdsAreRejected) {
  // lscpu -y prints per-socket core ids; planning with them would merge cores of two sockets.
  const std::string message = parse_error("0,0,0,0\n1,0,1,1\n");
  EXPECT_NE(message.find("lscpu:t:2: core 0 is in socket 1 here but in socket 0"),
            std::string::npos)
      << message;
}

TEST(LscpuParse, NoCpuLinesIsAnError) {
  EXPECT_EQ(parse_error("# only comments\n\n").rfind("lscpu:t: no CPU lines", 0), 0U);
  EXPECT_EQ(parse_error("").rfind("lscpu:t: no CPU lines", 0), 0U);
}

TEST(LscpuParse, HeaderWithoutCoreColumnIsAnError) {
  EXPECT_NE(parse_error("# CPU,Socket,Node\n0,0,0\n").find("lacks Core or Socket"),
            std::string::npos);
}

// Found by tests/fuzz/fuzz_lscpu: a CRLF or binary file put a carriage return and NUL bytes of the
// offending line into the error, which must stay one printable line.
TEST(LscpuParse, ErrorQuotesABadLineOnOnePrintableLine) {
  const std::string message =
      parse_error(std::string("0,0,0,0\r\n1,") + std::string(2, '\0') + ",0,0\n");
  EXPECT_EQ(message.find('\r'), std::string::npos) << message;
  EXPECT_EQ(message.find('\0'), std::string::npos) << message;
  EXPECT_NE(message.find("\\x00"), std::string::npos) << message;
  const std::string runaway = parse_error("0,0,0,0,x" + std::string(100000, 'y'));
  EXPECT_LT(runaway.size(), 1000U) << "the whole bad line was quoted";
}

// Found by tests/fuzz/fuzz_lscpu: the column names of a header with carriage returns were quoted
// raw in the field-count error.
TEST(LscpuParse, HeaderNamesInErrorsAreEscaped) {
  const std::string message = parse_error("# CPU,Core,Socket,Node,On\r\rline\n0,0,0\n");
  EXPECT_EQ(message.find('\r'), std::string::npos) << message;
  EXPECT_NE(message.find("On\\x0d\\x0dline"), std::string::npos) << message;
}

}  // namespace
}  // namespace xeonplace
