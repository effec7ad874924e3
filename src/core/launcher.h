// Local rank and local size as the common launchers announce them. Pure: reads an EnvMap.
// Precedence: torchrun, Open MPI, MPICH/Intel MPI, Slurm. A global rank is never used as a
// local one.
#pragma once

#include <optional>
#include <string>

#include "core/env_map.h"
#include "core/expected.h"

namespace xeonplace {

struct LauncherRank {
  std::string launcher;  // "torchrun", "Open MPI", "MPICH/Intel MPI", "Slurm"
  unsigned local_rank = 0;
  std::optional<unsigned> local_size;
  bool binds_by_default = false;  // Open MPI (-np <= 2) and Slurm task/affinity bind each rank
};

// nullopt when no launcher variable is present; an Error when one is present but malformed.
Expected<std::optional<LauncherRank>> detect_launcher(const EnvMap& env);

// SLURM_STEP_TASKS_PER_NODE ("2(x3),1") indexed by SLURM_NODEID.
Expected<unsigned> slurm_tasks_on_node(const std::string& tasks_per_node, unsigned node_id);

}  // namespace xeonplace
