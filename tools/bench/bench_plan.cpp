// bench_plan: how long plan() takes to place every rank on machines from 2 to 960 PUs.
// Not a test: it prints figures (issue #2 asks for <= 5 ms on the largest machine and growth no
// worse than linear). Topologies are built in code, numbered like Linux numbers a Xeon: first
// threads of every core, then their siblings.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/planner.h"
#include "core/topology.h"

namespace {

using xeonplace::Config;
using xeonplace::Mode;
using xeonplace::Topology;

struct Machine {
  unsigned packages, cores_per_package, threads_per_core, nodes;
};

Topology build(const Machine& m) {
  Topology t;
  t.source = "synthetic benchmark machine";
  const unsigned cores = m.packages * m.cores_per_package;
  const unsigned cores_per_node = cores / m.nodes;
  for (unsigned thread = 0; thread < m.threads_per_core; ++thread) {
    for (unsigned core = 0; core < cores; ++core) {
      xeonplace::Pu pu;
      pu.cpu = thread * cores + core;
      pu.core = core;
      pu.package = core / m.cores_per_package;
      pu.node = core / cores_per_node;
      t.pus.push_back(pu);
    }
  }
  t.finalize();
  return t;
}

struct Result {
  unsigned ranks = 0;
  double median_us = 0;
};

Result measure(const Topology& topology, const Config& config) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> samples;
  unsigned ranks = 0;
  // At least 51 repetitions, and about 0.2 s per case, so that the median is stable on a busy box.
  const auto budget = std::chrono::milliseconds(200);
  const auto start = Clock::now();
  while (samples.size() < 51 || (Clock::now() - start < budget && samples.size() < 20001)) {
    const auto t0 = Clock::now();
    auto plan = xeonplace::plan(topology, config);
    const auto t1 = Clock::now();
    if (!plan) {
      std::fprintf(stderr, "bench_plan: %s\n", plan.error().message.c_str());
      std::exit(1);
    }
    ranks = plan->nranks;
    samples.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
  return {ranks, samples[samples.size() / 2]};
}

}  // namespace

int main() {
  const std::vector<Machine> machines = {
      {1, 1, 2, 1},   {1, 4, 2, 1},  {2, 4, 2, 2},   {2, 16, 2, 2},  {2, 28, 2, 2},
      {4, 16, 2, 16}, {2, 60, 2, 4}, {4, 60, 2, 16}, {8, 60, 2, 32},
  };
  struct Case {
    const char* name;
    Config config;
  };
  std::vector<Case> cases;
  {
    Config latency;
    latency.mode = Mode::Latency;
    cases.push_back({"latency", latency});
    Config throughput;
    throughput.mode = Mode::Throughput;
    cases.push_back({"throughput", throughput});
    Config logical;
    logical.use_logical_core = true;
    logical.ncores_per_instance = {2};
    cases.push_back({"logical,ncores=2", logical});
  }

  std::printf("%-22s %5s %6s  %-17s %6s %10s %9s\n", "machine", "PUs", "nodes", "mode", "ranks",
              "median_us", "us_per_PU");
  for (const Machine& m : machines) {
    const Topology topology = build(m);
    const std::string shape = std::to_string(m.packages) + "x" +
                              std::to_string(m.cores_per_package) + "x" +
                              std::to_string(m.threads_per_core);
    for (const Case& c : cases) {
      if (c.config.mode == Mode::Latency && m.packages * m.cores_per_package < 4) continue;
      const Result r = measure(topology, c.config);
      std::printf("%-22s %5zu %6u  %-17s %6u %10.1f %9.3f\n", shape.c_str(), topology.pus.size(),
                  m.nodes, c.name, r.ranks, r.median_us,
                  r.median_us / static_cast<double>(topology.pus.size()));
    }
  }
  return 0;
}
