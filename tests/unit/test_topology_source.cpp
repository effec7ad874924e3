#include <gtest/gtest.h>
#include <hwloc.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/lscpu.h"
#include "sys/topology_source.h"

namespace xeonplace {
namespace {

std::string fixture(const std::string& name) {
  return std::string(XEONPLACE_FIXTURES) + "/" + name;
}

Topology load_ok(const std::string& spec) {
  Expected<Topology> topology = load_topology(spec);
  EXPECT_TRUE(topology.ok()) << spec << ": " << (topology.ok() ? "" : topology.error().message);
  return topology.ok() ? std::move(topology).value() : Topology{};
}

std::string load_error(const std::string& spec) {
  Expected<Topology> topology = load_topology(spec);
  EXPECT_FALSE(topology.ok()) << spec;
  return topology.ok() ? std::string() : topology.error().message;
}

std::vector<unsigned> first_pus(const std::vector<Core>& cores, unsigned node) {
  std::vector<unsigned> out;
  for (const Core& core : cores) {
    if (core.node == node) out.push_back(core.cpus.front());
  }
  return out;
}

// A scratch file removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char name[] = "/tmp/xeonplace-test-XXXXXX";
    const int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    path_ = name;
    EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(LoadTopologySpec, UnknownFormIsOneLineNamingVariableValueAndAcceptedForms) {
  const std::string message = load_error("json:/tmp/x");
  EXPECT_EQ(message.rfind("XEONRUN_TOPOLOGY=json:/tmp/x: unknown topology source; accepted: "
                          "lscpu:FILE",
                          0),
            0U)
      << message;
  EXPECT_NE(message.find("xml:FILE"), std::string::npos);
  EXPECT_NE(message.find("synthetic:DESC"), std::string::npos);
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_NE(load_error("/path/to/file").find("unknown topology source"), std::string::npos);
  EXPECT_NE(load_error("XML:/x").find("unknown topology source"), std::string::npos);
}

TEST(LoadTopologySpec, EmptyFileNameOrDescriptionIsAnError) {
  EXPECT_EQ(load_error("lscpu:").rfind("XEONRUN_TOPOLOGY=lscpu:: lscpu: needs a file name", 0), 0U);
  EXPECT_NE(load_error("xml:").find("needs a file name"), std::string::npos);
  EXPECT_NE(load_error("synthetic:").find("needs a description"), std::string::npos);
}

TEST(LoadTopologySpec, MissingFileIsAClearError) {
  EXPECT_EQ(load_error("lscpu:/nonexistent/x.lscpu"),
            "XEONRUN_TOPOLOGY=lscpu:/nonexistent/x.lscpu: cannot open: No such file or directory");
  EXPECT_EQ(load_error("xml:/nonexistent/x.xml"),
            "XEONRUN_TOPOLOGY=xml:/nonexistent/x.xml: cannot open: No such file or directory");
}

TEST(LoadTopologySpec, DirectoryIsNotAFixture) {
  EXPECT_EQ(load_error("xml:/tmp"), "XEONRUN_TOPOLOGY=xml:/tmp: not a regular file");
}

TEST(LoadTopologySpec, LscpuParseErrorsKeepTheirLineNumbers) {
  TempFile file("0,0,0,0\n0,1,0,0\n");
  EXPECT_EQ(load_error("lscpu:" + file.path())
                .rfind("XEONRUN_TOPOLOGY=lscpu:" + file.path() + ":2: CPU 0 is listed again", 0),
            0U);
}

TEST(LoadTopologySpec, LscpuFileGivesTheParsedTopology) {
  const Topology topology = load_ok("lscpu:" + fixture("pytorch_test_2s4c_ht.lscpu"));
  EXPECT_EQ(topology.source, "lscpu:" + fixture("pytorch_test_2s4c_ht.lscpu"));
  const std::vector<Core> cores = topology.usable_cores(false);
  EXPECT_EQ(first_pus(cores, 0), (std::vector<unsigned>{0, 1, 2, 3}));
  EXPECT_EQ(first_pus(cores, 1), (std::vector<unsigned>{4, 5, 6, 7}));
}

TEST(HwlocXml, MalformedFileIsAnErrorAndHwlocStaysQuiet) {
  for (const std::string& text :
       {std::string("<topology version=\"2.0\"><object type="), std::string("not xml at all"),
        std::string(""),
        std::string("<?xml version=\"1.0\"?>\n<topology version=\"2.0\">\n"
                    "</topology>\n")}) {
    SCOPED_TRACE(text);
    TempFile file(text);
    testing::internal::CaptureStderr();
    const std::string message = load_error("xml:" + file.path());
    const std::string printed = testing::internal::GetCapturedStderr();
    EXPECT_EQ(message,
              "XEONRUN_TOPOLOGY=xml:" + file.path() +
                  ": not a valid hwloc XML topology (write one with lstopo --of xml FILE)");
    EXPECT_EQ(printed, "");
  }
}

TEST(HwlocXml, CpulessMemoryNodeHasNoCpusAndNoCore) {
  const Topology topology = load_ok("xml:" + fixture("cpuless_hbm_node.xml"));
  ASSERT_EQ(topology.pus.size(), 16U);
  ASSERT_EQ(topology.nodes.size(), 3U);
  EXPECT_EQ(topology.nodes[0].cpus.format(), "0-3,8-11");
  EXPECT_EQ(topology.nodes[1].cpus.format(), "4-7,12-15");
  EXPECT_EQ(topology.nodes[2].id, 2U);
  EXPECT_TRUE(topology.nodes[2].cpuless());
  EXPECT_EQ(topology.allowed_mems.format(), "0-2");
  const std::vector<Core> cores = topology.usable_cores(false);
  ASSERT_EQ(cores.size(), 8U);
  EXPECT_EQ(first_pus(cores, 0), (std::vector<unsigned>{0, 1, 2, 3}));
  EXPECT_EQ(first_pus(cores, 1), (std::vector<unsigned>{4, 5, 6, 7}));
  EXPECT_TRUE(first_pus(cores, 2).empty());
  EXPECT_EQ(cores[0].cpus, (std::vector<unsigned>{0, 8}));
  EXPECT_EQ(cores[7].package, 1U);
}

TEST(HwlocXml, HybridEfficientCoresComeFromCpuKinds) {
  const Topology topology = load_ok("xml:" + fixture("hybrid_8p8e.xml"));
  ASSERT_EQ(topology.pus.size(), 24U);
  EXPECT_TRUE(topology.has_hybrid_cpus());
  for (const Pu& pu : topology.pus) {
    EXPECT_EQ(pu.kind, pu.cpu >= 16 ? CpuKind::Efficient : CpuKind::Performance) << pu.cpu;
  }
  const std::vector<Core> performance = topology.usable_cores(false);
  ASSERT_EQ(performance.size(), 8U);
  for (unsigned k = 0; k < 8; ++k) {
    EXPECT_EQ(performance[k].cpus, (std::vector<unsigned>{2 * k, 2 * k + 1}));
  }
  const std::vector<Core> all = topology.usable_cores(true);
  ASSERT_EQ(all.size(), 16U);
  EXPECT_EQ(all[8].cpus, std::vector<unsigned>{16});
  EXPECT_EQ(all[8].kind, CpuKind::Efficient);
}

TEST(HwlocXml, OfflineAndDisallowedCpusAreKeptAndMarked) {
  const Topology topology = load_ok("xml:" + fixture("offline_disallowed.xml"));
  ASSERT_EQ(topology.pus.size(), 8U);
  const Pu& offline = topology.pus[3];
  EXPECT_EQ(offline.cpu, 3U);
  EXPECT_FALSE(offline.online);
  EXPECT_EQ(offline.node, 0U);
  EXPECT_EQ(offline.core, topology.pus[2].core);  // the OS still knows its core
  EXPECT_FALSE(topology.pus[5].allowed);
  EXPECT_TRUE(topology.pus[5].online);
  EXPECT_EQ(topology.allowed_cpus.format(), "0-2,4,6-7");
  EXPECT_EQ(topology.allowed_mems.format(), "0");
  ASSERT_EQ(topology.nodes.size(), 2U);
  EXPECT_FALSE(topology.nodes[1].allowed);
  EXPECT_EQ(topology.nodes[0].cpus.format(), "0-3");
  const std::vector<Core> cores = topology.usable_cores(false);
  ASSERT_EQ(cores.size(), 4U);
  EXPECT_EQ(cores[1].cpus, std::vector<unsigned>{2});
  EXPECT_EQ(cores[2].cpus, std::vector<unsigned>{4});
}

TEST(HwlocXml, RoundTripOfAnHwlocExportGivesTheSameTopology) {
  const std::string description = "pack:2 numa:2 core:3 pu:2";
  hwloc_topology_t exported = nullptr;
  ASSERT_EQ(hwloc_topology_init(&exported), 0);
  ASSERT_EQ(hwloc_topology_set_synthetic(exported, description.c_str()), 0);
  ASSERT_EQ(hwloc_topology_load(exported), 0);
  char* buffer = nullptr;
  int length = 0;
  ASSERT_EQ(hwloc_topology_export_xmlbuffer(exported, &buffer, &length, 0), 0);
  TempFile file(std::string(buffer, static_cast<std::size_t>(length - 1)));
  hwloc_free_xmlbuffer(exported, buffer);
  hwloc_topology_destroy(exported);

  const Topology from_xml = load_ok("xml:" + file.path());
  const Topology from_synthetic = load_ok("synthetic:" + description);
  ASSERT_EQ(from_xml.pus.size(), 24U);
  ASSERT_EQ(from_xml.pus.size(), from_synthetic.pus.size());
  for (std::size_t i = 0; i < from_xml.pus.size(); ++i) {
    EXPECT_EQ(from_xml.pus[i].cpu, from_synthetic.pus[i].cpu);
    EXPECT_EQ(from_xml.pus[i].core, from_synthetic.pus[i].core);
    EXPECT_EQ(from_xml.pus[i].package, from_synthetic.pus[i].package);
    EXPECT_EQ(from_xml.pus[i].node, from_synthetic.pus[i].node);
  }
  ASSERT_EQ(from_xml.nodes.size(), 4U);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(from_xml.nodes[i].cpus, from_synthetic.nodes[i].cpus);
  }
}

TEST(HwlocSynthetic, PackagesCoresAndThreads) {
  const Topology topology = load_ok("synthetic:pack:2 core:4 pu:2");
  EXPECT_EQ(topology.source, "synthetic:pack:2 core:4 pu:2");
  ASSERT_EQ(topology.pus.size(), 16U);
  ASSERT_EQ(topology.nodes.size(), 1U);
  EXPECT_EQ(topology.nodes[0].cpus.format(), "0-15");
  const std::vector<Core> cores = topology.usable_cores(false);
  ASSERT_EQ(cores.size(), 8U);
  EXPECT_EQ(cores[0].cpus, (std::vector<unsigned>{0, 1}));
  EXPECT_EQ(cores[4].package, 1U);
  EXPECT_EQ(cores[4].cpus, (std::vector<unsigned>{8, 9}));
  EXPECT_EQ(topology.allowed_cpus.format(), "0-15");
}

TEST(HwlocSynthetic, NumaNodesKeepTheirOwnCpus) {
  const Topology topology = load_ok("synthetic:numa:2 core:4 pu:2");
  ASSERT_EQ(topology.nodes.size(), 2U);
  EXPECT_EQ(topology.nodes[0].cpus.format(), "0-7");
  EXPECT_EQ(topology.nodes[1].cpus.format(), "8-15");
  const std::vector<Core> cores = topology.usable_cores(false);
  EXPECT_EQ(first_pus(cores, 1), (std::vector<unsigned>{8, 10, 12, 14}));

  const Topology snc = load_ok("synthetic:pack:2 numa:2 core:2 pu:2");
  ASSERT_EQ(snc.nodes.size(), 4U);
  EXPECT_EQ(snc.nodes[3].cpus.format(), "12-15");
  EXPECT_EQ(snc.pus[12].package, 1U);
  EXPECT_EQ(snc.allowed_mems.format(), "0-3");
}

TEST(HwlocSynthetic, InvalidDescriptionIsAnError) {
  testing::internal::CaptureStderr();
  const std::string message = load_error("synthetic:pack:x core:4");
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(message.rfind("XEONRUN_TOPOLOGY=synthetic:pack:x core:4: not a valid hwloc "
                          "synthetic description; accepted: ",
                          0),
            0U)
      << message;
  EXPECT_EQ(printed, "");
  EXPECT_FALSE(load_topology("synthetic:bogus").ok());
}

TEST(HwlocSynthetic, OsIndexBeyondTheSupportedRangeIsAnError) {
  // A CpuSet of such an id would allocate for every id below it.
  EXPECT_EQ(load_error("synthetic:core:1 pu:2(indexes=0,70000)"),
            "XEONRUN_TOPOLOGY=synthetic:core:1 pu:2(indexes=0,70000): PU OS index 70000 is larger "
            "than 65535, the largest supported");
}

TEST(HwlocSynthetic, MoreThanLinuxsCpuLimitIsRefusedBeforeHwlocTriesToBuildIt) {
  EXPECT_EQ(load_error("synthetic:pack:1000 core:1000 pu:1000"),
            "XEONRUN_TOPOLOGY=synthetic:pack:1000 core:1000 pu:1000: describes more than 8192 "
            "PUs; accepted: at most 8192, Linux's CPU limit");
  EXPECT_NE(load_error("synthetic:pack:2 [numa] core:99999999999999999999 pu:2")
                .find("describes more than 8192 PUs"),
            std::string::npos);
  EXPECT_NE(load_error("synthetic:2 4097").find("describes more than 8192 PUs"), std::string::npos);
  const Topology largest = load_ok("synthetic:pack:8 numa:4 core:30 pu:2");
  EXPECT_EQ(largest.pus.size(), 1920U);
  EXPECT_EQ(largest.nodes.size(), 32U);
}

TEST(HwlocSynthetic, ValidDescriptionPrintsNothing) {
  testing::internal::CaptureStderr();
  testing::internal::CaptureStdout();
  const Topology topology = load_ok("synthetic:pack:2 core:2 pu:1");
  const std::string out = testing::internal::GetCapturedStdout();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(topology.pus.size(), 4U);
  EXPECT_EQ(out + err, "");
}

// The CPUs this thread may run on, as the kernel reports them.
CpuSet thread_affinity() {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  EXPECT_EQ(sched_getaffinity(0, sizeof mask, &mask), 0);
  CpuSet set;
  for (unsigned cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &mask)) set.add(cpu);
  }
  return set;
}

TEST(LiveTopology, MatchesThisThreadsAffinity) {
  const Topology topology = load_ok("");
  EXPECT_EQ(topology.source, "this machine (hwloc)");
  ASSERT_FALSE(topology.pus.empty());
  EXPECT_EQ(topology.allowed_cpus, thread_affinity());
  EXPECT_FALSE(topology.nodes.empty());
  EXPECT_FALSE(topology.allowed_mems.empty());
  EXPECT_FALSE(topology.usable_cores(true).empty());
  for (const Pu& pu : topology.pus) {
    EXPECT_TRUE(topology.nodes.end() !=
                std::find_if(topology.nodes.begin(), topology.nodes.end(),
                             [&](const NumaNode& node) { return node.cpus.contains(pu.cpu); }));
  }
}

TEST(LiveTopology, RestrictedAffinityMarksOtherCpusDisallowedUnlessCgroupOnly) {
  const std::vector<unsigned> usable = thread_affinity().ids();
  if (usable.size() < 2) GTEST_SKIP() << "needs 2 CPUs in this process's affinity";
  const unsigned kept = usable[0];
  const unsigned other = usable[1];

  // A thread of its own, so narrowing its affinity leaves the test runner untouched.
  Expected<Topology> with_affinity = make_error("not run");
  Expected<Topology> cgroup_only = make_error("not run");
  std::thread worker([&] {
    cpu_set_t mask;
    CPU_ZERO(&mask);
    CPU_SET(kept, &mask);
    ASSERT_EQ(sched_setaffinity(0, sizeof mask, &mask), 0);
    with_affinity = load_topology("", LiveScope::CgroupAndAffinity);
    cgroup_only = load_topology("", LiveScope::CgroupOnly);
  });
  worker.join();
  ASSERT_TRUE(with_affinity.ok()) << with_affinity.error().message;
  ASSERT_TRUE(cgroup_only.ok()) << cgroup_only.error().message;

  auto pu = [](const Topology& topology, unsigned cpu) -> const Pu* {
    for (const Pu& p : topology.pus) {
      if (p.cpu == cpu) return &p;
    }
    return nullptr;
  };
  ASSERT_NE(pu(*with_affinity, other), nullptr);
  EXPECT_TRUE(pu(*with_affinity, kept)->allowed);
  EXPECT_FALSE(pu(*with_affinity, other)->allowed);
  EXPECT_EQ(with_affinity->allowed_cpus, CpuSet{kept});
  EXPECT_TRUE(pu(*cgroup_only, other)->allowed);
  EXPECT_TRUE(cgroup_only->allowed_cpus.contains(other));
  EXPECT_EQ(thread_affinity().ids(), usable);  // the runner's own affinity is unchanged
}

// Found by tests/fuzz/fuzz_hwloc_xml: this file makes hwloc 2.9's hwloc_topology_load() dereference
// NULL. The library loads XML in a child first, so the program gets an error, not a SIGSEGV.
TEST(LoadTopologySpec, XmlThatCrashesHwlocIsAnErrorNotASignal) {
  const std::string path =
      std::string(XEONPLACE_FIXTURES) + "/../fuzz/corpus/hwloc_xml/regress_hwloc_segv_on_bad_xml";
  // The preloaded engine always parses with hwloc's built-in parser (its libxml2 plugin refuses
  // to load there); force that parser here too.
  ::setenv("HWLOC_LIBXML_IMPORT", "0", 1);
  const std::string message = load_error("xml:" + path);
  ::unsetenv("HWLOC_LIBXML_IMPORT");
  EXPECT_NE(message.find("hwloc crashed reading it (signal 11)"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

// Found by tests/fuzz/fuzz_hwloc_xml: hand-made XML where hwloc keeps one CPU as two PUs (twice
// the same os_index, or a PU outside its own cpuset that also looked offline). Planned, that CPU
// would go to two ranks.
TEST(LoadTopologySpec, XmlNamingOneCpuTwiceNeverGivesTwoPus) {
  const std::string corpus = std::string(XEONPLACE_FIXTURES) + "/../fuzz/corpus/hwloc_xml/";
  ::setenv("HWLOC_LIBXML_IMPORT", "0", 1);  // the engine's parser, as above
  for (const char* name : {"regress_duplicate_pu", "regress_pu_outside_its_cpuset"}) {
    Expected<Topology> topology = load_topology("xml:" + corpus + name);
    if (!topology) {
      EXPECT_NE(topology.error().message.find("appears twice"), std::string::npos)
          << topology.error().message;
      continue;
    }
    for (std::size_t i = 1; i < topology->pus.size(); ++i) {
      EXPECT_LT(topology->pus[i - 1].cpu, topology->pus[i].cpu) << name;
    }
  }
  ::unsetenv("HWLOC_LIBXML_IMPORT");
}

// Found by tests/fuzz/fuzz_hwloc_xml in CI: a PU no node holds, on a machine with no allowed node
// and no node 0, was given node 0, a node the topology does not list. Its node is unknown
// (NodeLink::None) but must still be one the planner can look up.
TEST(LoadTopologySpec, PuWithUnknownNodeStillNamesAListedNode) {
  const std::string path = std::string(XEONPLACE_FIXTURES) +
                           "/../fuzz/corpus/hwloc_xml/regress_homeless_pu_no_allowed_node";
  ::setenv("HWLOC_LIBXML_IMPORT", "0", 1);  // the engine's parser, as above
  Expected<Topology> topology = load_topology("xml:" + path);
  ::unsetenv("HWLOC_LIBXML_IMPORT");
  ASSERT_TRUE(topology) << topology.error().message;
  ASSERT_EQ(topology->pus.size(), 1u);
  const Pu& homeless = topology->pus.front();
  EXPECT_EQ(homeless.cpu, 0u);
  EXPECT_EQ(homeless.node_link, NodeLink::None);
  ASSERT_EQ(topology->nodes.size(), 1u);
  EXPECT_EQ(homeless.node, topology->nodes.front().id);
  EXPECT_EQ(homeless.node, 1u);
}

// Found by tests/fuzz/fuzz_hwloc_xml (a timeout): hwloc gives a NUMA node without os_index the
// index 2^32-1 and builds 512 MiB nodesets for it, seconds per load. Such files (and any PU or node
// index above kMaxSetId, however written) are refused from their text, before hwloc reads them.
TEST(LoadTopologySpec, XmlNodeIndexesAreCheckedBeforeHwlocReadsThem) {
  const std::string corpus = std::string(XEONPLACE_FIXTURES) + "/../fuzz/corpus/hwloc_xml/";
  const std::string missing = load_error("xml:" + corpus + "regress_numa_node_without_os_index");
  EXPECT_NE(missing.find("a NUMA node has no os_index; not a valid topology"), std::string::npos)
      << missing;
  const std::string huge = load_error("xml:" + corpus + "regress_numa_node_huge_os_index");
  EXPECT_NE(huge.find("NUMA node OS index 4294967295 is larger than 65535"), std::string::npos)
      << huge;
}

}  // namespace
}  // namespace xeonplace
