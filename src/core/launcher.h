// Local rank and local size as the common launchers announce them. Pure: reads an EnvMap.
// Precedence: kLaunchers' order (XEONRUN_RANK/XEONRUN_NINSTANCES come before all of them;
// parse_config handles that). A global rank (RANK, OMPI_COMM_WORLD_RANK,
// PMI_RANK, SLURM_PROCID) is never used as a local one: on several nodes it would slice one node's
// cores with a rank number that belongs to another node.
#pragma once

#include <optional>
#include <string>

#include "core/env_map.h"
#include "core/expected.h"

namespace xeonplace {

// The launcher variables whose presence means "this process is one rank of several": the library
// must act. Distinct, in the precedence order of kLaunchers (torchrun and DeepSpeed share
// LOCAL_RANK). The preloaded C front end (plain C) gets this list and kLauncherContextVariables
// through a header generated at build time (src/shim/launcher_variables_gen.cpp).
inline constexpr const char* kLauncherLocalRankVariables[] = {
    "LOCAL_RANK",                  // torchrun, DeepSpeed's launcher
    "HOROVOD_LOCAL_RANK",          // horovodrun (Gloo)
    "OMPI_COMM_WORLD_LOCAL_RANK",  // Open MPI
    "MV2_COMM_WORLD_LOCAL_RANK",   // MVAPICH2 mpirun_rsh
    "MVP_COMM_WORLD_LOCAL_RANK",   // MVAPICH 3 mpirun_rsh
    "MPI_LOCALRANKID",             // MPICH, Intel MPI, MVAPICH (hydra)
    "PALS_LOCAL_RANKID",           // HPE Cray PALS (aprun/mpiexec)
    "JSM_NAMESPACE_LOCAL_RANK",    // IBM/LSF jsrun
    "FLUX_TASK_LOCAL_ID",          // Flux
    "SLURM_LOCALID",               // Slurm srun
};

// The launcher context of a placement (core/decision.h, launcher_context): the local ranks and
// Slurm's step (an sbatch script has SLURM_LOCALID=0 but no step; each srun step has its own). A
// child that inherits a placement shares its parent's context; a rank that a placed mpirun, srun
// or torchrun agent started does not (issue #6, docs/launchers.md).
inline constexpr const char* kLauncherContextVariables[] = {
    "LOCAL_RANK",
    "HOROVOD_LOCAL_RANK",
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "MV2_COMM_WORLD_LOCAL_RANK",
    "MVP_COMM_WORLD_LOCAL_RANK",
    "MPI_LOCALRANKID",
    "PALS_LOCAL_RANKID",
    "JSM_NAMESPACE_LOCAL_RANK",
    "FLUX_TASK_LOCAL_ID",
    "SLURM_LOCALID",
    "SLURM_STEP_ID",
};

// The launchers, by identity; to_string() gives the name logs and docs show.
enum class Launcher {
  None,
  Torchrun,
  DeepSpeed,
  Horovod,
  OpenMpi,
  Mvapich2,
  Mvapich3,
  Mpich,
  CrayPals,
  Jsrun,
  Flux,
  Slurm
};

// How a launcher announces the local size: in one variable of its own (Pair), as Slurm's per-node
// task list (Slurm), or only as the job's size on a one-node job (Flux).
enum class SizeSource { Pair, Slurm, Flux, None };

struct LauncherSpec {
  Launcher id;
  const char* name;
  const char* rank_variable;
  const char* size_variable;   // the variable read for SizeSource::Pair; nullptr otherwise
  const char* size_variables;  // where the local size comes from, as documented
  SizeSource size_source;
  bool binds_by_default;
};

// The launchers in precedence order (docs/launchers.md, "Which rank am I"), for detection and for
// the generated documentation. The first one whose rank variable is present wins: the innermost
// launcher comes first, so torchrun inside a Slurm allocation is torchrun, mpirun inside sbatch is
// Open MPI, a Flux instance started by srun is Flux. torchrun and DeepSpeed's launcher both set
// LOCAL_RANK: DeepSpeed is recognised by its LOCAL_SIZE when LOCAL_WORLD_SIZE is absent.
inline constexpr LauncherSpec kLaunchers[] = {
    {Launcher::Torchrun, "torchrun", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "LOCAL_WORLD_SIZE",
     SizeSource::Pair, false},
    {Launcher::DeepSpeed, "DeepSpeed", "LOCAL_RANK", "LOCAL_SIZE",
     "LOCAL_SIZE (when LOCAL_WORLD_SIZE is absent)", SizeSource::Pair, false},
    {Launcher::Horovod, "Horovod", "HOROVOD_LOCAL_RANK", "HOROVOD_LOCAL_SIZE", "HOROVOD_LOCAL_SIZE",
     SizeSource::Pair, false},
    {Launcher::OpenMpi, "Open MPI", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE",
     "OMPI_COMM_WORLD_LOCAL_SIZE", SizeSource::Pair, true},
    {Launcher::Mvapich2, "MVAPICH2", "MV2_COMM_WORLD_LOCAL_RANK", "MV2_COMM_WORLD_LOCAL_SIZE",
     "MV2_COMM_WORLD_LOCAL_SIZE", SizeSource::Pair, false},
    {Launcher::Mvapich3, "MVAPICH 3", "MVP_COMM_WORLD_LOCAL_RANK", nullptr,
     "unknown (none found in its sources)", SizeSource::None, false},
    {Launcher::Mpich, "MPICH/Intel MPI", "MPI_LOCALRANKID", "MPI_LOCALNRANKS", "MPI_LOCALNRANKS",
     SizeSource::Pair, false},
    {Launcher::CrayPals, "Cray PALS", "PALS_LOCAL_RANKID", "PALS_LOCAL_SIZE", "PALS_LOCAL_SIZE",
     SizeSource::Pair, false},
    {Launcher::Jsrun, "jsrun", "JSM_NAMESPACE_LOCAL_RANK", "JSM_NAMESPACE_LOCAL_SIZE",
     "JSM_NAMESPACE_LOCAL_SIZE", SizeSource::Pair, false},
    {Launcher::Flux, "Flux", "FLUX_TASK_LOCAL_ID", nullptr, "FLUX_JOB_SIZE when FLUX_JOB_NNODES=1",
     SizeSource::Flux, false},
    {Launcher::Slurm, "Slurm", "SLURM_LOCALID", nullptr,
     "SLURM_STEP_TASKS_PER_NODE at SLURM_NODEID, else SLURM_TASKS_PER_NODE, else SLURM_NTASKS "
     "when SLURM_NNODES=1",
     SizeSource::Slurm, true},
};

struct LauncherRank {
  Launcher launcher = Launcher::None;
  unsigned local_rank = 0;
  std::optional<unsigned> local_nranks;
  bool binds_by_default = false;  // Open MPI and Slurm (task/affinity) bind each rank
  std::string rank_variable;      // where local_rank came from, e.g. "OMPI_COMM_WORLD_LOCAL_RANK"
  std::string size_variable;      // where local_nranks came from ("" when unknown)
};

// kLaunchers' name ("torchrun", "Open MPI", …); "" for None.
const char* to_string(Launcher launcher);

// nullopt when no launcher variable is present; an Error naming the launcher variable when one is
// present but malformed.
Expected<std::optional<LauncherRank>> detect_launcher(const EnvMap& env);

// SLURM_STEP_TASKS_PER_NODE ("2(x3),1": counts, each with an optional "(xN)" repeat) indexed by
// SLURM_NODEID. `variable` names the input in errors (SLURM_TASKS_PER_NODE is the same format).
Expected<unsigned> slurm_tasks_on_node(const std::string& tasks_per_node, unsigned node_id,
                                       const std::string& variable = "SLURM_STEP_TASKS_PER_NODE");

}  // namespace xeonplace
