// The one decision (docs/design.md, "The decision"): given the facts gathered from the machine and
// the environment a process starts with, what does this process get? Pure: the library's engine
// and xeonrun-spawn both gather facts in src/sys/, call decide() here, and apply the result with
// src/sys/. Every path the engine can take is a unit test of this file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/cpu_quota.h"
#include "core/cpuset.h"
#include "core/env_map.h"
#include "core/expected.h"
#include "core/options.h"
#include "core/preload.h"
#include "core/topology.h"

namespace xeonplace {

// The placement a planner hands to the process that applies it: xeonrun-spawn to each rank, and
// the first image to the image it re-executes. The process applies it without discovering the
// machine again, after checking it against what it is allowed (likwid-pin's "the launcher
// decides, the preload obeys"). One line, `;`-separated `key=value` fields:
//   XEONRUN_PLACEMENT=v1;rank=0;nranks=2;cpus=0-3;mems=0;membind=bind;pin=process;
//                     source=XEONRUN_RANK;env=OMP_NUM_THREADS,KMP_AFFINITY
// with a last field helpers=LIST only when the rank keeps helper cores (XEONRUN_HELPER_CORES).
inline constexpr const char* kPlacementVariable = "XEONRUN_PLACEMENT";

// What the shell must gather before deciding, read from the environment alone (pure).
struct FactsWanted {
  bool handed = false;                    // XEONRUN_PLACEMENT is set: no topology is needed
  std::string topology;                   // XEONRUN_TOPOLOGY ("" = this machine)
  std::vector<LibraryRequest> libraries;  // what to look for on disk
  // A variable to look for in the environment the parent process started with ("" = none): torchrun
  // exports OMP_NUM_THREADS=1 to its workers only when its own environment lacked it (issue #14).
  std::string parent_start_variable;
};
FactsWanted facts_wanted(const EnvMap& env);

// One library looked for on disk for one request.
struct LibraryLookup {
  LibraryRequest request;
  std::optional<std::string> path;  // absolute; nullopt when not found
  std::string not_found;            // the warning line when not found
};

// Everything gathered from the machine and the process (src/sys/facts.h).
struct Facts {
  // The machine: live (the cgroup's CPUs, the inherited affinity not applied) or the fixture of
  // XEONRUN_TOPOLOGY. Not gathered (nullopt) for a handed placement.
  std::optional<Expected<Topology>> topology;
  CpuSet inherited_affinity;             // what the process started with; empty: unknown
  CpuSet allowed_mems;                   // the cpuset's memory nodes (Mems_allowed); empty: unknown
  CpuSet online_cpus;                    // /sys/devices/system/cpu/online; empty: unknown
  std::vector<std::string> loaded;       // objects mapped in the process; empty for a new one
  std::vector<LibraryLookup> libraries;  // FactsWanted::libraries, looked up
  std::string self_path;                 // absolute path of libxeonplace.so
  std::string process_name;              // comm, restored after a re-exec
  long pid = 0;                          // 0: a process yet to start (the spawner's ranks)
  bool secure = false;                   // AT_SECURE: set-user-ID or file capabilities
  bool traced = false;                   // TracerPid is not 0: a debugger holds the process
  // A sanitizer runtime that replaces malloc (ASan, TSan, MSan, HWASan, LSan), linked into the
  // program or statically (its __asan_init & co. resolve): "" when none. No allocator is chained
  // in front of it (issue #12).
  std::string sanitizer;
  // The tightest CPU quota on the process's cgroup path (core/cpu_quota.h); nullopt: none, or not
  // gathered (a fixture, a handed placement).
  std::optional<CpuQuota> cpu_quota;
  // Which memory-policy modes the running kernel has (MPOL_PREFERRED_MANY since Linux 5.15,
  // MPOL_WEIGHTED_INTERLEAVE since 6.9), and its release for the message when one is missing.
  std::string kernel_release;
  bool has_preferred_many = true;
  bool has_weighted_interleave = true;
  // Whether FactsWanted::parent_start_variable was in the parent's starting environment
  // (/proc/PPID/environ); nullopt when not asked or not readable.
  std::optional<bool> parent_started_with;
};

// torchrun's worker whose OMP_NUM_THREADS=1 may be torchrun's own default: TORCHELASTIC_RUN_ID and
// LOCAL_RANK (torchrun's) with OMP_NUM_THREADS=1. Whether it is depends on the agent's environment.
bool may_be_torchruns_thread_default(const EnvMap& env);

// How to report, known even when the rest of the configuration is bad: each reporting variable
// is parsed on its own, so a bad XEONRUN_RANK is still reported where XEONRUN_LOG_FILE says.
struct Reporting {
  LogLevel level = LogLevel::Warn;
  std::string file;
  OnError on_error = OnError::Abort;
};
Reporting reporting(const EnvMap& env);

enum class Action {
  Skip,    // nothing to do (XEONRUN_DISABLE)
  DryRun,  // show the plan, change nothing (XEONRUN_DRY_RUN, or a fixture's plan)
  Place,   // apply
  // A child of a placed process, with its parent's inputs, whose affinity a wrapper (taskset,
  // numactl -C) narrowed inside the placement: nothing is applied, what the process is told
  // (XEONRUN_PLACED_CPUS, the plan's thread counts) is corrected to what it has.
  Correct,
};

struct Decision {
  Action action = Action::Skip;
  std::string why;  // Skip: the reason, for the debug log
  unsigned rank = 0;
  unsigned nranks = 0;
  std::string source;  // where the rank came from: "XEONRUN_RANK", "torchrun", ...
  CpuSet cpus;
  CpuSet mems;
  CpuSet helper_cpus;        // XEONRUN_HELPER_CORES: the rank's CPUs kept for helper threads
  std::string domain;        // the smallest domain holding the rank ("" when handed over)
  unsigned omp_threads = 0;  // the plan's thread count (0: handed over, not planned here)
  Membind membind = Membind::Bind;
  Pin pin = Pin::Process;
  std::uint64_t thread_skip = 0;  // XEONRUN_THREAD_SKIP, for XEONRUN_PIN=thread
  // false in a re-executed image: its threads inherited the slice through execve, and pinning
  // them again would undo the binding an OpenMP runtime gave its initial thread.
  bool pin_existing_threads = true;
  // Set in this process (setenv), in order: the runtime variables (OMP_*, KMP_*) after merging
  // with the user's.
  std::vector<EnvVar> runtime;
  // What a process started with this placement gets on top of its environment: the runtime
  // variables, LD_PRELOAD and MALLOC_CONF of the chain-load, and the handed placement.
  // xeonrun-spawn starts each rank with exactly these (and shows them in --dry-run --json); the
  // library re-execs with them when `reexec`.
  std::vector<EnvVar> handoff;
  bool reexec = false;
  std::vector<std::string> added_libraries;  // what the re-exec loads
  // Exported after placing: XEONRUN_PLACED_* (xeonplace.h and child processes read them).
  std::vector<EnvVar> placed;
  std::vector<std::string> warnings;
  std::vector<std::string> info;  // logged at info: what shaped the plan (a CPU quota)
  std::vector<std::string> debug;
};

// The library's decision for this process: its rank of the plan the environment describes, or the
// placement handed to it. Errors are configuration, topology or planning errors (exit status 2,
// or running unplaced under XEONRUN_ON_ERROR=warn).
Expected<Decision> decide(const Facts& facts, const EnvMap& env);

// xeonrun-spawn's decisions: every rank of the plan (or only XEONRUN_RANK's), planned once over
// `facts` (pid 0: processes yet to start), each with the handoff that makes the rank apply it.
struct RankDecisions {
  unsigned nranks = 0;
  std::vector<Decision> ranks;
  std::vector<std::string> warnings;  // plan-wide
  std::vector<std::string> info;      // plan-wide, at info level: a CPU quota's cap
};
Expected<RankDecisions> decide_ranks(const Facts& facts, const EnvMap& env);

// The placement line handed to a process, and its strict parser (errors name kPlacementVariable).
struct HandedPlacement {
  unsigned rank = 0;
  unsigned nranks = 0;
  CpuSet cpus;
  CpuSet mems;
  Membind membind = Membind::Bind;
  Pin pin = Pin::Process;
  std::string source;
  std::vector<std::string> env;  // the runtime variables that hold the plan's value
  // xeonrun-spawn's word for a rank's environment (the optional last field, `inputs=`): the
  // fingerprint (core/placement_inputs.h) of the placement inputs the rank starts with, this
  // line counted without the field, when the spawner validated exactly those (parse_config) and
  // applies the placement itself between fork and exec. The front then only confirms that the
  // placement is in force, without loading the engine (docs/design.md §4). "" when absent.
  std::string inputs;
  CpuSet helpers;  // XEONRUN_HELPER_CORES' CPUs; an optional last field "helpers=LIST"
};
std::string format_handed_placement(const HandedPlacement& placement);
Expected<HandedPlacement> parse_handed_placement(const std::string& text);

// The launcher context of a placement (XEONRUN_PLACED_LAUNCHER): the launchers' local-rank
// variables and Slurm's step, "NAME=value;" each, in a fixed order. The front compares it, byte
// for byte, with the one it computes the same way (src/shim/front.c).
std::string launcher_context(const EnvMap& env);

// The environment as placement inputs. A process that inherited a placement and still reached
// a decision was started by a launcher that placed itself first, or asks for another placement:
// the inherited outputs (XEONRUN_PLACED_*), the handed placement and the runtime variables the
// parent's plan set (XEONRUN_PLACED_ENV) are the parent's, not this process's user's. `env` as
// it is when no parent was placed.
EnvMap placement_inputs(const EnvMap& env);

// The runtime variables a placed parent's plan set (XEONRUN_PLACED_ENV); empty when no parent was
// placed. Their values are the parent's plan, not the user's: a new plan sets them aside.
std::vector<std::string> parents_planned_variables(const EnvMap& env);

// What was really applied, when the kernel refused part of a decision (sched_setaffinity, or
// set_mempolicy under Docker's default seccomp profile): the exports (XEONRUN_PLACED_CPUS,
// _MEMBIND) and the placement handed to a re-executed image say what is in force, not what was
// planned. `cpus_in_force` is consulted only when `cpus_applied` is false and the decision pins
// (empty: unknown, left as planned).
void record_what_was_applied(Decision& d, bool cpus_applied, const CpuSet& cpus_in_force,
                             bool memory_applied);

// XEONRUN_PLACED_INPUTS: the fingerprint of the placement inputs in `env` (the XEONRUN_* inputs
// without the reporting variables, and the launcher context), computed by the one implementation
// the front uses too (core/placement_inputs.h). A child whose fingerprint equals its placed
// parent's inherited what it asks for; the front skips it (docs/design.md §5).
inline constexpr const char* kPlacedInputsVariable = "XEONRUN_PLACED_INPUTS";
std::string placement_inputs_fingerprint(const EnvMap& env);

// The affinity a new plan (a child asking for its own rank, xeonrun-spawn under a placed parent)
// starts from. When it is exactly the placed parent's XEONRUN_PLACED_CPUS it is our placement, not
// a binding the user chose: the plan starts from the CPUs the parent planned over
// (XEONRUN_PLACED_SCOPE: the cgroup's CPUs within the affinity the parent inherited), or from the
// cgroup's CPUs (empty) when the parent did not say. Otherwise it is `affinity` itself.
inline constexpr const char* kPlacedScopeVariable = "XEONRUN_PLACED_SCOPE";
CpuSet planning_affinity(const CpuSet& affinity, const EnvMap& env);

const char* to_string(Action action);

}  // namespace xeonplace
