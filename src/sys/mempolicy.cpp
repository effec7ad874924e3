#include "sys/mempolicy.h"

#include <numaif.h>

#include <cerrno>
#include <cstring>
#include <vector>

// Debian 12's libnuma 2.0.16 headers predate Linux 6.9's mode; the kernel's number is stable ABI.
#ifndef MPOL_WEIGHTED_INTERLEAVE
#define MPOL_WEIGHTED_INTERLEAVE 6
#endif

namespace xeonplace {
namespace {

constexpr unsigned kBitsPerWord = sizeof(unsigned long) * 8;

std::vector<unsigned long> node_mask(const CpuSet& nodes) {
  std::vector<unsigned long> mask(nodes.last().value_or(0) / kBitsPerWord + 1, 0);
  for (unsigned node : nodes.ids()) mask[node / kBitsPerWord] |= 1UL << (node % kBitsPerWord);
  return mask;
}

// The kernel reads maxnode - 1 bits (an off-by-one kept for compatibility), hence the + 1.
long set_policy(int mode, const std::vector<unsigned long>& mask) {
  return ::set_mempolicy(mode, mask.data(), mask.size() * kBitsPerWord + 1);
}

// EPERM is a policy, not a bad request: Docker's default seccomp profile refuses the memory-policy
// calls to a container without CAP_SYS_NICE. The warning says so, and what lifts it.
Error policy_error(const char* what, const CpuSet& nodes, int error) {
  std::string message = std::string("set_mempolicy(") + what + ", nodes " + nodes.format() +
                        ") failed: " + std::strerror(error);
  if (error == EPERM) {
    message +=
        "; refused by a seccomp filter or a missing capability (Docker's default profile "
        "refuses it without CAP_SYS_NICE: run the container with --cap-add SYS_NICE, or a "
        "seccomp profile that allows set_mempolicy and mbind); memory is not bound";
  }
  return make_error(message);
}

// A mode this kernel does not know (EINVAL): the message names the Linux release that has it.
Expected<AppliedPolicy> set_tier_policy(Membind policy, const CpuSet& nodes) {
  const bool many = policy == Membind::PreferredMany;
  const int mode = many ? MPOL_PREFERRED_MANY : MPOL_WEIGHTED_INTERLEAVE;
  const char* name = to_string(policy);
  if (set_policy(mode, node_mask(nodes)) == 0) {
    return AppliedPolicy{mode, nodes, std::string(name) + " " + nodes.format()};
  }
  const int error = errno;
  if (error == EINVAL) {
    return make_error(std::string("set_mempolicy(") + name + ", nodes " + nodes.format() +
                      ") failed: this kernel has no " +
                      (many ? "MPOL_PREFERRED_MANY (Linux 5.15 or later has it)"
                            : "MPOL_WEIGHTED_INTERLEAVE (Linux 6.9 or later has it)"));
  }
  return policy_error(name, nodes, error);
}

}  // namespace

Expected<AppliedPolicy> apply_memory_policy(Membind policy, const CpuSet& nodes) {
  if (policy == Membind::None) return AppliedPolicy{MPOL_DEFAULT, {}, "none (unchanged)"};
  if (nodes.empty()) {
    return make_error(std::string("memory policy ") + to_string(policy) +
                      " needs nodes; none planned");
  }
  switch (policy) {
    case Membind::Bind:
      if (set_policy(MPOL_BIND, node_mask(nodes)) != 0) return policy_error("bind", nodes, errno);
      return AppliedPolicy{MPOL_BIND, nodes, "bind " + nodes.format()};
    case Membind::Interleave:
      if (set_policy(MPOL_INTERLEAVE, node_mask(nodes)) != 0) {
        return policy_error("interleave", nodes, errno);
      }
      return AppliedPolicy{MPOL_INTERLEAVE, nodes, "interleave " + nodes.format()};
    case Membind::Preferred: {
      if (nodes.count() > 1) {
        if (set_policy(MPOL_PREFERRED_MANY, node_mask(nodes)) == 0) {
          return AppliedPolicy{MPOL_PREFERRED_MANY, nodes, "preferred " + nodes.format()};
        }
        if (errno != EINVAL) return policy_error("preferred", nodes, errno);
      }
      // One node, or a kernel older than 5.15 (EINVAL for the unknown mode): the first node.
      const CpuSet first{*nodes.first()};
      if (set_policy(MPOL_PREFERRED, node_mask(first)) != 0) {
        return policy_error("preferred", first, errno);
      }
      std::string description = "preferred " + first.format();
      if (nodes.count() > 1) {
        description += " (first of " + nodes.format() + ": no MPOL_PREFERRED_MANY in this kernel)";
      }
      return AppliedPolicy{MPOL_PREFERRED, first, description};
    }
    case Membind::PreferredMany:
    case Membind::WeightedInterleave:
      return set_tier_policy(policy, nodes);
    case Membind::None:
      break;
  }
  return AppliedPolicy{MPOL_DEFAULT, {}, "none (unchanged)"};
}

Expected<AppliedPolicy> current_memory_policy() {
  int mode = 0;
  // Linux has at most 1024 nodes (NODES_SHIFT 10) and refuses masks over a page of bits.
  std::vector<unsigned long> mask(4096 / kBitsPerWord, 0);
  if (::get_mempolicy(&mode, mask.data(), mask.size() * kBitsPerWord, nullptr, 0) != 0) {
    return make_error(std::string("get_mempolicy failed: ") + std::strerror(errno));
  }
  AppliedPolicy policy;
  policy.mode = mode;
  for (unsigned node = 0; node < mask.size() * kBitsPerWord; ++node) {
    if (mask[node / kBitsPerWord] & (1UL << (node % kBitsPerWord))) policy.nodes.add(node);
  }
  policy.description = "mode " + std::to_string(mode) + " nodes " + policy.nodes.format();
  return policy;
}

}  // namespace xeonplace
