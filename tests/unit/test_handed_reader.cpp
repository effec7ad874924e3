// The front's reader of a handed placement (core/handed_reader.h) against the engine's parser
// (parse_handed_placement), and the spawner's word for a rank's inputs (HandedPlacement::inputs)
// as the front checks it (docs/design.md §4).
#include <gtest/gtest.h>

#include <climits>
#include <random>
#include <string>
#include <vector>

#include "core/decision.h"
#include "core/handed_reader.h"
#include "core/launcher.h"
#include "core/lscpu.h"
#include "core/placement_inputs.h"
#include "core/text.h"

namespace xeonplace {
namespace {

std::string text_of(xeonplace_text t) { return std::string(t.text, t.size); }

CpuSet set_of(const unsigned long* bits, unsigned limit) {
  CpuSet set;
  for (unsigned id = 0; id < limit; ++id) {
    if (bits[id / XEONPLACE_HANDED_WORD_BITS] & (1UL << (id % XEONPLACE_HANDED_WORD_BITS))) {
      set.add(id);
    }
  }
  return set;
}

// What the front reads is what the engine parses, field by field, and what it would export.
void expect_same_as_the_engine(const std::string& line) {
  xeonplace_handed h{};
  ASSERT_EQ(xeonplace_read_handed(line.c_str(), &h), 1) << line;
  Expected<HandedPlacement> p = parse_handed_placement(line);
  ASSERT_TRUE(p.ok()) << line;
  EXPECT_EQ(h.rank, p->rank);
  EXPECT_EQ(h.nranks, p->nranks);
  EXPECT_EQ(set_of(h.cpus, XEONPLACE_HANDED_MAX_CPUS), p->cpus) << line;
  EXPECT_EQ(set_of(h.mems, XEONPLACE_HANDED_MAX_NODES), p->mems) << line;
  EXPECT_EQ(text_of(h.rank_text), std::to_string(p->rank));
  EXPECT_EQ(text_of(h.nranks_text), std::to_string(p->nranks));
  EXPECT_EQ(text_of(h.cpus_text), p->cpus.format());
  EXPECT_EQ(text_of(h.mems_text), p->mems.format());
  EXPECT_EQ(text_of(h.membind_text), to_string(p->membind));
  EXPECT_EQ(text_of(h.env_text), join(p->env, ","));
  EXPECT_EQ(text_of(h.inputs), p->inputs);
  EXPECT_EQ(static_cast<int>(h.pin), static_cast<int>(p->pin));
  EXPECT_EQ(std::string(to_string(p->membind)), text_of(h.membind_text));
  EXPECT_EQ(line.substr(0, h.vouched_size) + ";inputs=" + p->inputs, line);
}

CpuSet random_set(std::mt19937& random, unsigned limit, bool may_be_empty) {
  CpuSet set;
  const unsigned n = std::uniform_int_distribution<unsigned>(may_be_empty ? 0 : 1, 12)(random);
  std::uniform_int_distribution<unsigned> id(0, limit - 1);
  for (unsigned i = 0; i < n; ++i) {
    const unsigned first = id(random);
    const unsigned last =
        std::min(limit - 1, first + std::uniform_int_distribution<unsigned>(0, 3)(random));
    for (unsigned c = first; c <= last; ++c) set.add(c);
  }
  return set;
}

TEST(HandedReader, ReadsEveryVouchedLineTheCoreWritesWithTheEnginesValues) {
  std::mt19937 random(13);
  for (int i = 0; i < 2000; ++i) {
    HandedPlacement p;
    p.nranks = std::uniform_int_distribution<unsigned>(1, 65535)(random);
    p.rank = std::uniform_int_distribution<unsigned>(0, p.nranks - 1)(random);
    p.cpus = random_set(random, XEONPLACE_HANDED_MAX_CPUS, false);
    p.mems = random_set(random, XEONPLACE_HANDED_MAX_NODES, true);
    p.membind = std::vector<Membind>{Membind::Bind, Membind::Preferred, Membind::Interleave,
                                     Membind::None}[i % 4];
    p.pin = std::vector<Pin>{Pin::Process, Pin::Thread, Pin::None}[i % 3];
    p.source = i % 2 ? "xeonrun-spawn" : "";
    if (i % 3) p.env = {"OMP_NUM_THREADS", "KMP_AFFINITY"};
    p.inputs = "0123456789abcdef";
    expect_same_as_the_engine(format_handed_placement(p));
  }
}

TEST(HandedReader, LeavesEverythingElseToTheEngine) {
  const std::string head = "v1;rank=0;nranks=2;cpus=";
  const std::string tail = ";mems=0;membind=bind;pin=process;source=xeonrun-spawn;env=A";
  const std::string vouch = ";inputs=0123456789abcdef";
  // Accepted by the engine's parser, but not canonical or not vouched: not read here.
  for (const std::string& line :
       {head + "0" + tail, head + "0,1" + tail + vouch, head + "1-1" + tail + vouch,
        head + "01" + tail + vouch, head + "2,0" + tail + vouch, head + "0-1,2" + tail + vouch,
        head + "0" + tail + ",,B" + vouch, head + "0" + tail + ",B," + vouch,
        std::string("v1;rank=00;nranks=2;cpus=0") + tail + vouch}) {
    xeonplace_handed h{};
    EXPECT_TRUE(parse_handed_placement(line).ok()) << line;
    EXPECT_EQ(xeonplace_read_handed(line.c_str(), &h), 0) << line;
  }
  // Refused by the engine's parser: never read here either.
  for (const std::string& line :
       {std::string(""), std::string("v1"),
        std::string("v2;") + head.substr(3) + "0" + tail + vouch, head + tail + vouch,
        head + "3-1" + tail + vouch, head + "0" + tail + ";inputs=0123",
        head + "0" + tail + ";inputs=0123456789ABCDEF", head + "0" + tail + vouch + ";x=1",
        head + "8192" + tail + vouch, head + "0-" + tail + vouch, head + "0," + tail + vouch,
        std::string("v1;rank=2;nranks=2;cpus=0") + tail + vouch,
        std::string("v1;rank=0;nranks=0;cpus=0") + tail + vouch,
        std::string("v1;rank=0;nranks=99999999999;cpus=0") + tail + vouch,
        head + "0;mems=0;membind=bogus;pin=process;source=;env=" + vouch,
        head + "0;mems=0;membind=bind;pin=threads;source=;env=" + vouch,
        head + "0;mems=1024;membind=bind;pin=process;source=;env=" + vouch}) {
    xeonplace_handed h{};
    EXPECT_EQ(xeonplace_read_handed(line.c_str(), &h), 0) << line;
  }
}

// The front's check (src/shim/front.c, vouched_for): the environment's fingerprint with the line
// counted without its inputs field equals the field.
bool front_would_accept(const std::vector<std::string>& environment) {
  std::vector<const char*> envp;
  std::string line;
  for (const std::string& entry : environment) {
    envp.push_back(entry.c_str());
    if (line.empty() && entry.rfind("XEONRUN_PLACEMENT=", 0) == 0) line = entry.substr(18);
  }
  envp.push_back(nullptr);
  std::vector<std::string> context;
  for (const char* name : kLauncherContextVariables) context.push_back(std::string(name) + "=");
  std::vector<const char*> prefixes;
  for (const std::string& prefix : context) prefixes.push_back(prefix.c_str());
  xeonplace_handed h{};
  if (xeonplace_read_handed(line.c_str(), &h) == 0) return false;
  std::uint64_t sum = xeonplace_inputs_fingerprint(envp.data(), prefixes.data(), prefixes.size());
  sum -= xeonplace_entry_share(("XEONRUN_PLACEMENT=" + line).c_str());
  sum += xeonplace_entry_share(("XEONRUN_PLACEMENT=" + line.substr(0, h.vouched_size)).c_str());
  char text[XEONPLACE_FINGERPRINT_SIZE];
  xeonplace_format_fingerprint(sum, text);
  return text_of(h.inputs) == text;
}

// A machine of 2 nodes of 2 cores, as the spawner sees it before starting the ranks.
Facts new_process_facts() {
  Facts facts;
  facts.topology =
      parse_lscpu("# CPU,Core,Socket,Node\n0,0,0,0\n1,1,0,0\n2,2,1,1\n3,3,1,1\n", "lscpu:made-up");
  facts.inherited_affinity = *CpuSet::parse("0-3", "t");
  facts.allowed_mems = *CpuSet::parse("0-1", "t");
  facts.online_cpus = *CpuSet::parse("0-3", "t");
  facts.self_path = "/lib/libxeonplace.so";
  return facts;
}

std::vector<std::string> rank_environment(const EnvMap& env, const Decision& d) {
  EnvMap rank = env;
  for (const EnvVar& var : d.handoff) rank[var.name] = var.value;
  std::vector<std::string> out;
  for (const auto& [name, value] : rank) out.push_back(name + "=" + value);
  return out;
}

TEST(HandedReader, TheSpawnerVouchesForEachRanksInputsAndAnyChangeBreaksIt) {
  const EnvMap env = {{"XEONRUN_NINSTANCES", "2"},
                      {"XEONRUN_ALLOCATOR", "default"},
                      {"XEONRUN_OMP_RUNTIME", "default"},
                      {"LOCAL_RANK", "0"},
                      {"PATH", "/bin"}};
  Expected<RankDecisions> ranks = decide_ranks(new_process_facts(), env);
  ASSERT_TRUE(ranks.ok()) << ranks.error().message;
  ASSERT_FALSE(ranks->ranks.empty());  // the launcher's rank only (LOCAL_RANK)
  for (const Decision& d : ranks->ranks) {
    std::vector<std::string> environment = rank_environment(env, d);
    for (const std::string& entry : environment) {
      if (entry.rfind("XEONRUN_PLACEMENT=", 0) == 0) expect_same_as_the_engine(entry.substr(18));
    }
    EXPECT_TRUE(front_would_accept(environment));
    // Not an input: no effect. An input added, changed or repeated, or a launcher's context
    // variable: the word no longer holds, and the engine checks the configuration.
    environment.push_back("OMP_NUM_THREADS=7");
    EXPECT_TRUE(front_would_accept(environment));
    for (const char* added : {"XEONRUN_MODE=bogus", "XEONRUN_NINSTANCES=2", "LOCAL_RANK=1",
                              "OMPI_COMM_WORLD_LOCAL_RANK=0", "XEONRUN_DISABLE=0"}) {
      std::vector<std::string> changed = environment;
      changed.push_back(added);
      EXPECT_FALSE(front_would_accept(changed)) << added;
    }
  }
}

TEST(HandedReader, NoWordWhenTheSpawnerDoesNotApplyItAll) {
  for (const EnvMap& env :
       {EnvMap{{"XEONRUN_NINSTANCES", "2"}, {"XEONRUN_PIN", "thread"}},
        EnvMap{{"XEONRUN_NINSTANCES", "2"}, {"XEONRUN_PIN", "none"}},
        EnvMap{{"XEONRUN_NINSTANCES", "2"}, {"XEONRUN_MEMBIND", "preferred"}},
        EnvMap{{"XEONRUN_NINSTANCES", "2"}, {"XEONRUN_DRY_RUN", "1"}},
        EnvMap{{"XEONRUN_NINSTANCES", "2"}, {"XEONRUN_TOPOLOGY", "synthetic:core:4 pu:1"}}}) {
    Facts facts = new_process_facts();
    Expected<RankDecisions> ranks = decide_ranks(facts, env);
    ASSERT_TRUE(ranks.ok()) << ranks.error().message;
    for (const Decision& d : ranks->ranks) {
      for (const EnvVar& var : d.handoff) {
        if (var.name != "XEONRUN_PLACEMENT") continue;
        Expected<HandedPlacement> handed = parse_handed_placement(var.value);
        ASSERT_TRUE(handed.ok());
        EXPECT_EQ(handed->inputs, "") << var.value;
      }
    }
  }
  // membind none is confirmed without the memory policy: vouched for.
  Expected<RankDecisions> ranks =
      decide_ranks(new_process_facts(), {{"XEONRUN_NINSTANCES", "2"}, {"XEONRUN_MEMBIND", "none"}});
  ASSERT_TRUE(ranks.ok());
  for (const Decision& d : ranks->ranks) {
    for (const EnvVar& var : d.handoff) {
      if (var.name == "XEONRUN_PLACEMENT") {
        EXPECT_NE(var.value.find(";inputs="), std::string::npos);
      }
    }
  }
}

}  // namespace
}  // namespace xeonplace
