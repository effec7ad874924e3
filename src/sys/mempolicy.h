// NUMA memory policy of this process (numactl -m and friends), through libnuma's set_mempolicy.
// The policy is per thread: it applies to the calling thread and every thread it creates
// afterwards; threads that already exist keep theirs (only a re-exec, issue #4, changes them).
#pragma once

#include <string>

#include "core/cpuset.h"
#include "core/expected.h"
#include "core/options.h"

namespace xeonplace {

struct AppliedPolicy {
  int mode = 0;             // the MPOL_* mode set (MPOL_DEFAULT for Membind::None)
  CpuSet nodes;             // the node mask set
  std::string description;  // for the log: "bind 0", "preferred 0 (first of 0,1: ...)"
};

// Bind → MPOL_BIND over `nodes`; Interleave → MPOL_INTERLEAVE over `nodes`; Preferred →
// MPOL_PREFERRED_MANY over `nodes` when the kernel has it (Linux 5.15+), else MPOL_PREFERRED on the
// first node; PreferredMany → MPOL_PREFERRED_MANY over `nodes` (Linux 5.15+, no fallback: the
// error names the release needed); WeightedInterleave → MPOL_WEIGHTED_INTERLEAVE over `nodes`, by
// the kernel's weights in /sys/kernel/mm/mempolicy/weighted_interleave/ (Linux 6.9+); None →
// nothing is changed. An error names the policy, the nodes and the reason.
Expected<AppliedPolicy> apply_memory_policy(Membind policy, const CpuSet& nodes);

// The calling thread's policy (for tests and the debug log).
Expected<AppliedPolicy> current_memory_policy();

}  // namespace xeonplace
