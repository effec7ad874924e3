// The XEONRUN_* contract (design.md §8) as one declarative table. The same table parses an
// environment into a Config, generates xeonrun-spawn's --help and the README's variable table, and
// maps run_cpu's command-line flags onto variables, so the CLI and the library can never disagree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/cpuset.h"
#include "core/env_map.h"
#include "core/expected.h"
#include "core/launcher.h"

namespace xeonplace {

enum class Mode { Default, Latency, Throughput, MultiInstance };
enum class Allocator { Auto, Tcmalloc, Jemalloc, Mimalloc, Default };
enum class OmpRuntime { Intel, Default };
// PreferredMany: MPOL_PREFERRED_MANY over the rank's memory-tier nodes (CPU-less HBM or CXL nodes),
// falling back to the others (Linux 5.15+); WeightedInterleave: MPOL_WEIGHTED_INTERLEAVE over the
// rank's nodes and their memory-tier nodes, by the kernel's node weights (Linux 6.9+).
enum class Membind { Bind, Preferred, Interleave, None, PreferredMany, WeightedInterleave };
enum class Pin { Process, Thread, None };
// Which thread pools get the rank's thread count (issue #15): every pool that reads a variable
// (BLAS libraries, numexpr, numba, TensorFlow, rayon), or OpenMP's alone.
enum class ThreadPools { All, OpenMp };
// The domain ranks are cut by (docs/design.md, cache domains): a rank never straddles one when the
// sizes allow it. Numa is run_cpu's behaviour; Auto takes the smallest domain that holds whole
// ranks without leftovers, else behaves as Numa.
enum class Domain { Auto, Numa, L3, Package, Core };
enum class OnError { Abort, Warn };
enum class LogLevel { Debug, Info, Warn, Error, Off };
// What to do when the launcher already bound this rank to some CPUs (issue #6).
//   Auto:    if the launcher binds by default (Open MPI, Slurm) and the inherited affinity looks
//            like that default binding, plan over the cgroup-allowed set; otherwise as Respect.
//   Respect: keep the inherited binding: plan inside it.
//   Replace: always plan over the cgroup-allowed set.
enum class BindPolicy { Auto, Respect, Replace };
// Whether the library may re-execute the program to chain-load (docs/design.md §6).
//   Auto:  when a library of the plan is missing or an OpenMP runtime read stale settings.
//   Never: place in this image only; the allocator and the runtime are not chain-loaded, and the
//          constructors of libraries loaded before ours run once instead of twice.
enum class Reexec { Auto, Never };
// XEONRUN_CPU_QUOTA (issue #15): plan at most the CPUs the cgroup's CPU quota pays for (Auto), not
// (Ignore), or at most `cpu_quota_cpus` CPUs (Cpus).
enum class CpuQuotaUse { Auto, Ignore, Cpus };
// Whose thread count wins when the environment already has one (OMP_NUM_THREADS, issue #14).
// Inherit keeps the environment's (the user's or a launcher's); Plan replaces it with the plan's
// (OMP_NUM_THREADS and, with XEONRUN_THREAD_POOLS=all, the pools); Auto is Inherit except for
// torchrun's own OMP_NUM_THREADS=1 default, which the plan replaces (docs/launchers.md).
enum class Threads { Auto, Plan, Inherit };
// Whose semantics the same inputs follow where run_cpu and ipexrun differ (docs/design.md §11):
// the scatter default, one PU per listed core, GNU OpenMP's variables, OpenMP-side binding.
enum class Compat { RunCpu, Ipexrun };
// How ranks fewer than the slices that fit are laid out: close packs them from the first core,
// scatter spreads them evenly (ipexrun's --strategy); auto: the compat's default.
enum class Strategy { Auto, Close, Scatter };
// Cores left over when the ranks do not divide them: unused (run_cpu, ipexrun's 0), or handed
// out one each to the first ranks (ipexrun's --ncores-per-instance -1).
enum class Leftover { Unused, Spread };

// Where the rank and the number of ranks came from, so logs can say it.
struct RankSource {
  std::string name;  // "XEONRUN_RANK", "torchrun", "Open MPI", "MPICH/Intel MPI", "Slurm", ""
  bool launcher_binds_by_default = false;  // Open MPI and Slurm bind ranks unless told not to
  Launcher launcher = Launcher::None;  // detected from the environment, even when XEONRUN_RANK won
};

// Every field a row of option_table() sets starts at that row's default: the constructor applies
// each row's `default_value` with the row's own parser, so a default is stated once, in the table
// (options.cpp), and --help, the README and a fresh Config cannot disagree. The `{}` initialisers
// below only keep a field defined should a row lose its default; a unit test pins that none does.
struct Config {
  Config();

  std::optional<unsigned> rank;               // this process's rank; unset: plan every rank
  std::optional<unsigned> nranks;             // ranks sharing this machine
  std::vector<unsigned> ncores_per_instance;  // empty: unset; one: uniform; several: per rank
  std::optional<CpuSet> core_list;            // restrict to these CPUs
  std::optional<unsigned> node_id;            // restrict to one NUMA node
  std::optional<CpuSet> mem_nodes;            // memory nodes instead of the CPUs' own nodes
  bool use_logical_core{};
  bool skip_cross_node_cores{};
  bool use_efficient_cores{};
  Mode mode{};
  Allocator allocator{};
  // XEONRUN_ALLOCATOR=/abs/path/libX.so: preload exactly this file. `allocator` is then the kind
  // recognised from the file name (jemalloc, tcmalloc, mimalloc), Auto when not recognised.
  std::string allocator_path;
  OmpRuntime omp_runtime{};
  std::string omp_runtime_path;  // XEONRUN_OMP_RUNTIME=/abs/path/libomp.so.5 (omp_runtime: Intel)
  Membind membind{};
  Pin pin{};
  LogLevel log_level{};
  std::string log_file;
  std::string topology;  // "", "lscpu:FILE", "xml:FILE", "synthetic:DESC"
  bool dry_run{};
  OnError on_error{};
  bool disable{};
  BindPolicy bind_policy{};
  ThreadPools thread_pools{};
  Reexec reexec{};
  CpuQuotaUse cpu_quota{};
  unsigned cpu_quota_cpus{};  // XEONRUN_CPU_QUOTA=<count>
  bool benchmark{};           // XEONRUN_BENCHMARK: ipexrun --benchmark's allocator settings
  Threads threads{};
  bool report{};            // a report line per rank at exit (docs/design.md §10)
  std::string report_file;  // append each rank's report as a JSON line; "" for none
  // ipexrun's inputs (issue #14): see the rows of XEONRUN_COMPAT and after in options.cpp.
  Compat compat{};
  Strategy strategy{};
  Leftover leftover_cores{};
  std::optional<CpuSet> nodes_list;    // restrict to the cores of these NUMA nodes
  std::optional<CpuSet> instance_idx;  // start only these ranks of the plan; unset: all
  // Issue #15, cache domains and helper cores (options.cpp, the block at the end of the table).
  Domain domain{};
  unsigned helper_cores{};      // cores per rank kept for helper threads (oneCCL workers)
  std::uint64_t thread_skip{};  // XEONRUN_PIN=thread: creations to skip (likwid-pin's mask)
  RankSource rank_source;
  // Not from the table: the decision's cap on the CPUs planned (a CPU quota, core/cpu_quota.h),
  // and the words that say where it came from, for the one line the planner writes about it.
  std::optional<unsigned> cpu_limit;
  std::string cpu_limit_why;
};

// The value types of the table, each with ONE generic parser in options.cpp:
//   Integer      decimal digits in [min, max]                  -> std::optional<unsigned>
//   IntegerList  comma-separated Integers, at most max_items   -> std::vector<unsigned>
//   Boolean      1/0/true/false/yes/no/on/off                  -> bool
//   Choice       one of `choices`, case-insensitive            -> an enum
//   IdList       a CpuSet list like 0-3,8 with ids up to max   -> std::optional<CpuSet>
//   Text         any one-line text (empty: unset_meaning)      -> std::string
//   Path         Text that does not name a directory           -> std::string
enum class OptionType { Integer, IntegerList, Boolean, Choice, IdList, Text, Path };

// A Choice row's spelling of one enum value (as int: one row type serves every enum).
struct ChoiceName {
  const char* text;
  int value;
};

struct OptionSpec;
// What a row's type cannot express (an absolute library path where a choice is expected, the
// prefix of a topology source). It runs before the type's parser: an error refuses the value; a
// hook that stored the value itself sets `stored`, and the type's parser is skipped.
using OptionHook = Status (*)(const OptionSpec& spec, const std::string& value, Config& config,
                              bool& stored);

// One row of the contract (mimalloc's options.c is the model): name, type, default, what is
// accepted, help, and where the value lands. Rows are made by the builders in options.cpp, which
// bind `parse` to the row's Config field; `accepted` and `default_text` are generated from the
// rest. Errors from `parse` name the variable, the value and `accepted`.
struct OptionSpec {
  const char* variable;  // "XEONRUN_RANK"
  OptionType type;
  // Applied to every new Config; nullptr: the field starts unset (or empty) and the library does
  // what `unset_meaning` says ("the launcher's local rank").
  const char* default_value;
  const char* unset_meaning;
  const char* help;  // one line
  // The type's parameters: what one value is called ("integer", "count", "file path"); the range
  // of a number, or the largest id of an IdList; the most numbers an IntegerList may hold; a
  // Choice's names; accepted besides what the type says ("or an absolute library path").
  const char* noun;
  unsigned min;
  unsigned max;
  unsigned max_items;
  std::vector<ChoiceName> choices;
  const char* also_accepted;
  OptionHook hook;
  // The type's generic parser, bound to this row's Config field: checks `value`, stores it.
  Status (*parse)(const OptionSpec& spec, const std::string& value, Config& config);
  std::string accepted;      // generated: quoted in errors, --help and the README
  std::string default_text;  // generated: default_value, else unset_meaning
};

const std::vector<OptionSpec>& option_table();
const OptionSpec* find_option(const std::string& variable);

// XEONRUN_TOPOLOGY's syntax, the one check shared by the options table and the topology loader:
// "" (this machine), "lscpu:FILE", "xml:FILE" or "synthetic:DESC", with something after the
// prefix. Whether the file exists or the description is valid is the loader's business.
struct TopologySource {
  enum class Kind { Machine, Lscpu, Xml, Synthetic };
  Kind kind = Kind::Machine;
  std::string argument;  // FILE or DESC
};
Expected<TopologySource> parse_topology_source(const std::string& value);

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
// known name), then fills rank/nranks from the launcher variables when not given explicitly.
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
const char* to_string(ThreadPools);
const char* to_string(Reexec);
const char* to_string(CpuQuotaUse);
const char* to_string(Threads);
const char* to_string(Compat);
const char* to_string(Strategy);
const char* to_string(Leftover);
// The strategy in force: XEONRUN_STRATEGY, or the compat's default when it is auto.
Strategy effective_strategy(const Config& config);
const char* to_string(Domain);

}  // namespace xeonplace
