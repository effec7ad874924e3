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

// Where the rank and the number of ranks came from, so logs can say it.
struct RankSource {
  std::string name;  // "XEONRUN_RANK", "torchrun", "Open MPI", "MPICH/Intel MPI", "Slurm", ""
  bool launcher_binds_by_default = false;  // Open MPI and Slurm bind ranks unless told not to
};

struct Config {
  std::optional<unsigned> rank;        // this process's rank; unset: plan every rank
  std::optional<unsigned> ninstances;  // ranks sharing this machine
  std::vector<unsigned> ncores_per_instance;  // empty: unset; one: uniform; several: per rank
  std::optional<CpuSet> core_list;            // restrict to these CPUs
  std::optional<unsigned> node_id;            // restrict to one NUMA node
  std::optional<CpuSet> mem_nodes;            // memory nodes instead of the CPUs' own nodes
  bool use_logical_core = false;
  bool skip_cross_node_cores = false;
  bool use_efficient_cores = false;
  Mode mode = Mode::Default;
  Allocator allocator = Allocator::Auto;
  OmpRuntime omp_runtime = OmpRuntime::Intel;
  Membind membind = Membind::Bind;
  Pin pin = Pin::Process;
  LogLevel log_level = LogLevel::Warn;
  std::string log_file;
  std::string topology;  // "", "lscpu:FILE", "xml:FILE", "synthetic:DESC"
  bool dry_run = false;
  OnError on_error = OnError::Abort;
  bool disable = false;
  RankSource rank_source;
};

enum class OptionType { Integer, IntegerList, Boolean, Choice, IdList, Text };

// One row of the contract. `parse` validates one value and stores it in the Config.
struct OptionSpec {
  const char* variable;        // "XEONRUN_RANK"
  OptionType type;
  const char* default_text;    // as shown in --help and the README
  const char* accepted;        // what a valid value looks like, quoted in errors
  const char* help;            // one line
  Status (*parse)(const std::string& value, Config& config);
};

const std::vector<OptionSpec>& option_table();
const OptionSpec* find_option(const std::string& variable);

// run_cpu's command-line flags, each mapped onto one variable of the table.
struct FlagSpec {
  const char* flag;      // dash spelling, e.g. "--ncores-per-instance"; the underscore one is derived
  const char* variable;  // the XEONRUN_* variable it sets
  const char* value;     // fixed value for a switch ("latency"); nullptr when the flag takes one
  const char* help;
};
const std::vector<FlagSpec>& flag_table();

// Any XEONRUN_* input or launcher local rank present: the library must act.
bool placement_requested(const EnvMap& env);

// Parses every XEONRUN_* variable of `env` (unknown XEONRUN_* names are an error, with the closest
// known name), then fills rank/ninstances from the launcher variables when not given explicitly.
Expected<Config> parse_config(const EnvMap& env);

// Text generated from the table.
std::string variables_help_text();      // for --help
std::string variables_markdown_table(); // for README.md

const char* to_string(Mode);
const char* to_string(Allocator);
const char* to_string(OmpRuntime);
const char* to_string(Membind);
const char* to_string(Pin);
const char* to_string(LogLevel);

}  // namespace xeonplace
