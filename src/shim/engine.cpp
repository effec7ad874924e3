// The engine of libxeonplace.so, dlopen()ed by the front (front.c) only when this process must be
// placed. It reads as its story: read the environment, parse the config, load the topology, plan
// this rank, merge the OpenMP environment, apply, export, log.
//
// It runs inside somebody else's process before main(): it never throws into the host (everything
// is caught at the entry point), never writes to stdout, and leaves nothing behind but the
// placement (the topology and the plan are freed before it returns).
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "core/bind_policy.h"
#include "core/options.h"
#include "core/planner.h"
#include "core/preload.h"
#include "core/runtime_env.h"
#include "shim/engine_abi.h"
#include "sys/affinity.h"
#include "sys/chain_load.h"
#include "sys/environment.h"
#include "sys/loaded_libraries.h"
#include "sys/log.h"
#include "sys/mempolicy.h"
#include "sys/reexec.h"
#include "sys/topology_source.h"
#include "xeonplace/xeonplace.h"

namespace xeonplace {
namespace {

// The re-exec's guard (sys/reexec.h) and the variable carrying the original affinity across it.
constexpr const char* kInheritedAffinityVariable = "XEONRUN_REEXEC_AFFINITY";

// ---- how to report, known even when the rest of the configuration is bad ----

struct Reporting {
  LogLevel level = LogLevel::Warn;
  std::string file;
  OnError on_error = OnError::Abort;
};

// Each reporting variable is parsed on its own with its row of the table, so that a bad
// XEONRUN_RANK is still reported where XEONRUN_LOG_FILE says and as XEONRUN_ON_ERROR says. A bad
// reporting variable keeps its default here; parse_config reports it.
Reporting reporting_settings(const EnvMap& env) {
  Config config;
  for (const char* name :
       {"XEONRUN_LOG_LEVEL", "XEONRUN_LOG_FILE", "XEONRUN_ON_ERROR", "XEONRUN_DRY_RUN"}) {
    const OptionSpec* spec = find_option(name);
    const auto value = lookup(env, name);
    if (spec != nullptr && value) {
      Config attempt = config;
      if (spec->parse(*spec, *value, attempt)) config = attempt;
    }
  }
  // A dry run (or a fixture's plan, never applied) exists to show the plan: at least info, unless
  // the log is off.
  const bool show_plan = (config.dry_run || lookup(env, "XEONRUN_TOPOLOGY").value_or("") != "") &&
                         config.log_level > LogLevel::Info && config.log_level != LogLevel::Off;
  return {show_plan ? LogLevel::Info : config.log_level, config.log_file, config.on_error};
}

void write_stderr(const std::string& line) {
  const char* data = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(2, data, left);
    if (n <= 0) return;
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

// A configuration, topology or planning error: "xeonplace: error: <message>" on stderr and exit
// status 2, or with XEONRUN_ON_ERROR=warn the same as a warning and the program runs unplaced.
int fail(const Reporting& reporting, Log& log, const Error& error) {
  if (reporting.on_error == OnError::Warn) {
    log.warn(error.message + " (running unplaced)");
    return XEONPLACE_ENGINE_CONTINUE;
  }
  if (!log.to_stderr()) log.error(error.message);
  write_stderr("xeonplace: error: " + error.message + "\n");
  return XEONPLACE_ENGINE_EXIT;
}

// ---- the steps ----

// The affinity this process started with: after a re-exec (issue #4) the re-executed image already
// runs on the rank's slice, so the first image leaves the original in XEONRUN_REEXEC_AFFINITY.
CpuSet inherited_affinity(const EnvMap& env, Log& log) {
  if (lookup(env, kReexecGuardVariable) == std::to_string(::getpid()) &&
      lookup(env, kInheritedAffinityVariable)) {
    Expected<CpuSet> saved =
        CpuSet::parse(*lookup(env, kInheritedAffinityVariable), kInheritedAffinityVariable);
    if (saved) return *saved;
  }
  Expected<CpuSet> current = current_affinity();
  if (current) return *current;
  log.debug(current.error().message + "; planning over the cgroup's CPUs");
  return CpuSet{};
}

// The machine this rank may be planned on: the cgroup's CPUs, restricted to the inherited
// affinity unless a launcher's default binding is to be replaced (XEONRUN_BIND_POLICY).
// `rank_owns_binding`: the kept affinity is this rank's own slice (see binding_is_per_rank).
Expected<Topology> discover(const Config& config, const CpuSet& inherited, const EnvMap& env,
                            Log& log, bool& rank_owns_binding) {
  rank_owns_binding = false;
  // A fixture is only ever planned, never applied: it may use hwloc's libxml2 plugin (the built-in
  // minimal XML parser refuses hand-written files).
  if (!config.topology.empty()) return load_topology(config.topology);
  Expected<Topology> topology = [] {
    // hwloc dlopen()s every plugin it finds at its first topology (libxml2 and ICU, OpenCL, X11,
    // libpciaccess, even libstdc++.so: ~1.5 ms and several MB in somebody else's process).
    // Nothing they discover is needed for this machine's CPUs and nodes.
    const ScopedVariable no_hwloc_plugins("HWLOC_PLUGINS_PATH", "/nonexistent/xeonplace");
    return load_topology("", LiveScope::CgroupOnly);
  }();
  if (!topology || inherited.empty()) return topology;
  const LauncherBinding binding = launcher_binding(config.rank_source.launcher, env);
  const PlanningScope scope = planning_scope(
      config.bind_policy, config.rank_source.launcher_binds_by_default, binding, inherited.count());
  log.debug("inherited affinity " + inherited.format() + " (" + to_string(binding) +
            "); planning over " + to_string(scope));
  if (scope == PlanningScope::CgroupOnly) return topology;
  const bool whole_cgroup = topology->allowed_cpus.is_subset_of(inherited);
  restrict_to_affinity(*topology, inherited);
  // Only a rank the launcher numbered can own a per-rank binding; with XEONRUN_RANK the user
  // sliced the set on purpose.
  const bool launcher_rank = !config.rank_source.launcher.empty() &&
                             config.rank_source.name == config.rank_source.launcher;
  const unsigned nranks = config.ninstances.value_or(1);
  rank_owns_binding =
      launcher_rank && nranks > 1 &&
      binding_is_per_rank(binding, whole_cgroup,
                          topology->usable_cores(config.use_efficient_cores).size(), nranks);
  if (rank_owns_binding) log.debug("the inherited affinity is this rank's own slice");
  return topology;
}

struct RankPlan {
  RankPlacement placement;
  unsigned nranks = 0;
};

// Without a rank (no XEONRUN_RANK, no launcher) this process is rank 0 of the plan.
Expected<RankPlan> plan_this_rank(const Topology& topology, Config config, Log& log) {
  const bool rank_given = config.rank.has_value();
  if (!rank_given) config.rank = 0;
  Expected<Plan> planned = plan(topology, config);
  if (!planned) return planned.error();
  if (planned->ranks.empty())
    return make_error("the plan has no rank " + std::to_string(*config.rank));
  for (const std::string& warning : planned->warnings) log.warn(warning);
  for (const std::string& warning : planned->ranks.front().warnings) log.warn(warning);
  if (!rank_given && planned->nranks > 1) {
    log.warn(
        "XEONRUN_RANK is not set and no launcher gives a local rank: placing this process as "
        "rank 0 of " +
        std::to_string(planned->nranks));
  }
  return RankPlan{std::move(planned->ranks.front()), planned->nranks};
}

// The launcher bound each rank on its own and the binding is kept: planned as the only instance
// inside it, still reported as the launcher's rank of its ranks.
Expected<RankPlan> plan_inside_own_binding(const Topology& topology, Config config, Log& log) {
  const unsigned rank = config.rank.value_or(0);
  const unsigned nranks = config.ninstances.value_or(1);
  config.rank = 0;
  config.ninstances = 1;
  Expected<RankPlan> planned = plan_this_rank(topology, config, log);
  if (!planned) return planned.error();
  planned->placement.rank = rank;
  planned->nranks = nranks;
  return planned;
}

std::vector<EnvVar> runtime_variables(const RankPlacement& rank, const EnvMap& env, Log& log) {
  std::vector<std::string> warnings;
  std::vector<EnvVar> merged = merge_with_user_env(rank.env, env, warnings);
  for (const std::string& warning : warnings) log.warn(warning);
  return merged;
}

void apply_affinity(const RankPlacement& rank, Pin pin, bool reexecuted_image,
                    const xeonplace_front& front, Log& log) {
  if (pin == Pin::None) return;
  // A re-executed image inherited the affinity through execve, and so did every thread its
  // libraries started; pinning them again would undo the binding libgomp gave its initial thread
  // from OMP_PROC_BIND (issue #4).
  if (!reexecuted_image) {
    std::vector<std::string> warnings;
    // Threads that exist already (started by other libraries' constructors) get the whole slice.
    const Status all = pin_all_threads(rank.cpus, warnings);
    for (const std::string& warning : warnings) log.warn(warning);
    if (!all) {
      log.warn(all.error().message + " (CPU affinity unchanged)");
      return;
    }
  }
  if (pin != Pin::Thread) return;
  // likwid-pin's order (this thread counts as the first CPU, each later thread gets the next one),
  // but this thread keeps the whole slice: OpenMP runtimes build their places from the initial
  // thread's mask (libgomp at its init, libomp at its first parallel region), and a one-CPU mask
  // would put the whole team on that CPU.
  const std::vector<unsigned> ids = rank.cpus.ids();
  const std::vector<int> cpus(ids.begin(), ids.end());
  if (front.set_thread_cpus(cpus.data(), static_cast<int>(cpus.size()), 1) != 0) {
    log.warn("out of memory: XEONRUN_PIN=thread falls back to process pinning for new threads");
  }
}

std::string apply_memory(const RankPlacement& rank, Membind membind, Log& log) {
  const Expected<AppliedPolicy> applied = apply_memory_policy(membind, rank.mems);
  if (!applied) {
    log.warn(applied.error().message + " (memory policy unchanged)");
    return "unchanged";
  }
  return applied->description;
}

void apply_environment(const std::vector<EnvVar>& variables, Log& log) {
  const Status exported = export_variables(variables);
  if (!exported) log.warn(exported.error().message);
  if (variables.empty() || !log.enabled(LogLevel::Debug)) return;
  for (const std::string& runtime : loaded_openmp_runtimes()) {
    log.debug(runtime + " was loaded before this constructor and read OMP_*/KMP_* already: the " +
              "values set now reach runtimes loaded later and child processes only");
  }
}

// Issue #4: re-exec once with the allocator and OpenMP runtime preloaded and the OpenMP variables
// in the initial environment (does not return when it re-executes).
void chain_load(const Config& config, const std::vector<EnvVar>& variables, const EnvMap& env,
                const CpuSet& inherited, const xeonplace_front& front, Log& log) {
  // Only the re-executed image reads it (inherited_affinity). Handed to the exec, not setenv()ed:
  // bash ignores setenv before its main().
  std::vector<EnvVar> carry;
  if (!inherited.empty()) carry.push_back({kInheritedAffinityVariable, inherited.format()});
  const ChainLoadReport report = chain_load_or_continue(
      config, variables, env, front.front_path != nullptr ? front.front_path : "", carry);
  for (const std::string& line : report.debug) log.debug(line);
  for (const std::string& line : report.warnings) log.warn(line);
}

// The runtime variables that hold the plan's value (set by this placement, or by the first
// image's before a re-exec; a user's value equal to the plan's counts too, harmlessly). A rank
// that a placed launcher starts reads them as the launcher's, not as its user's (front.c).
std::string variables_with_planned_values(const RankPlacement& rank, const EnvMap& env) {
  std::string names;
  for (const EnvVar& planned : rank.env) {
    if (lookup(env, planned.name).value_or(planned.value) != planned.value) continue;
    names += (names.empty() ? "" : ",") + planned.name;
  }
  return names;
}

// What the program, xeonplace.h and child processes read (children skip placement on seeing it;
// the front adds XEONRUN_PLACED_LAUNCHER, the launcher context of this placement).
void export_placement(const RankPlan& rank, Membind membind, const EnvMap& env, Log& log) {
  const Status exported = export_variables({
      {"XEONRUN_PLACED_RANK", std::to_string(rank.placement.rank)},
      {"XEONRUN_PLACED_NRANKS", std::to_string(rank.nranks)},
      {"XEONRUN_PLACED_CPUS", rank.placement.cpus.format()},
      {"XEONRUN_PLACED_MEMS", rank.placement.mems.format()},
      {"XEONRUN_PLACED_MEMBIND", to_string(membind)},
      {"XEONRUN_PLACED_ENV", variables_with_planned_values(rank.placement, env)},
  });
  if (!exported) log.warn(exported.error().message);
}

std::string summary(const RankPlan& rank, const Config& config, const std::string& memory,
                    const std::vector<EnvVar>& variables) {
  std::string line =
      "rank " + std::to_string(rank.placement.rank) + " of " + std::to_string(rank.nranks);
  if (!config.rank_source.name.empty()) line += " (" + config.rank_source.name + ")";
  line += ": CPUs " + rank.placement.cpus.format() + ", memory nodes " +
          rank.placement.mems.format() + ", memory policy " + memory + ", pin " +
          to_string(config.pin) + ", OpenMP";
  for (const EnvVar& variable : variables) line += " " + variable.name + "=" + variable.value;
  return line;
}

// The runtime variables as the program sees them: the plan's, or the value kept from the
// environment (the user's, or the first image's after a re-exec).
std::vector<EnvVar> effective_variables(const RankPlacement& rank, const EnvMap& env) {
  std::vector<EnvVar> effective;
  for (const EnvVar& planned : rank.env) {
    effective.push_back({planned.name, lookup(env, planned.name).value_or(planned.value)});
  }
  return effective;
}

// ---- the story ----

int place(const xeonplace_front& front) {
  const EnvMap env = snapshot_environment(front.envp);
  Reporting reporting = reporting_settings(env);
  // A set-user-ID program must never create or append to a file its caller names (issue #8).
  const bool log_file_ignored = secure_execution() && !reporting.file.empty();
  if (log_file_ignored) reporting.file.clear();
  Log log(reporting.level, reporting.file);
  if (log_file_ignored) log.debug("XEONRUN_LOG_FILE ignored: secure-execution process (AT_SECURE)");

  // The first image already reported everything up to its re-exec: the re-executed one repeats
  // the same steps quietly and speaks again from the chain-load step on.
  const bool reexecuted = guard_state(env, ::getpid()) == GuardState::ThisImage;
  if (reexecuted && reporting.level < LogLevel::Error) log.set_level(LogLevel::Error);

  Expected<Config> config = parse_config(env);
  if (!config) return fail(reporting, log, config.error());
  if (config->disable) return XEONPLACE_ENGINE_CONTINUE;
  const CpuSet inherited = inherited_affinity(env, log);
  // A fixture describes another machine: its plan can be shown, never applied here.
  const bool dry_run = config->dry_run || !config->topology.empty();

  Expected<RankPlan> rank = [&]() -> Expected<RankPlan> {
    bool rank_owns_binding = false;
    Expected<Topology> topology = discover(*config, inherited, env, log, rank_owns_binding);
    if (!topology) return topology.error();
    if (!rank_owns_binding) return plan_this_rank(*topology, *config, log);
    return plan_inside_own_binding(*topology, *config, log);
  }();  // the topology is freed here: only the rank's placement is kept
  if (!rank) return fail(reporting, log, rank.error());
  const std::vector<EnvVar> variables = runtime_variables(rank->placement, env, log);

  if (dry_run) {
    log.info("dry run, nothing changed: " + summary(*rank, *config, to_string(config->membind),
                                                    effective_variables(rank->placement, env)));
    return XEONPLACE_ENGINE_CONTINUE;
  }
  apply_affinity(rank->placement, config->pin, reexecuted, front, log);
  const std::string memory = apply_memory(rank->placement, config->membind, log);
  apply_environment(variables, log);
  log.set_level(reporting.level);
  // After apply (affinity and memory policy survive execve), before export (the re-executed image
  // must not see XEONRUN_PLACED_* and skip its own engine run).
  chain_load(*config, variables, env, inherited, front, log);
  export_placement(*rank, config->membind, env, log);
  log.info(summary(*rank, *config, memory, effective_variables(rank->placement, env)));
  return XEONPLACE_ENGINE_CONTINUE;
}

}  // namespace
}  // namespace xeonplace

extern "C" __attribute__((visibility("default"))) int xeonplace_engine_run(
    const xeonplace_front* front) noexcept {
  if (front == nullptr || front->abi_version != XEONPLACE_ENGINE_ABI_VERSION) {
    xeonplace::write_stderr(
        "xeonplace: warning: libxeonplace-engine.so does not match libxeonplace.so "
        "(reinstall both; running unplaced)\n");
    return XEONPLACE_ENGINE_CONTINUE;
  }
  // No exception may cross into the host program, whatever it is.
  try {
    return xeonplace::place(*front);
  } catch (const std::exception& e) {
    xeonplace::write_stderr(std::string("xeonplace: warning: internal error: ") + e.what() +
                            " (running unplaced)\n");
  } catch (...) {
    xeonplace::write_stderr("xeonplace: warning: internal error (running unplaced)\n");
  }
  return XEONPLACE_ENGINE_CONTINUE;
}
