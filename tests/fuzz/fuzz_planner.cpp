// plan() over arbitrary small topologies and configurations. The topology is built from the input
// (PUs with any core/package/node numbering, offline and disallowed PUs, efficient cores, CPU-less
// and disallowed nodes); the configuration goes through parse_config as the library's would, so
// only configurations a user can actually write are planned. Invariants: every planned rank has
// CPUs, all usable, ranks never share a CPU, no more ranks than planned slots, a rank's memory
// nodes exist and are allowed.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/options.h"
#include "core/planner.h"
#include "core/topology.h"
#include "fuzz_common.h"
#include "fuzz_topology.h"

using xeonplace::CpuSet;
using xeonplace::fuzz::require;
using xeonplace::fuzz::require_one_line;

namespace {

xeonplace::Topology topology_from(FuzzedDataProvider& input) {
  xeonplace::Topology topology;
  topology.source = "fuzz";
  const unsigned npus = input.ConsumeIntegralInRange<unsigned>(1, 40);
  const unsigned nnodes = input.ConsumeIntegralInRange<unsigned>(1, 6);
  unsigned cpu = input.ConsumeIntegralInRange<unsigned>(0, 3);
  for (unsigned i = 0; i < npus; ++i) {
    xeonplace::Pu pu;
    pu.cpu = cpu;
    pu.core = input.ConsumeIntegralInRange<unsigned>(0, npus);
    pu.package = input.ConsumeIntegralInRange<unsigned>(0, 3);
    pu.node = input.ConsumeIntegralInRange<unsigned>(0, nnodes - 1);
    const std::uint8_t flags = input.ConsumeIntegral<std::uint8_t>();
    pu.kind =
        (flags & 0x03) == 0x03 ? xeonplace::CpuKind::Efficient : xeonplace::CpuKind::Performance;
    pu.online = (flags & 0x1c) != 0x1c;
    pu.allowed = (flags & 0xe0) != 0xe0;
    topology.pus.push_back(pu);
    cpu += input.ConsumeIntegralInRange<unsigned>(1, 3);
  }
  // Nodes beyond the PUs' are CPU-less memory (HBM, CXL); any node may be disallowed.
  const unsigned listed = nnodes + input.ConsumeIntegralInRange<unsigned>(0, 2);
  for (unsigned id = 0; id < listed; ++id) {
    xeonplace::NumaNode node;
    node.id = id;
    node.allowed = input.ConsumeIntegralInRange<unsigned>(0, 7) != 0;
    topology.nodes.push_back(node);
  }
  // The kernel always leaves a process at least one memory node (cpuset.mems is never empty).
  bool any_allowed = false;
  for (const auto& node : topology.nodes) any_allowed = any_allowed || node.allowed;
  if (!any_allowed) topology.nodes.front().allowed = true;
  topology.finalize();
  return topology;
}

std::string small_list(FuzzedDataProvider& input, unsigned max_id) {
  CpuSet set;
  const unsigned n = input.ConsumeIntegralInRange<unsigned>(0, 6);
  for (unsigned i = 0; i < n; ++i) set.add(input.ConsumeIntegralInRange<unsigned>(0, max_id));
  return set.format();
}

xeonplace::EnvMap env_from(FuzzedDataProvider& input, unsigned max_cpu) {
  static const char* const kModes[] = {"latency", "throughput", "multi-instance"};
  xeonplace::EnvMap env;
  const std::uint16_t present = input.ConsumeIntegral<std::uint16_t>();
  auto number = [&](unsigned max) { return std::to_string(input.ConsumeIntegralInRange(0U, max)); };
  if (present & 0x001) env["XEONRUN_RANK"] = number(12);
  if (present & 0x002) env["XEONRUN_NINSTANCES"] = number(12);
  if (present & 0x004) {
    std::string counts = number(12);
    if (input.ConsumeBool()) counts += "," + number(12) + "," + number(12);
    env["XEONRUN_NCORES_PER_INSTANCE"] = counts;
  }
  if (present & 0x008) env["XEONRUN_CORE_LIST"] = small_list(input, max_cpu + 2);
  if (present & 0x010) env["XEONRUN_NODE_ID"] = number(7);
  if (present & 0x020) env["XEONRUN_MEM_NODES"] = small_list(input, 8);
  if (present & 0x040) env["XEONRUN_USE_LOGICAL_CORE"] = "1";
  if (present & 0x080) env["XEONRUN_SKIP_CROSS_NODE_CORES"] = "1";
  if (present & 0x100) env["XEONRUN_USE_EFFICIENT_CORES"] = "1";
  if (present & 0x200) env["XEONRUN_MODE"] = kModes[input.ConsumeIntegralInRange(0, 2)];
  // Launcher variables instead of XEONRUN_RANK/NINSTANCES, as under torchrun.
  if (present & 0x400) {
    env["LOCAL_RANK"] = number(8);
    env["LOCAL_WORLD_SIZE"] = number(8);
  }
  return env;
}

void check_plan(const xeonplace::Topology& topology, const xeonplace::Config& config,
                const xeonplace::Plan& plan) {
  if (config.rank) {
    require(plan.ranks.size() == 1, "a rank was asked for but not exactly one planned");
    require(plan.ranks[0].rank == *config.rank && *config.rank < plan.nranks, "wrong rank planned");
  } else {
    require(plan.ranks.size() == plan.nranks, "not every rank planned");
  }
  require(plan.nranks >= 1, "a plan without ranks");
  require(plan.nranks <= topology.allowed_cpus.count(), "more ranks than usable CPUs");
  CpuSet taken;
  for (const xeonplace::RankPlacement& rank : plan.ranks) {
    const std::string who = "rank " + std::to_string(rank.rank) + " cpus " + rank.cpus.format();
    require(!rank.cpus.empty(), "rank without CPUs", who);
    require(rank.cpus.is_subset_of(topology.allowed_cpus), "rank on an unusable CPU",
            who + " allowed " + topology.allowed_cpus.format());
    require((rank.cpus & taken).empty(), "two ranks share a CPU", who);
    taken = taken | rank.cpus;
    require(rank.omp_threads >= 1 && rank.omp_threads <= rank.cpus.count(),
            "OpenMP threads outside 1..CPUs", who + " threads " + std::to_string(rank.omp_threads));
    require(!rank.mems.empty(), "rank without memory nodes", who);
    require(rank.mems.is_subset_of(topology.allowed_mems), "rank bound to a disallowed node",
            who + " mems " + rank.mems.format() + " allowed " + topology.allowed_mems.format());
    if (config.core_list && config.mode != xeonplace::Mode::Latency &&
        config.mode != xeonplace::Mode::Throughput) {
      require(rank.cpus.is_subset_of(*config.core_list), "rank outside XEONRUN_CORE_LIST", who);
    }
    if (config.mem_nodes) require(rank.mems == *config.mem_nodes, "XEONRUN_MEM_NODES not used");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const xeonplace::Topology topology = topology_from(input);
  xeonplace::fuzz::check_topology(topology);
  const unsigned max_cpu = topology.pus.back().cpu;
  const xeonplace::EnvMap env = env_from(input, max_cpu);

  auto config = xeonplace::parse_config(env);
  if (!config) {
    require_one_line(config.error());
    return 0;
  }
  auto plan = xeonplace::plan(topology, *config);
  if (!plan) {
    require_one_line(plan.error());
    return 0;
  }
  check_plan(topology, *config, *plan);
  return 0;
}
