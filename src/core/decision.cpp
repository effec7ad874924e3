#include "core/decision.h"

#include <algorithm>
#include <utility>

#include "core/bind_policy.h"
#include "core/launcher.h"
#include "core/option_values.h"
#include "core/placement_inputs.h"
#include "core/planner.h"
#include "core/runtime_env.h"
#include "core/text.h"

namespace xeonplace {
namespace {

constexpr const char* kPlacedRank = "XEONRUN_PLACED_RANK";
constexpr const char* kPlacedEnv = "XEONRUN_PLACED_ENV";
constexpr const char* kPlacedCpus = "XEONRUN_PLACED_CPUS";

// The placed parent's XEONRUN_PLACED_CPUS.
Expected<CpuSet> parents_cpus(const EnvMap& env) {
  return CpuSet::parse(lookup(env, kPlacedCpus).value_or(""), kPlacedCpus);
}

// The runtime variables that hold the plan's value (a user's value equal to the plan's counts
// too, harmlessly). A rank that a placed launcher starts reads them as the launcher's.
std::vector<std::string> names_with_planned_values(const std::vector<EnvVar>& planned,
                                                   const EnvMap& env) {
  std::vector<std::string> names;
  for (const EnvVar& var : planned) {
    if (lookup(env, var.name).value_or(var.value) == var.value) names.push_back(var.name);
  }
  return names;
}

bool sets(const std::vector<EnvVar>& vars, const std::string& name) {
  return std::any_of(vars.begin(), vars.end(), [&](const EnvVar& var) { return var.name == name; });
}

std::vector<EnvVar> placed_variables(const HandedPlacement& p, const EnvMap& env) {
  std::vector<EnvVar> placed = {
      {"XEONRUN_PLACED_RANK", std::to_string(p.rank)},
      {"XEONRUN_PLACED_NRANKS", std::to_string(p.nranks)},
      {kPlacedCpus, p.cpus.format()},
      {"XEONRUN_PLACED_MEMS", p.mems.format()},
      {"XEONRUN_PLACED_MEMBIND", to_string(p.membind)},
      {kPlacedEnv, join(p.env, ",")},
      {"XEONRUN_PLACED_LAUNCHER", launcher_context(env)},
  };
  if (!p.helpers.empty()) placed.push_back({"XEONRUN_PLACED_HELPER_CPUS", p.helpers.format()});
  return placed;
}

void fill_from(Decision& d, const HandedPlacement& p) {
  d.rank = p.rank;
  d.nranks = p.nranks;
  d.source = p.source;
  d.cpus = p.cpus;
  d.mems = p.mems;
  d.membind = p.membind;
  d.pin = p.pin;
  d.helper_cpus = p.helpers;
}

// A memory-policy mode the running kernel lacks is bad configuration for this machine (exit 2, or
// unplaced under XEONRUN_ON_ERROR=warn), said before anything is applied (docs/design.md §9).
Status memory_policy_available(Membind membind, const Facts& facts) {
  const bool many = membind == Membind::PreferredMany;
  if (many ? facts.has_preferred_many
           : (membind != Membind::WeightedInterleave || facts.has_weighted_interleave)) {
    return Unit{};
  }
  const std::string kernel = facts.kernel_release.empty() ? "" : " (" + facts.kernel_release + ")";
  return value_error(
      "XEONRUN_MEMBIND", to_string(membind),
      "this kernel" + kernel + " has no " +
          (many ? std::string("MPOL_PREFERRED_MANY: it needs Linux 5.15 or later")
                : std::string("MPOL_WEIGHTED_INTERLEAVE: it needs Linux 6.9 or later "
                              "(/sys/kernel/mm/mempolicy/weighted_interleave is missing)")),
      many ? "bind, preferred, interleave, none on this kernel"
           : "bind, preferred, interleave, none, preferred-many on this kernel");
}

// ---- planning this process's rank ----

struct Planned {
  RankPlacement placement;
  unsigned nranks = 0;
  CpuSet scope;  // the CPUs planned over (XEONRUN_PLACED_SCOPE)
  std::vector<std::string> warnings;
  std::vector<std::string> info;
  std::vector<std::string> debug;
};

// XEONRUN_CPU_QUOTA against the cgroup's quota (docs/design.md §9): the cap on the
// CPUs the planner may use, and where it came from. The cgroup's quota is this machine's: a
// fixture (XEONRUN_TOPOLOGY) is planned without it, unless a count is given.
void limit_to_cpu_quota(Config& config, const Facts& facts) {
  if (config.cpu_quota == CpuQuotaUse::Cpus) {
    config.cpu_limit = config.cpu_quota_cpus;
    config.cpu_limit_why = "XEONRUN_CPU_QUOTA=" + std::to_string(config.cpu_quota_cpus);
  } else if (config.cpu_quota == CpuQuotaUse::Auto && facts.cpu_quota && config.topology.empty()) {
    const CpuQuota& quota = *facts.cpu_quota;
    config.cpu_limit = quota_cpus(quota);
    config.cpu_limit_why = "CPU quota " + describe_cpus(quota) + " (" +
                           std::to_string(quota.quota_us) + "/" + std::to_string(quota.period_us) +
                           " us in " + quota.where + ")";
  }
}

// The machine this rank may be planned on: the cgroup's CPUs, restricted to the inherited
// affinity unless a launcher's default binding is to be replaced (XEONRUN_BIND_POLICY, issue #6).
// `rank_owns_binding`: the kept affinity is this rank's own slice (binding_is_per_rank).
Topology planning_machine(const Topology& machine, const Config& config, const Facts& facts,
                          const EnvMap& env, Planned& out, bool& rank_owns_binding) {
  rank_owns_binding = false;
  Topology topology = machine;
  const CpuSet& inherited = facts.inherited_affinity;
  // A fixture describes another machine: this process's affinity means nothing there.
  if (!config.topology.empty() || inherited.empty()) return topology;
  const LauncherBinding binding = launcher_binding(config.rank_source.launcher, env);
  const PlanningScope scope = planning_scope(
      config.bind_policy, config.rank_source.launcher_binds_by_default, binding, inherited.count());
  out.debug.push_back("inherited affinity " + inherited.format() + " (" + to_string(binding) +
                      "); planning over " + to_string(scope));
  if (scope == PlanningScope::CgroupOnly) return topology;
  const bool whole_cgroup = topology.allowed_cpus.is_subset_of(inherited);
  restrict_to_affinity(topology, inherited);
  // Only a rank the launcher numbered can own a per-rank binding; with XEONRUN_RANK the user
  // sliced the set on purpose.
  const bool launcher_rank = config.rank_source.launcher != Launcher::None &&
                             config.rank_source.name == to_string(config.rank_source.launcher);
  const unsigned nranks = config.nranks.value_or(1);
  rank_owns_binding =
      launcher_rank && nranks > 1 &&
      binding_is_per_rank(binding, whole_cgroup,
                          topology.usable_cores(config.use_efficient_cores).size(), nranks);
  if (rank_owns_binding) out.debug.push_back("the inherited affinity is this rank's own slice");
  return topology;
}

Expected<Planned> plan_rank(const Topology& machine, Config config, const Facts& facts,
                            const EnvMap& env) {
  Planned out;
  bool rank_owns_binding = false;
  const Topology topology = planning_machine(machine, config, facts, env, out, rank_owns_binding);
  out.scope = topology.allowed_cpus;
  const unsigned launcher_rank = config.rank.value_or(0);
  const unsigned launcher_nranks = config.nranks.value_or(1);
  // The launcher bound each rank on its own and the binding is kept: this rank is the only one
  // inside it, still reported as the launcher's rank of its ranks.
  if (rank_owns_binding) {
    config.rank = 0;
    config.nranks = 1;
  }
  const bool rank_given = config.rank.has_value();
  if (!rank_given) config.rank = 0;  // without a rank this process is rank 0 of the plan
  limit_to_cpu_quota(config, facts);
  Expected<Plan> planned = plan(topology, config);
  if (!planned) return planned.error();
  if (planned->ranks.empty()) {
    return make_error("the plan has no rank " + std::to_string(*config.rank));
  }
  out.info = planned->info;
  out.warnings = planned->warnings;
  for (const std::string& w : planned->ranks.front().warnings) out.warnings.push_back(w);
  if (!rank_given && planned->nranks > 1) {
    out.warnings.push_back(
        "XEONRUN_RANK is not set and no launcher gives a local rank: placing this process as "
        "rank 0 of " +
        std::to_string(planned->nranks));
  }
  out.placement = std::move(planned->ranks.front());
  out.nranks = planned->nranks;
  if (rank_owns_binding) {
    out.placement.rank = launcher_rank;
    out.nranks = launcher_nranks;
  }
  return out;
}

// ---- chain-loading (issue #4): which libraries, and whether a re-exec is needed ----

// The libraries found on disk that this process may load. A program linked with a sanitizer
// runtime that replaces malloc crashes before main when another allocator comes first (its
// interceptors and the allocator fight over malloc): no allocator there; the OpenMP runtime may
// still come.
std::vector<FoundLibrary> found_libraries(const Facts& facts, std::vector<std::string>& warnings) {
  std::vector<FoundLibrary> found;
  for (const LibraryLookup& lookup : facts.libraries) {
    if (!lookup.path) {
      warnings.push_back(lookup.not_found);
    } else if (!facts.sanitizer.empty() && lookup.request.role == LibraryRole::Allocator) {
      warnings.push_back("chain-load: " + facts.sanitizer +
                         " serves malloc in this program (a sanitizer runtime): not preloading " +
                         *lookup.path);
    } else {
      found.push_back({lookup.request.role, *lookup.path, lookup.request.explicit_choice});
    }
  }
  return found;
}

bool openmp_runtime_loaded(const std::vector<std::string>& loaded) {
  for (const std::string& path : loaded) {
    if (is_openmp_runtime(path)) return true;
  }
  return false;
}

// What the program misses when the re-exec does not happen, for the warning.
std::string consequence(const std::vector<std::string>& added, bool omp_stale) {
  std::string out;
  if (!added.empty()) out = "running without " + join(added, ", ");
  if (omp_stale) {
    out += out.empty() ? "running with " : "; and with ";
    out += "the OpenMP settings the runtime read at start";
  }
  return out;
}

// In-process only (facts.pid != 0): re-exec once when a library of the plan is not loaded, or an
// OpenMP runtime already loaded read other values than the plan's (libgomp linked into the
// executable). Never in a dry run, under secure execution, under a debugger (gdb loses the
// process it started: issue #12), or when XEONRUN_REEXEC=never (constructors of the libraries
// loaded before ours would run twice: docs/design.md §6).
void decide_reexec(Decision& d, const ChainLoad& chain, const Facts& facts, const EnvMap& env,
                   Reexec policy) {
  const bool omp_stale = openmp_runtime_loaded(facts.loaded) && runtime_env_differs(d.runtime, env);
  if (chain.added.empty() && !omp_stale) {
    d.debug.push_back("chain-load: nothing to load, no re-exec");
    return;
  }
  if (d.action == Action::DryRun) {
    d.debug.push_back("chain-load: dry run, would re-exec to load " + join(chain.added, ", "));
    return;
  }
  if (facts.secure) {
    d.warnings.push_back("chain-load: secure-execution process (AT_SECURE), not re-executing; " +
                         consequence(chain.added, omp_stale));
    return;
  }
  if (facts.traced) {
    d.warnings.push_back("chain-load: traced by a debugger, not re-executing; " +
                         consequence(chain.added, omp_stale));
    return;
  }
  if (policy == Reexec::Never) {
    d.warnings.push_back("chain-load: XEONRUN_REEXEC=never, not re-executing; " +
                         consequence(chain.added, omp_stale));
    return;
  }
  d.reexec = true;
  d.added_libraries = chain.added;
  // The new image gets exactly one LD_PRELOAD (compose_envp drops later duplicates of a name it
  // sets): the chain-load's, else the one ld.so loaded this image with (the last of duplicates,
  // sys/environment.h), never a duplicate the loader would pick over the library's choice.
  const auto preload = lookup(env, "LD_PRELOAD");
  if (!sets(d.handoff, "LD_PRELOAD") && preload) d.handoff.push_back({"LD_PRELOAD", *preload});
}

// The image a re-exec started: the guard stops a loop, so what did not load will not load by
// trying again. (A library in LD_PRELOAD that ld.so refused is not loaded: ld.so said why.)
void check_reexecuted_image(Decision& d, const Facts& facts) {
  std::vector<std::string> ignored;
  const std::vector<std::string> missing =
      libraries_not_loaded(found_libraries(facts, ignored), facts.loaded);
  if (missing.empty()) {
    d.debug.push_back("chain-load: the re-executed image has every library it asked for");
  } else {
    d.warnings.push_back("chain-load: after the re-exec " + join(missing, ", ") +
                         " is still not loaded; running without it");
  }
}

// The environment the plan's runtime variables are merged with: without the inherited thread
// counts the plan replaces (XEONRUN_THREADS, docs/launchers.md "torchrun's OMP_NUM_THREADS=1").
EnvMap without_replaced_thread_counts(const Facts& facts, const EnvMap& env, const Config& config,
                                      std::vector<std::string>& debug) {
  EnvMap result = env;
  if (config.threads == Threads::Plan) {
    result.erase("OMP_NUM_THREADS");
    for (const char* pool : kThreadPoolVariables) result.erase(pool);
    return result;
  }
  if (config.threads == Threads::Auto && may_be_torchruns_thread_default(env) &&
      facts.parent_started_with == false) {
    // torchrun's run.py sets OMP_NUM_THREADS=1 when its own environment lacks it: its agent (our
    // parent) started without one, so the 1 is torchrun's default, not the user's.
    result.erase("OMP_NUM_THREADS");
    debug.push_back(
        "OMP_NUM_THREADS=1 is torchrun's default (its agent started without it): "
        "replaced by the plan's");
  }
  return result;
}

// The decision for one planned rank: runtime variables, the chain-load, the handoff, the exports.
Decision decide_planned(const Facts& facts, const EnvMap& env, const Config& config,
                        const RankPlacement& rank, unsigned nranks, const std::string& source) {
  Decision d;
  d.action = config.dry_run || !config.topology.empty() ? Action::DryRun : Action::Place;
  HandedPlacement handed;
  handed.rank = rank.rank;
  handed.nranks = nranks;
  handed.cpus = rank.cpus;
  handed.mems = rank.mems;
  handed.membind = config.membind;
  handed.pin = config.pin;
  handed.source = source;
  handed.helpers = rank.helper_cpus;
  fill_from(d, handed);
  d.domain = rank.domain;
  d.thread_skip = config.thread_skip;
  d.omp_threads = rank.omp_threads;
  const EnvMap user_env = without_replaced_thread_counts(facts, env, config, d.debug);
  d.runtime = merge_with_user_env(rank.env, user_env, d.warnings);
  handed.env = names_with_planned_values(rank.env, user_env);

  ChainLoadInput input;
  input.found = found_libraries(facts, d.warnings);
  input.loaded = facts.loaded;
  input.self_path = facts.self_path;
  input.env = env;
  input.jemalloc_conf_always = config.compat == Compat::Ipexrun;
  input.benchmark = config.benchmark;
  const ChainLoad chain = compose_chain_load(input);
  d.warnings.insert(d.warnings.end(), chain.warnings.begin(), chain.warnings.end());

  d.handoff = d.runtime;
  d.handoff.insert(d.handoff.end(), chain.env.begin(), chain.env.end());
  d.handoff.push_back({kPlacementVariable, format_handed_placement(handed)});
  d.placed = placed_variables(handed, env);
  if (facts.pid != 0) decide_reexec(d, chain, facts, env, config.reexec);
  return d;
}

// A placement handed by xeonrun-spawn or by the image that re-executed this one: applied as it
// is, once checked against what this process may use.
Expected<Decision> decide_handed(const Facts& facts, const EnvMap& env, const Config& config,
                                 bool reexecuted, const std::string& text) {
  Expected<HandedPlacement> handed = parse_handed_placement(text);
  if (!handed) return handed.error();
  Decision d;
  fill_from(d, *handed);
  d.thread_skip = config.thread_skip;
  for (const std::string& name : handed->env) {
    if (const auto value = lookup(env, name)) d.runtime.push_back({name, *value});
  }
  // A fixture's plan (xeonrun-spawn --topology) is logged, never applied: its CPUs are another
  // machine's.
  if (config.dry_run || !config.topology.empty()) {
    d.action = Action::DryRun;
    return d;
  }
  d.action = Action::Place;
  if (Status available = memory_policy_available(handed->membind, facts); !available) {
    return available.error();
  }
  // Already inside the slice: started there by xeonrun-spawn, or re-executed after placing. Its
  // threads keep their masks (an OpenMP runtime that loaded first may have bound its initial
  // thread to one CPU of the slice already, issue #4).
  const CpuSet& current = facts.inherited_affinity;
  d.pin_existing_threads = !reexecuted && (current.empty() || !current.is_subset_of(handed->cpus));
  const bool offline = !facts.online_cpus.empty() && !handed->cpus.is_subset_of(facts.online_cpus);
  if (offline ||
      (d.pin_existing_threads && !current.empty() && !handed->cpus.is_subset_of(current))) {
    return make_error(std::string(kPlacementVariable) + ": CPUs " + handed->cpus.format() +
                      " are not all allowed to this process (allowed: " +
                      facts.inherited_affinity.format() + ")");
  }
  if (handed->membind != Membind::None && !facts.allowed_mems.empty() &&
      !handed->mems.is_subset_of(facts.allowed_mems)) {
    return make_error(
        std::string(kPlacementVariable) + ": memory nodes " + handed->mems.format() +
        " are not all allowed to this process (allowed: " + facts.allowed_mems.format() + ")");
  }
  d.placed = placed_variables(*handed, env);
  if (const auto scope = lookup(env, kPlacedScopeVariable)) {
    d.placed.push_back({kPlacedScopeVariable, *scope});
  }
  d.debug.push_back(std::string("placement handed over in ") + kPlacementVariable +
                    (reexecuted ? " by the image that re-executed this one" : ""));
  if (reexecuted) check_reexecuted_image(d, facts);
  return d;
}

// What the spawner applies between fork and exec (sys/apply.h, PreparedPlacement) is what the
// front confirms without the engine: the CPUs, and a bind or interleave policy (or none).
bool spawner_applies_it_all(const Decision& d) {
  return d.action == Action::Place && d.pin == Pin::Process &&
         (d.membind == Membind::None ||
          ((d.membind == Membind::Bind || d.membind == Membind::Interleave) && !d.mems.empty()));
}

// xeonrun-spawn's word for a rank's environment (HandedPlacement::inputs, docs/design.md §4): the
// fingerprint of the placement inputs the rank starts with (`env` with the handoff over it, as
// tools/spawn/rank_env.h builds it), the line counted without its inputs field. Only when that
// environment is a valid configuration: a rank whose inputs change on the way (a wrapper sets
// another XEONRUN_*) no longer matches and is checked by the engine as before.
void vouch_for_rank(Decision& d, const EnvMap& env) {
  if (!spawner_applies_it_all(d)) return;
  EnvMap rank_env = env;
  for (const EnvVar& var : d.handoff) rank_env[var.name] = var.value;
  if (!parse_config(placement_inputs(rank_env))) return;
  for (EnvVar& var : d.handoff) {
    if (var.name != kPlacementVariable) continue;
    Expected<HandedPlacement> handed = parse_handed_placement(var.value);
    if (!handed) return;
    handed->inputs = placement_inputs_fingerprint(rank_env);
    var.value = format_handed_placement(*handed);
  }
}

Decision skip(std::string why) {
  Decision d;
  d.action = Action::Skip;
  d.why = std::move(why);
  return d;
}

// ---- a child of a placed process (docs/design.md §5) ----

// Inherited: a parent was placed, with the inputs this process has (or a parent that did not say
// which, as before XEONRUN_PLACED_INPUTS existed).
bool inherits_its_parents_placement(const EnvMap& env) {
  if (!env.count(kPlacedRank)) return false;
  const auto parents = lookup(env, kPlacedInputsVariable);
  return !parents || *parents == placement_inputs_fingerprint(env);
}

// The cores of `cpus`, counted as the planner counts a slice's threads: one per core.
unsigned cores_of(const CpuSet& cpus, const Facts& facts) {
  if (!facts.topology || !*facts.topology) return static_cast<unsigned>(cpus.count());
  std::vector<unsigned> cores;
  for (const Pu& pu : (*facts.topology)->pus) {
    if (cpus.contains(pu.cpu) && std::find(cores.begin(), cores.end(), pu.core) == cores.end()) {
      cores.push_back(pu.core);
    }
  }
  return static_cast<unsigned>(cores.size());
}

// A wrapper between the library and the program (taskset -c, numactl -C) was placed, then
// narrowed the affinity: the program keeps the narrowed binding (it was asked for) and is told
// what it has: its CPUs, and OMP_NUM_THREADS when it holds the plan's value (XEONRUN_PLACED_ENV).
Decision decide_inherited(const Facts& facts, const EnvMap& env) {
  const Expected<CpuSet> placed = parents_cpus(env);
  const CpuSet& now = facts.inherited_affinity;
  if (!placed || now.empty() || now == *placed || !now.is_subset_of(*placed)) {
    return skip("inherited its parent's placement");
  }
  Decision d;
  d.action = Action::Correct;
  d.cpus = now;
  d.omp_threads = cores_of(now, facts);
  const std::vector<std::string> planned = parents_planned_variables(env);
  if (std::find(planned.begin(), planned.end(), "OMP_NUM_THREADS") != planned.end()) {
    d.runtime.push_back({"OMP_NUM_THREADS", std::to_string(d.omp_threads)});
  }
  d.placed.push_back({kPlacedCpus, now.format()});
  d.debug.push_back("the inherited affinity " + now.format() + " is narrower than the placement " +
                    placed->format() + " (a wrapper such as taskset): kept, and reported");
  return d;
}

Expected<Decision> decide_inputs(const Facts& startup_facts, const EnvMap& startup_env) {
  const EnvMap env = placement_inputs(startup_env);
  const Expected<Config> config = parse_config(env);
  if (!config) return config.error();
  if (config->disable) return skip("XEONRUN_DISABLE is set");
  if (inherits_its_parents_placement(startup_env)) {
    return decide_inherited(startup_facts, startup_env);
  }
  const bool reexecuted = guard_state(env, startup_facts.pid) == GuardState::ThisImage;
  if (const auto handed = lookup(env, kPlacementVariable)) {
    return decide_handed(startup_facts, env, *config, reexecuted, *handed);
  }
  if (!startup_facts.topology) return make_error("internal error: the topology was not gathered");
  if (!*startup_facts.topology) return startup_facts.topology->error();
  // A child asking for its own rank under a placed parent: the parent's slice is ours, not the
  // user's binding; the child is planned over what the parent planned over.
  Facts facts = startup_facts;
  facts.inherited_affinity = planning_affinity(facts.inherited_affinity, startup_env);
  if (config->topology.empty()) {
    if (Status available = memory_policy_available(config->membind, facts); !available) {
      return available.error();
    }
  }
  Expected<Planned> planned = plan_rank(**facts.topology, *config, facts, env);
  if (!planned) return planned.error();
  Decision d = decide_planned(facts, env, *config, planned->placement, planned->nranks,
                              config->rank_source.name);
  d.warnings.insert(d.warnings.begin(), planned->warnings.begin(), planned->warnings.end());
  d.info = planned->info;
  d.debug.insert(d.debug.begin(), planned->debug.begin(), planned->debug.end());
  // Exported, and handed to a re-executed image, which exports it again (decide_handed).
  d.placed.push_back({kPlacedScopeVariable, planned->scope.format()});
  d.handoff.push_back({kPlacedScopeVariable, planned->scope.format()});
  if (reexecuted) {
    // A re-exec always hands its placement over; reaching here means the guard is stale.
    d.reexec = false;
    check_reexecuted_image(d, facts);
  }
  return d;
}

}  // namespace

EnvMap placement_inputs(const EnvMap& env) {
  if (!env.count(kPlacedRank)) return env;
  EnvMap inputs;
  const std::vector<std::string> planned = parents_planned_variables(env);
  for (const auto& [name, value] : env) {
    if (starts_with(name, "XEONRUN_PLACED_") || name == kPlacementVariable) continue;
    if (std::find(planned.begin(), planned.end(), name) == planned.end()) {
      inputs.emplace(name, value);
    }
  }
  return inputs;
}

FactsWanted facts_wanted(const EnvMap& env) {
  FactsWanted wanted;
  const EnvMap inputs = placement_inputs(env);
  wanted.handed = inputs.count(kPlacementVariable) != 0;
  const Expected<Config> config = parse_config(inputs);
  if (!config || config->disable) return wanted;
  wanted.topology = config->topology;
  wanted.libraries = requested_libraries(*config);
  if (config->threads == Threads::Auto && may_be_torchruns_thread_default(env)) {
    wanted.parent_start_variable = "OMP_NUM_THREADS";
  }
  return wanted;
}

bool may_be_torchruns_thread_default(const EnvMap& env) {
  return lookup(env, "OMP_NUM_THREADS") == std::optional<std::string>{"1"} &&
         lookup(env, "TORCHELASTIC_RUN_ID") && lookup(env, "LOCAL_RANK");
}

Reporting reporting(const EnvMap& env) {
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
  // A dry run (or a fixture's plan, never applied) exists to show the plan: at least info,
  // unless the log is off.
  const bool show_plan = (config.dry_run || lookup(env, "XEONRUN_TOPOLOGY").value_or("") != "") &&
                         config.log_level > LogLevel::Info && config.log_level != LogLevel::Off;
  return {show_plan ? LogLevel::Info : config.log_level, config.log_file, config.on_error};
}

Expected<Decision> decide(const Facts& facts, const EnvMap& startup_env) {
  Expected<Decision> d = decide_inputs(facts, startup_env);
  // What children compare: the inputs they inherit, as this process started with them.
  if (d && !d->placed.empty()) {
    d->placed.push_back({kPlacedInputsVariable, placement_inputs_fingerprint(startup_env)});
  }
  return d;
}

Expected<RankDecisions> decide_ranks(const Facts& facts, const EnvMap& startup_env) {
  const EnvMap env = placement_inputs(startup_env);
  const Expected<Config> config = parse_config(env);
  if (!config) return config.error();
  if (!facts.topology) return make_error("internal error: the topology was not gathered");
  if (!*facts.topology) return facts.topology->error();
  Planned scope;
  bool per_rank_binding = false;
  const Topology topology =
      planning_machine(**facts.topology, *config, facts, env, scope, per_rank_binding);
  if (config->topology.empty()) {
    if (Status available = memory_policy_available(config->membind, facts); !available) {
      return available.error();
    }
  }
  Config limited = *config;
  limit_to_cpu_quota(limited, facts);
  Expected<Plan> planned = plan(topology, limited);
  if (!planned) return planned.error();

  // The ranks preload the library ahead of the user's LD_PRELOAD; the chain-load puts the
  // allocator and the OpenMP runtime ahead of both (core/preload.h).
  EnvMap rank_inputs = env;
  if (!facts.self_path.empty()) {
    const std::string existing = lookup(env, "LD_PRELOAD").value_or("");
    rank_inputs["LD_PRELOAD"] =
        existing.empty() ? facts.self_path : facts.self_path + ":" + existing;
  }
  RankDecisions out;
  out.nranks = planned->nranks;
  out.warnings = planned->warnings;
  out.info = planned->info;
  for (const RankPlacement& rank : planned->ranks) {
    Decision d =
        decide_planned(facts, rank_inputs, *config, rank, planned->nranks, "xeonrun-spawn");
    d.warnings.insert(d.warnings.begin(), rank.warnings.begin(), rank.warnings.end());
    std::vector<EnvVar> handoff = {{"XEONRUN_RANK", std::to_string(rank.rank)}};
    if (!sets(d.handoff, "LD_PRELOAD") && !facts.self_path.empty()) {
      handoff.push_back({"LD_PRELOAD", rank_inputs["LD_PRELOAD"]});
    }
    handoff.insert(handoff.end(), d.handoff.begin(), d.handoff.end());
    d.handoff = std::move(handoff);
    vouch_for_rank(d, startup_env);
    out.ranks.push_back(std::move(d));
  }
  return out;
}

std::string format_handed_placement(const HandedPlacement& p) {
  return "v1;rank=" + std::to_string(p.rank) + ";nranks=" + std::to_string(p.nranks) +
         ";cpus=" + p.cpus.format() + ";mems=" + p.mems.format() +
         ";membind=" + to_string(p.membind) + ";pin=" + to_string(p.pin) + ";source=" + p.source +
         ";env=" + join(p.env, ",") + (p.helpers.empty() ? "" : ";helpers=" + p.helpers.format()) +
         (p.inputs.empty() ? "" : ";inputs=" + p.inputs);
}

namespace {

template <class E>
bool choose(const std::string& text, std::initializer_list<E> values, E& out) {
  for (E value : values) {
    if (text == to_string(value)) {
      out = value;
      return true;
    }
  }
  return false;
}

bool is_fingerprint(const std::string& text) {
  return text.size() == XEONPLACE_FINGERPRINT_SIZE - 1 &&
         std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Error handed_error(const std::string& text, const std::string& reason) {
  return value_error(kPlacementVariable, text, reason,
                     "v1;rank=R;nranks=N;cpus=LIST;mems=LIST;membind=M;pin=P;source=S;env=NAMES"
                     "[;helpers=LIST][;inputs=HEX], as xeonrun-spawn writes it");
}

}  // namespace

Expected<HandedPlacement> parse_handed_placement(const std::string& text) {
  const std::vector<std::string_view> pieces = split(text, ';');
  const std::vector<std::string> fields(pieces.begin(), pieces.end());
  static const char* const kKeys[] = {"rank",    "nranks", "cpus",   "mems",
                                      "membind", "pin",    "source", "env"};
  constexpr std::size_t kFields = sizeof kKeys / sizeof *kKeys;
  if (fields.empty() || fields[0] != "v1") return handed_error(text, "not version v1");
  // Two optional fields follow env=, in this order: helpers= (XEONRUN_HELPER_CORES) and inputs=
  // (xeonrun-spawn's word, always last; a re-exec's handoff has none).
  if (fields.size() < kFields + 1 || fields.size() > kFields + 3) {
    return handed_error(text, "wrong number of fields");
  }
  std::string values[kFields];
  for (std::size_t i = 0; i < kFields; ++i) {
    const std::string key = std::string(kKeys[i]) + "=";
    if (!starts_with(fields[i + 1], key)) return handed_error(text, "expected " + key);
    values[i] = fields[i + 1].substr(key.size());
  }
  HandedPlacement p;
  const Expected<unsigned> rank =
      parse_decimal(kPlacementVariable, values[0], 0, 65534, "0..65534");
  const Expected<unsigned> nranks =
      parse_decimal(kPlacementVariable, values[1], 1, 65535, "1..65535");
  if (!rank || !nranks || *rank >= *nranks) return handed_error(text, "bad rank or nranks");
  p.rank = *rank;
  p.nranks = *nranks;
  Expected<CpuSet> cpus = CpuSet::parse(values[2], kPlacementVariable);
  Expected<CpuSet> mems = CpuSet::parse(values[3], kPlacementVariable);
  if (!cpus || cpus->empty()) return handed_error(text, "bad or empty cpus");
  if (!mems) return handed_error(text, "bad mems");
  p.cpus = *cpus;
  p.mems = *mems;
  if (!choose(values[4],
              {Membind::Bind, Membind::Preferred, Membind::Interleave, Membind::None,
               Membind::PreferredMany, Membind::WeightedInterleave},
              p.membind)) {
    return handed_error(text, "unknown membind");
  }
  if (!choose(values[5], {Pin::Process, Pin::Thread, Pin::None}, p.pin)) {
    return handed_error(text, "unknown pin");
  }
  p.source = values[6];
  for (const std::string_view name : split(values[7], ',')) {
    if (!name.empty()) p.env.emplace_back(name);
  }
  std::size_t next = kFields + 1;
  if (next < fields.size() && starts_with(fields[next], "helpers=")) {
    Expected<CpuSet> helpers = CpuSet::parse(fields[next].substr(8), kPlacementVariable);
    if (!helpers || helpers->empty() || !helpers->is_subset_of(p.cpus)) {
      return handed_error(text, "helpers must be a non-empty subset of cpus");
    }
    p.helpers = *helpers;
    ++next;
  }
  if (next < fields.size() && starts_with(fields[next], "inputs=")) {
    p.inputs = fields[next].substr(7);
    if (!is_fingerprint(p.inputs)) {
      return handed_error(text, "inputs is not 16 lowercase hex digits");
    }
    ++next;
  }
  if (next != fields.size()) return handed_error(text, "expected helpers= or inputs= last");
  return p;
}

std::string launcher_context(const EnvMap& env) {
  std::string context;
  for (const char* name : kLauncherContextVariables) {
    if (const auto value = lookup(env, name)) context += std::string(name) + "=" + *value + ";";
  }
  return context;
}

void record_what_was_applied(Decision& d, bool cpus_applied, const CpuSet& cpus_in_force,
                             bool memory_applied) {
  // XEONRUN_PIN=none leaves the affinity alone on purpose: the plan's CPUs are still reported,
  // for the program to use.
  const bool cpus_refused = !cpus_applied && d.pin != Pin::None && !cpus_in_force.empty();
  for (EnvVar& var : d.placed) {
    if (var.name == "XEONRUN_PLACED_MEMBIND" && !memory_applied) var.value = "none";
    if (var.name == kPlacedCpus && cpus_refused) var.value = cpus_in_force.format();
  }
  for (EnvVar& var : d.handoff) {
    if (var.name != kPlacementVariable) continue;
    Expected<HandedPlacement> handed = parse_handed_placement(var.value);
    if (!handed) continue;
    if (!memory_applied) handed->membind = Membind::None;
    if (cpus_refused) handed->cpus = cpus_in_force;
    if (!handed->helpers.is_subset_of(handed->cpus)) handed->helpers = CpuSet{};
    var.value = format_handed_placement(*handed);
  }
}

std::vector<std::string> parents_planned_variables(const EnvMap& env) {
  std::vector<std::string> names;
  if (!env.count(kPlacedRank)) return names;
  const std::string listed = lookup(env, kPlacedEnv).value_or("");
  for (const std::string_view name : split(listed, ',')) {
    if (!name.empty()) names.emplace_back(name);
  }
  return names;
}

std::string placement_inputs_fingerprint(const EnvMap& env) {
  std::vector<std::string> entries;
  for (const auto& [name, value] : env) entries.push_back(name + "=" + value);
  std::vector<const char*> pointers;
  for (const std::string& entry : entries) pointers.push_back(entry.c_str());
  pointers.push_back(nullptr);
  std::vector<std::string> context;
  for (const char* name : kLauncherContextVariables) context.push_back(std::string(name) + "=");
  std::vector<const char*> prefixes;
  for (const std::string& prefix : context) prefixes.push_back(prefix.c_str());
  char text[XEONPLACE_FINGERPRINT_SIZE];
  xeonplace_format_fingerprint(
      xeonplace_inputs_fingerprint(pointers.data(), prefixes.data(), prefixes.size()), text);
  return text;
}

CpuSet planning_affinity(const CpuSet& affinity, const EnvMap& env) {
  if (affinity.empty() || !env.count(kPlacedRank)) return affinity;
  const Expected<CpuSet> placed = parents_cpus(env);
  if (!placed || *placed != affinity) return affinity;
  const Expected<CpuSet> scope =
      CpuSet::parse(lookup(env, kPlacedScopeVariable).value_or(""), kPlacedScopeVariable);
  return scope ? *scope : CpuSet{};
}

const char* to_string(Action action) {
  switch (action) {
    case Action::Skip:
      return "skip";
    case Action::DryRun:
      return "dry run";
    case Action::Place:
      return "place";
    case Action::Correct:
      return "correct";
  }
  return "?";
}

}  // namespace xeonplace
