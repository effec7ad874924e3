// The machine as a plain value: every PU with its core, package and NUMA node, the NUMA nodes
// (including CPU-less memory nodes such as HBM or CXL), and what this process may use.
// Built by hwloc on a live machine or from a fixture; the planner only ever sees this value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/cpuset.h"

namespace xeonplace {

// Hybrid parts (Alder Lake and later) mix performance and efficient cores; everything else is
// Performance. Parts with three kinds (Core Ultra: P, E and low-power E) count every kind below
// the most performant one as Efficient.
enum class CpuKind { Performance, Efficient };

// How a PU's `node` was found. Own: a NUMA node holds the CPU. Nearest: no online, allowed node
// holds it (its node is offline, or absent from a cgroup-restricted export), and `node` is the
// nearest one that exists and is allowed. None: no node could be chosen; memory stays unbound.
enum class NodeLink { Own, Nearest, None };

struct Pu {
  unsigned cpu = 0;      // OS index, what sched_setaffinity and numactl -C take
  unsigned core = 0;     // machine-wide unique core id; SMT siblings share it
  unsigned package = 0;  // socket
  unsigned node = 0;     // NUMA node OS index
  CpuKind kind = CpuKind::Performance;
  bool online = true;
  bool allowed = true;  // inside the cgroup cpuset and the inherited affinity
  NodeLink node_link = NodeLink::Own;
  // Machine-wide unique id of its last-level (L3) cache domain, when the source told (hwloc's L3
  // object, lscpu's L3 column); the planner keeps ranks inside one (docs/design.md §12).
  std::optional<unsigned> l3{};
};

struct NumaNode {
  unsigned id = 0;  // OS index, what numactl -m and set_mempolicy take
  CpuSet cpus;      // every PU of the node, usable or not; empty for a CPU-less memory node
  bool allowed = true;
  bool cpuless() const { return cpus.empty(); }
};

// A physical core as the planner uses it: its usable PUs, first PU first.
struct Core {
  unsigned id = 0;
  unsigned package = 0;
  unsigned node = 0;
  CpuKind kind = CpuKind::Performance;
  std::vector<unsigned> cpus;  // ascending OS indices of its online, allowed PUs
  NodeLink node_link = NodeLink::Own;
  std::optional<unsigned> l3{};  // its first PU's L3 domain
};

// One entry of hwloc's NUMA distance matrix (relative latency from one node to another).
struct NodeDistance {
  unsigned from = 0;
  unsigned to = 0;
  std::uint64_t value = 0;
};

struct Topology {
  std::vector<Pu> pus;          // ascending by cpu; offline and disallowed PUs are kept, marked
  std::vector<NumaNode> nodes;  // ascending by id
  CpuSet allowed_cpus;          // online and allowed
  CpuSet allowed_mems;
  std::vector<NodeDistance> distances;  // empty when the source gave none
  std::string
      source;  // where it came from, for messages: "this machine (hwloc)", "lscpu:FILE", ...

  bool usable(const Pu& pu) const { return pu.online && pu.allowed; }
  bool has_hybrid_cpus() const;
  // Whether every usable PU has an L3 domain (the source described the caches).
  bool has_l3_domains() const;

  // Cores with at least one usable PU, ordered by NUMA node, then own node before borrowed (see
  // NodeLink, borrowed ones by package), then by first PU. Efficient cores are left out unless
  // asked for.
  std::vector<Core> usable_cores(bool include_efficient) const;

  // The allowed node nearest to node `id` by the distance matrix (ties: the lower id), `id` itself
  // when it is allowed, the only allowed node when there is one, else nullopt.
  std::optional<unsigned> nearest_allowed_node(unsigned id) const;

  // Fills allowed_cpus/allowed_mems and each node's cpus from pus and nodes; loaders call it last.
  void finalize();
};

}  // namespace xeonplace
