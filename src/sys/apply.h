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
  bool cpus = false;         // the affinity is the decision's CPUs
  std::string memory;        // the memory policy set ("bind 0"), or "unchanged"
  bool memory_set = false;   // the memory policy is the decision's
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

}  // namespace xeonplace
