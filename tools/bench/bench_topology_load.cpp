// Time to discover this machine: hwloc with its defaults vs xeonplace's lean live loader.
// Usage: bench_topology_load [LOADS]   (default 20; prints the first load and the median)
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
  if (run_default) report("hwloc defaults", hwloc_default_load, loads);
  return 0;
}
