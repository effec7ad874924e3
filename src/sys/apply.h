// Applying a decision (core/decision.h) to this process: CPU affinity, memory policy, the runtime
// variables, and the re-exec that chain-loads the allocator and OpenMP runtime (issue #4,
// docs/design.md "The re-exec"). Each step reports what it really did: a refused call is a
// warning and is not reported as applied.
#pragma once

#include <string>
#include <vector>

#include "core/decision.h"

namespace xeonplace {

struct Applied {
  bool cpus = false;        // the affinity is the decision's CPUs
  std::string memory;       // the memory policy set ("bind 0"), or "unchanged"
  bool memory_set = false;  // the memory policy is the decision's
  std::vector<std::string> warnings;
  std::vector<std::string> debug;
};

// In the image a re-exec started: restores the process name and removes XEONRUN_REEXEC_* from
// `environ` before main() (the program and its children never see them).
void finish_reexecuted_image(const EnvMap& env);

// Affinity (every existing thread, unless the decision says they inherited it), memory policy,
// then the runtime variables (setenv).
Applied apply_placement(const Decision& decision);

// Re-executes this process with the decision's handoff, the re-exec guard and the process name
// (does not return when it succeeds). Returns the warning line when the exec failed.
std::string reexec_with(const Decision& decision, const Facts& facts);

// A decision's CPUs and memory policy prepared before fork(), applied in the child between fork
// and exec with system calls only (async-signal-safe), as `numactl -C -m` does: the rank starts
// inside its slice, so a runtime that reads its affinity at load (libgomp) sees the slice, and
// the library in the rank finds its threads already where the handed placement says.
class PreparedPlacement {
 public:
  explicit PreparedPlacement(const Decision& decision);
  // Best effort: a refused call leaves the rank as it was, and the library in the rank applies
  // the placement itself and reports why it could not.
  void apply() const noexcept;

 private:
  std::vector<unsigned long> cpus_;   // sched_setaffinity mask; empty: leave the affinity
  std::vector<unsigned long> nodes_;  // set_mempolicy mask
  int mode_ = -1;                     // MPOL_BIND, _INTERLEAVE, ...; -1: leave the policy
};

}  // namespace xeonplace
