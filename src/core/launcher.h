// Local rank and local size as the common launchers announce them. Pure: reads an EnvMap.
// Precedence: torchrun, Open MPI, MPICH/Intel MPI, Slurm (XEONRUN_RANK/XEONRUN_NINSTANCES come
// before all of them; parse_config handles that). A global rank (RANK, OMPI_COMM_WORLD_RANK,
// PMI_RANK, SLURM_PROCID) is never used as a local one: on several nodes it would slice one node's
// cores with a rank number that belongs to another node.
#pragma once

#include <optional>
#include <string>

#include "core/env_map.h"
#include "core/expected.h"

namespace xeonplace {

// The launcher variables whose presence means "this process is one rank of several": the library
// must act. The preloaded C front end (plain C) gets this list and kLauncherContextVariables
// through a header generated at build time (src/shim/launcher_variables_gen.cpp).
inline constexpr const char* kLauncherLocalRankVariables[] = {
    "LOCAL_RANK",                  // torchrun
    "OMPI_COMM_WORLD_LOCAL_RANK",  // Open MPI
    "MPI_LOCALRANKID",             // MPICH, Intel MPI (hydra)
    "SLURM_LOCALID",               // Slurm srun
};

// The launcher context of a placement (core/decision.h, launcher_context): the local ranks and
// Slurm's step (an sbatch script has SLURM_LOCALID=0 but no step; each srun step has its own). A
// child that inherits a placement shares its parent's context; a rank that a placed mpirun, srun
// or torchrun agent started does not (issue #6, docs/launchers.md).
inline constexpr const char* kLauncherContextVariables[] = {
    "LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID", "SLURM_STEP_ID",
};

// The launchers in precedence order, for detection and for the generated documentation. The first
// one whose rank variable is present wins: torchrun inside a Slurm allocation is torchrun, mpirun
// inside sbatch is Open MPI.
// The launchers, by identity; to_string() gives the name logs and docs show.
enum class Launcher { None, Torchrun, OpenMpi, Mpich, Slurm };

struct LauncherSpec {
  Launcher id;
  const char* name;
  const char* rank_variable;
  const char* size_variables;  // where the local size comes from, as documented
  bool binds_by_default;
};
inline constexpr LauncherSpec kLaunchers[] = {
    {Launcher::Torchrun, "torchrun", "LOCAL_RANK", "LOCAL_WORLD_SIZE", false},
    {Launcher::OpenMpi, "Open MPI", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE", true},
    {Launcher::Mpich, "MPICH/Intel MPI", "MPI_LOCALRANKID", "MPI_LOCALNRANKS", false},
    {Launcher::Slurm, "Slurm", "SLURM_LOCALID",
     "SLURM_STEP_TASKS_PER_NODE at SLURM_NODEID, else SLURM_TASKS_PER_NODE, else SLURM_NTASKS "
     "when SLURM_NNODES=1",
     true},
};

struct LauncherRank {
  Launcher launcher = Launcher::None;
  unsigned local_rank = 0;
  std::optional<unsigned> local_nranks;
  bool binds_by_default = false;  // Open MPI and Slurm (task/affinity) bind each rank
  std::string rank_variable;      // where local_rank came from, e.g. "OMPI_COMM_WORLD_LOCAL_RANK"
  std::string size_variable;      // where local_nranks came from ("" when unknown)
};

// "torchrun", "Open MPI", "MPICH/Intel MPI", "Slurm"; "" for None.
const char* to_string(Launcher launcher);

// nullopt when no launcher variable is present; an Error naming the launcher variable when one is
// present but malformed.
Expected<std::optional<LauncherRank>> detect_launcher(const EnvMap& env);

// SLURM_STEP_TASKS_PER_NODE ("2(x3),1": counts, each with an optional "(xN)" repeat) indexed by
// SLURM_NODEID. `variable` names the input in errors (SLURM_TASKS_PER_NODE is the same format).
Expected<unsigned> slurm_tasks_on_node(const std::string& tasks_per_node, unsigned node_id,
                                       const std::string& variable = "SLURM_STEP_TASKS_PER_NODE");

}  // namespace xeonplace
