#include "sys/apply.h"

#include <numaif.h>
#include <sched.h>

#include <climits>

#include "sys/affinity.h"
#include "sys/environment.h"
#include "sys/loaded_libraries.h"
#include "sys/mempolicy.h"
#include "sys/reexec.h"

namespace xeonplace {

void finish_reexecuted_image(const EnvMap& env) {
  set_process_name(lookup(env, kReexecNameVariable).value_or(""));
  remove_from_environ(kReexecPrefix);
}

Applied apply_placement(const Decision& decision) {
  Applied applied;
  if (decision.pin == Pin::None) {
    applied.debug.push_back("XEONRUN_PIN=none: CPU affinity unchanged");
  } else if (!decision.pin_existing_threads) {
    // A re-executed image inherited the affinity through execve, and so did every thread its
    // libraries started; pinning them again would undo the binding libgomp gave its initial
    // thread from OMP_PROC_BIND (issue #4).
    applied.cpus = true;
  } else {
    // Threads that exist already (started by other libraries' constructors) get the whole slice.
    const Status all = pin_all_threads(decision.cpus, applied.warnings);
    if (all) {
      applied.cpus = true;
    } else {
      applied.warnings.push_back(all.error().message + " (CPU affinity unchanged)");
    }
  }
  const Expected<AppliedPolicy> memory = apply_memory_policy(decision.membind, decision.mems);
  if (memory) {
    applied.memory = memory->description;
    applied.memory_set = true;
  } else {
    applied.memory = "unchanged";
    applied.warnings.push_back(memory.error().message + " (memory policy unchanged)");
  }
  const Status exported = export_variables(decision.runtime);
  if (!exported) applied.warnings.push_back(exported.error().message);
  if (!decision.runtime.empty()) {
    for (const std::string& runtime : loaded_openmp_runtimes()) {
      applied.debug.push_back(runtime +
                              " was loaded before this constructor and read OMP_*/KMP_* already: "
                              "the values set now reach runtimes loaded later and child processes "
                              "only");
    }
  }
  return applied;
}

std::string reexec_with(const Decision& decision, const Facts& facts) {
  const std::string consequence = decision.added_libraries.empty()
                                      ? "running with the OpenMP settings the runtime read at start"
                                      : "running without the chain-loaded libraries";
  auto argv = read_cmdline();
  if (!argv) return "chain-load: " + argv.error().message + "; not re-executing; " + consequence;
  std::vector<EnvVar> set = decision.handoff;
  for (EnvVar& var : guard_env(facts.pid, facts.process_name)) set.push_back(std::move(var));
  // The new image must place itself again (its front skips a placed child): drop any export.
  const std::vector<std::string> envp =
      compose_envp(remove_from_envp(environ_entries(), {}, {"XEONRUN_PLACED_"}), set);
  const Status exec = reexec_self(*argv, envp);  // returns only on failure
  return "chain-load: " + exec.error().message + "; " + consequence;
}

namespace {

constexpr unsigned kBitsPerWord = sizeof(unsigned long) * CHAR_BIT;
constexpr int kWeightedInterleave =
    6;  // MPOL_WEIGHTED_INTERLEAVE (Linux 6.9), not in libnuma 2.0.16

std::vector<unsigned long> mask_of(const CpuSet& set) {
  const std::vector<unsigned> ids = set.ids();
  std::vector<unsigned long> mask(ids.empty() ? 0 : ids.back() / kBitsPerWord + 1, 0);
  for (unsigned id : ids) mask[id / kBitsPerWord] |= 1UL << (id % kBitsPerWord);
  return mask;
}

}  // namespace

PreparedPlacement::PreparedPlacement(const Decision& decision) {
  if (decision.action != Action::Place) return;
  if (decision.pin != Pin::None) cpus_ = mask_of(decision.cpus);
  // Preferred (one node or many, by kernel) is left to the library in the rank.
  int mode = -1;
  if (decision.membind == Membind::Bind) mode = MPOL_BIND;
  if (decision.membind == Membind::Interleave) mode = MPOL_INTERLEAVE;
  if (decision.membind == Membind::PreferredMany) mode = MPOL_PREFERRED_MANY;
  if (decision.membind == Membind::WeightedInterleave) mode = kWeightedInterleave;
  if (mode >= 0) {
    nodes_ = mask_of(decision.mems);
    if (!nodes_.empty()) mode_ = mode;
  }
}

void PreparedPlacement::apply() const noexcept {
  if (!cpus_.empty()) {
    (void)::sched_setaffinity(0, cpus_.size() * sizeof(unsigned long),
                              reinterpret_cast<const cpu_set_t*>(cpus_.data()));
  }
  if (mode_ >= 0) (void)::set_mempolicy(mode_, nodes_.data(), nodes_.size() * kBitsPerWord + 1);
}

}  // namespace xeonplace
