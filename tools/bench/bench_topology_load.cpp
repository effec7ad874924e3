// Time to discover this machine: hwloc with its defaults vs xeonplace's lean live loader.
// Usage: bench_topology_load [LOADS]   (default 20; prints the first load and the median)
// BENCH_ONLY=l3: the lean hwloc load with and without L3 caches, alternating (docs/design.md §12).
// The first load of a process also pays hwloc's one-time component setup (plugin dlopen), which
// is what a preloaded library pays once per process.
#include <hwloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string_view>
#include <vector>

#include "sys/hwloc_topology.h"
#include "sys/topology_source.h"

namespace {

double milliseconds(const std::function<void()>& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  const auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(stop - start).count();
}

void hwloc_default_load() {
  hwloc_topology_t topology = nullptr;
  if (hwloc_topology_init(&topology) != 0 || hwloc_topology_load(topology) != 0) {
    std::fprintf(stderr, "bench_topology_load: hwloc default load failed\n");
    std::exit(1);
  }
  hwloc_topology_destroy(topology);
}

void lean_load() {
  if (!xeonplace::load_live_topology(xeonplace::LiveScope::CgroupAndAffinity).ok()) {
    std::fprintf(stderr, "bench_topology_load: lean load failed\n");
    std::exit(1);
  }
}

// The lean hwloc load alone (no cgroup reading, no conversion), with or without the L3 caches the
// planner's cache domains need (docs/design.md §12): their difference is what keeping L3 costs.
void lean_hwloc_load(bool keep_l3) {
  hwloc_topology_t topology = nullptr;
  if (hwloc_topology_init(&topology) != 0) std::exit(1);
  xeonplace::configure_lean_discovery(topology, true);
  if (!keep_l3)
    hwloc_topology_set_type_filter(topology, HWLOC_OBJ_L3CACHE, HWLOC_TYPE_FILTER_KEEP_NONE);
  if (hwloc_topology_load(topology) != 0) {
    std::fprintf(stderr, "bench_topology_load: lean hwloc load failed\n");
    std::exit(1);
  }
  hwloc_topology_destroy(topology);
}

void report(const char* name, const std::function<void()>& work, int loads) {
  std::vector<double> times;
  for (int i = 0; i < loads; ++i) times.push_back(milliseconds(work));
  const double first = times.front();
  std::sort(times.begin(), times.end());
  std::printf("%-28s first %7.3f ms   median of %d %7.3f ms   min %7.3f ms\n", name, first, loads,
              times[times.size() / 2], times.front());
}

}  // namespace

int main(int argc, char** argv) {
  const int loads = argc > 1 ? std::atoi(argv[1]) : 20;
  if (loads < 1) {
    std::fprintf(stderr, "bench_topology_load: LOADS must be a positive number\n");
    return 2;
  }
  // Run one order per process when comparing first loads: the second one finds hwloc set up.
  const char* only = std::getenv("BENCH_ONLY");
  const bool run_default = only == nullptr || std::string_view(only) == "default";
  const bool run_lean = only == nullptr || std::string_view(only) == "lean";
  if (run_lean) report("xeonplace lean live loader", lean_load, loads);
  // BENCH_ONLY=l3: the lean hwloc load with and without L3, alternating run by run.
  if (only != nullptr && std::string_view(only) == "l3") {
    std::vector<double> with, without;
    for (int i = 0; i < loads; ++i) {
      without.push_back(milliseconds([] { lean_hwloc_load(false); }));
      with.push_back(milliseconds([] { lean_hwloc_load(true); }));
    }
    std::sort(with.begin(), with.end());
    std::sort(without.begin(), without.end());
    std::printf("lean hwloc load, no L3        median of %d %7.3f ms\n", loads,
                without[without.size() / 2]);
    std::printf("lean hwloc load, L3 kept      median of %d %7.3f ms\n", loads,
                with[with.size() / 2]);
  }
  if (run_default) report("hwloc defaults", hwloc_default_load, loads);
  return 0;
}
