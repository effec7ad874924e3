// plan(topology, config): where every rank goes. Pure: no syscalls, so every topology anyone can
// imagine is a unit test. Follows run_cpu's semantics, correct where run_cpu is wrong (README).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/cpuset.h"
#include "core/env_map.h"
#include "core/expected.h"
#include "core/options.h"
#include "core/topology.h"

namespace xeonplace {

struct RankPlacement {
  unsigned rank = 0;
  CpuSet cpus;               // OS indices this rank runs on
  CpuSet mems;               // memory nodes (numactl -m)
  unsigned omp_threads = 0;  // OMP_NUM_THREADS: its CPUs less the helper cores'
  CpuSet helper_cpus;        // XEONRUN_HELPER_CORES: its last cores, kept for helper threads
  std::string domain;        // the smallest domain holding its CPUs: "l3:2", "numa:0", ...
  std::vector<EnvVar> env;   // runtime variables to export (OMP_*, KMP_*; libraries come in #4)
  std::vector<std::string> warnings;  // e.g. "rank 1 spans NUMA nodes 0,1"
};

struct Plan {
  unsigned nranks = 0;                // ranks in the whole plan
  std::vector<RankPlacement> ranks;   // every rank, or only config.rank when it is set
  std::vector<std::string> warnings;  // plan-wide, e.g. run_cpu's "only first N cores used"
  std::vector<std::string> info;      // plan-wide, logged at info: the CPU quota's cap
};

Expected<Plan> plan(const Topology& topology, const Config& config);

// Whether ranks get SMT siblings too: XEONRUN_USE_LOGICAL_CORE, except in latency and throughput
// mode, which always plan physical cores (as run_cpu).
bool plans_logical_cores(const Config& config);

}  // namespace xeonplace
