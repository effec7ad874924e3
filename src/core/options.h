// The XEONRUN_* contract (DESIGN §4) as one declarative table. The same table parses an
// environment into a Config, generates xeonrun-spawn's --help and the README's variable table, and
// maps run_cpu's command-line flags onto variables, so the CLI and the library can never disagree.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/cpuset.h"
#include "core/env_map.h"
#include "core/expected.h"

namespace xeonplace {

enum class Mode { Default, Latency, Throughput, MultiInstance };
enum class Allocator { Auto, Tcmalloc, Jemalloc, Mimalloc, Default };
enum class OmpRuntime { Intel, Default };
enum class Membind { Bind, Preferred, Interleave, None };
enum class Pin { Process, Thread, None };
enum class OnError { Abort, Warn };
enum class LogLevel { Debug, Info, Warn, Error, Off };
// What to do when the launcher already bound this rank to some CPUs (issue #6).
//   Auto:    if the launcher binds by default (Open MPI, Slurm) and the inherited affinity looks
//            like that default binding, plan over the cgroup-allowed set; otherwise as Respect.
//   Respect: keep the inherited binding: plan inside it.
//   Replace: always plan over the cgroup-allowed set.
enum class BindPolicy { Auto, Respect, Replace };

// Where the rank and the number of ranks came from, so logs can say it.
struct RankSource {
  std::string name;  // "XEONRUN_RANK", "torchrun", "Open MPI", "MPICH/Intel MPI", "Slurm", ""
  bool launcher_binds_by_default = false;  // Open MPI and Slurm bind ranks unless told not to
  std::string launcher;  // the launcher detected from the environment, even when XEONRUN_RANK won
};

struct Config {
  std::optional<unsigned> rank;               // this process's rank; unset: plan every rank
  std::optional<unsigned> ninstances;         // ranks sharing this machine
  std::vector<unsigned> ncores_per_instance;  // empty: unset; one: uniform; several: per rank
  std::optional<CpuSet> core_list;            // restrict to these CPUs
  std::optional<unsigned> node_id;            // restrict to one NUMA node
  std::optional<CpuSet> mem_nodes;            // memory nodes instead of the CPUs' own nodes
  bool use_logical_core = false;
  bool skip_cross_node_cores = false;
  bool use_efficient_cores = false;
  Mode mode = Mode::Default;
  Allocator allocator = Allocator::Auto;
  // XEONRUN_ALLOCATOR=/abs/path/libX.so: preload exactly this file. `allocator` is then the kind
  // recognised from the file name (jemalloc, tcmalloc, mimalloc), Auto when not recognised.
  std::string allocator_path;
  OmpRuntime omp_runtime = OmpRuntime::Intel;
  std::string omp_runtime_path;  // XEONRUN_OMP_RUNTIME=/abs/path/libomp.so.5 (omp_runtime: Intel)
  Membind membind = Membind::Bind;
  Pin pin = Pin::Process;
  LogLevel log_level = LogLevel::Warn;
  std::string log_file;
  std::string topology;  // "", "lscpu:FILE", "xml:FILE", "synthetic:DESC"
  bool dry_run = false;
  OnError on_error = OnError::Abort;
  bool disable = false;
  BindPolicy bind_policy = BindPolicy::Auto;
  RankSource rank_source;
};

enum class OptionType { Integer, IntegerList, Boolean, Choice, IdList, Text };

// One row of the contract. `parse` validates one value and stores it in the Config; its errors
// name spec.variable, the value and spec.accepted.
struct OptionSpec {
  const char* variable;  // "XEONRUN_RANK"
  OptionType type;
  const char* default_text;  // as shown in --help and the README
  const char* accepted;      // what a valid value looks like, quoted in errors
  const char* help;          // one line
  Status (*parse)(const OptionSpec& spec, const std::string& value, Config& config);
};

const std::vector<OptionSpec>& option_table();
const OptionSpec* find_option(const std::string& variable);

// Variables the library itself exports after placing (read by xeonplace.h and children). They are
// documented, never parsed as inputs: every name under these prefixes is accepted and ignored.
struct OutputSpec {
  const char* variable;  // "XEONRUN_PLACED_CPUS", or a prefix pattern "XEONRUN_REEXEC_*"
  const char* help;
};
inline constexpr const char* kOutputPrefixes[] = {"XEONRUN_PLACED_", "XEONRUN_REEXEC_"};
const std::vector<OutputSpec>& output_table();
bool is_output_variable(const std::string& name);

// The known input whose name is closest (edit distance) to `name`.
const char* closest_variable(const std::string& name);

// run_cpu's command-line flags, each mapped onto one variable of the table.
struct FlagSpec {
  const char* flag;  // dash spelling, e.g. "--ncores-per-instance"; the underscore one is derived
  const char* variable;  // the XEONRUN_* variable it sets
  const char* value;     // fixed value for a switch ("latency"); nullptr when the flag takes one
  const char* help;
};
const std::vector<FlagSpec>& flag_table();
// The flag spelt `arg` ("--ncores-per-instance" or "--ncores_per_instance", without "=value");
// nullptr when it is not a placement flag.
const FlagSpec* flag_for(std::string arg);

// Parses every XEONRUN_* variable of `env` (unknown XEONRUN_* names are an error, with the closest
// known name), then fills rank/ninstances from the launcher variables when not given explicitly.
Expected<Config> parse_config(const EnvMap& env);

// Text generated from the table.
std::string variables_help_text();       // for --help
std::string variables_markdown_table();  // for README.md, between the variables markers
std::string flags_help_text();           // run_cpu's flags and the variable each sets

const char* to_string(Mode);
const char* to_string(Allocator);
const char* to_string(OmpRuntime);
const char* to_string(Membind);
const char* to_string(Pin);
const char* to_string(LogLevel);
const char* to_string(OnError);
const char* to_string(BindPolicy);

}  // namespace xeonplace
