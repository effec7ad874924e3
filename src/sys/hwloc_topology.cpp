#include "sys/hwloc_topology.h"

#include <cpuid.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

namespace xeonplace {
namespace {

// CPUID leaf 7, EDX bit 15: the package mixes core types (Alder Lake and later).
bool cpu_is_hybrid() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (edx & (1U << 15)) != 0;
#else
  return false;
#endif
}

unsigned logical_or_zero(hwloc_obj_t object) { return object ? object->logical_index : 0; }

// A PU's node is the NUMA node with the smallest cpuset that contains it. A CPU-less memory
// node (HBM, CXL) gets the cpuset of the locality it is attached to, which is never smaller than
// the local DRAM node's; on a tie (HBM attached next to DRAM) the lower OS index is the DRAM one,
// because Linux numbers nodes with CPUs first.
std::vector<hwloc_obj_t> numa_nodes(hwloc_topology_t topology) {
  std::vector<hwloc_obj_t> nodes;
  for (hwloc_obj_t node = hwloc_get_next_obj_by_type(topology, HWLOC_OBJ_NUMANODE, nullptr);
       node != nullptr; node = hwloc_get_next_obj_by_type(topology, HWLOC_OBJ_NUMANODE, node)) {
    nodes.push_back(node);
  }
  return nodes;
}

std::optional<unsigned> node_of_cpu(const std::vector<hwloc_obj_t>& nodes, unsigned cpu,
                                    bool complete) {
  hwloc_obj_t best = nullptr;
  int best_weight = std::numeric_limits<int>::max();
  for (hwloc_obj_t node : nodes) {
    // The node's own cpuset, whatever its parent: hwloc attaches a node to a cache (Opteron dies,
    // Kunpeng dies, KNL memory-side caches) or a Group as readily as to a package.
    hwloc_const_cpuset_t set = complete ? node->complete_cpuset : node->cpuset;
    if (set == nullptr || !hwloc_bitmap_isset(set, cpu)) continue;
    const int weight = hwloc_bitmap_weight(set);
    if (weight < best_weight || (weight == best_weight && node->os_index < best->os_index)) {
      best = node;
      best_weight = weight;
    }
  }
  if (best == nullptr) return std::nullopt;
  return best->os_index;
}

// The deepest object of `type` whose complete cpuset holds `cpu`: how an offline CPU, which has
// no PU object, still finds its core and package when the OS reported them.
hwloc_obj_t covering_object(hwloc_topology_t topology, hwloc_obj_type_t type, unsigned cpu) {
  for (hwloc_obj_t obj = hwloc_get_next_obj_by_type(topology, type, nullptr); obj != nullptr;
       obj = hwloc_get_next_obj_by_type(topology, type, obj)) {
    if (obj->complete_cpuset && hwloc_bitmap_isset(obj->complete_cpuset, cpu)) return obj;
  }
  return nullptr;
}

// Marks efficient PUs. With one kind (or none) the machine is homogeneous. When hwloc knows
// efficiencies, every kind below the highest is efficient (Core Ultra has three kinds: P, E and
// low-power E); otherwise only the CoreType info tells.
void mark_cpu_kinds(hwloc_topology_t topology, std::vector<Pu>& pus) {
  const int kinds = hwloc_cpukinds_get_nr(topology, 0);
  if (kinds <= 1) return;
  struct Kind {
    hwloc_bitmap_t cpus;
    int efficiency;
    bool atom;
  };
  std::vector<Kind> found;
  int highest = -1;
  for (int kind = 0; kind < kinds; ++kind) {
    Kind k{hwloc_bitmap_alloc(), -1, false};
    unsigned nr_infos = 0;
    struct hwloc_info_s* infos = nullptr;
    if (hwloc_cpukinds_get_info(topology, static_cast<unsigned>(kind), k.cpus, &k.efficiency,
                                &nr_infos, &infos, 0) != 0) {
      hwloc_bitmap_free(k.cpus);
      continue;
    }
    for (unsigned i = 0; i < nr_infos; ++i) {
      k.atom = k.atom || (std::strcmp(infos[i].name, "CoreType") == 0 &&
                          std::strcmp(infos[i].value, "IntelAtom") == 0);
    }
    highest = std::max(highest, k.efficiency);
    found.push_back(k);
  }
  hwloc_bitmap_t efficient = hwloc_bitmap_alloc();
  for (const Kind& k : found) {
    const bool below = k.efficiency >= 0 && k.efficiency < highest;
    if (below || (k.efficiency < 0 && k.atom)) hwloc_bitmap_or(efficient, efficient, k.cpus);
    hwloc_bitmap_free(k.cpus);
  }
  // A kind set that covers every PU says nothing about which are efficient.
  if (hwloc_bitmap_isincluded(hwloc_topology_get_topology_cpuset(topology), efficient) == 0) {
    for (Pu& pu : pus) {
      if (hwloc_bitmap_isset(efficient, pu.cpu)) pu.kind = CpuKind::Efficient;
    }
  }
  hwloc_bitmap_free(efficient);
}

// hwloc's NUMA latency matrix (the first one it has; a bandwidth matrix would rank backwards).
void read_distances(hwloc_topology_t topology, std::vector<NodeDistance>& out) {
  unsigned nr = 1;
  struct hwloc_distances_s* matrix = nullptr;
  if (hwloc_distances_get_by_type(topology, HWLOC_OBJ_NUMANODE, &nr, &matrix,
                                  HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) != 0 ||
      nr == 0 || matrix == nullptr) {
    return;
  }
  for (unsigned i = 0; i < matrix->nbobjs; ++i) {
    for (unsigned j = 0; j < matrix->nbobjs; ++j) {
      out.push_back(NodeDistance{matrix->objs[i]->os_index, matrix->objs[j]->os_index,
                                 matrix->values[i * matrix->nbobjs + j]});
    }
  }
  hwloc_distances_release(topology, matrix);
}

// A CPU no node holds (its node is offline, or missing from a cgroup-restricted export): the only
// allowed node, else the only allowed node local to its package, else none.
void link_to_nearest_node(hwloc_topology_t topology, const std::vector<hwloc_obj_t>& nodes,
                          hwloc_const_nodeset_t allowed_nodes, Pu& pu) {
  std::vector<unsigned> allowed;
  std::vector<unsigned> local;
  hwloc_obj_t package = covering_object(topology, HWLOC_OBJ_PACKAGE, pu.cpu);
  for (hwloc_obj_t node : nodes) {
    if (hwloc_bitmap_isset(allowed_nodes, node->os_index) == 0) continue;
    allowed.push_back(node->os_index);
    if (package != nullptr && node->complete_cpuset != nullptr &&
        hwloc_bitmap_intersects(node->complete_cpuset, package->complete_cpuset) != 0) {
      local.push_back(node->os_index);
    }
  }
  pu.node_link = NodeLink::Nearest;
  if (allowed.size() == 1) {
    pu.node = allowed.front();
  } else if (local.size() == 1) {
    pu.node = local.front();
  } else {
    // The node stays unknown (the planner leaves such a CPU's memory unbound, with a warning),
    // but it still names a node the topology lists, so no reader looks up one that is missing.
    pu.node_link = NodeLink::None;
    if (!allowed.empty()) {
      pu.node = allowed.front();
    } else if (!nodes.empty()) {
      pu.node = nodes.front()->os_index;
    }
  }
}

Error index_error(const std::string& source, const char* what, unsigned index) {
  return make_error(source + ": " + what + " OS index " + std::to_string(index) +
                    " is larger than " + std::to_string(kMaxSetId) + ", the largest supported");
}

}  // namespace

void configure_lean_discovery(hwloc_topology_t topology, bool live) {
  if (!live) {
    // An imported topology (XML, synthetic) keeps every CPU-side object and the distances: they
    // cost nothing to read, and removing a cache re-attaches the NUMA nodes hwloc hung from it
    // (Opteron and Kunpeng dies, KNL memory-side caches) to the package, whose cpuset they then
    // take, so every node of the package would claim every CPU of it.
    hwloc_topology_set_io_types_filter(topology, HWLOC_TYPE_FILTER_KEEP_NONE);
    hwloc_topology_set_type_filter(topology, HWLOC_OBJ_MISC, HWLOC_TYPE_FILTER_KEEP_NONE);
    // Memory-side caches (KNL's MCDRAM in cache mode) are dropped by default, like CPU caches.
    hwloc_topology_set_type_filter(topology, HWLOC_OBJ_MEMCACHE, HWLOC_TYPE_FILTER_KEEP_ALL);
    hwloc_topology_set_flags(
        topology, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED | HWLOC_TOPOLOGY_FLAG_NO_MEMATTRS);
    return;
  }
  // set_all skips the types that cannot be filtered out (Machine, PU, NUMANode).
  hwloc_topology_set_all_types_filter(topology, HWLOC_TYPE_FILTER_KEEP_NONE);
  hwloc_topology_set_type_filter(topology, HWLOC_OBJ_CORE, HWLOC_TYPE_FILTER_KEEP_ALL);
  hwloc_topology_set_type_filter(topology, HWLOC_OBJ_PACKAGE, HWLOC_TYPE_FILTER_KEEP_ALL);
  // L3 caches are the planner's cache domains (docs/design.md, cache domains); the cost of keeping
  // them is measured there (tools/bench/bench_topology_load).
  hwloc_topology_set_type_filter(topology, HWLOC_OBJ_L3CACHE, HWLOC_TYPE_FILTER_KEEP_ALL);
  // Groups stay where they carry structure: hwloc attaches a NUMA node that matches no core or
  // package (sub-NUMA clusters, "numa:2" in a synthetic description) to a Group, and without it
  // the node would inherit the whole machine's cpuset and lose its locality.
  hwloc_topology_set_type_filter(topology, HWLOC_OBJ_GROUP, HWLOC_TYPE_FILTER_KEEP_STRUCTURE);
  hwloc_topology_set_flags(topology, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED |
                                         HWLOC_TOPOLOGY_FLAG_NO_DISTANCES |
                                         HWLOC_TOPOLOGY_FLAG_NO_MEMATTRS);
  // I/O discovery is already off through the filters; blacklisting its components also saves
  // their instantiation. Unknown names (plugins not installed) are harmless failures.
  for (const char* name : {"linuxio", "pci", "opencl", "gl", "cuda", "nvml", "rsmi", "levelzero"}) {
    hwloc_topology_set_components(topology, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, name);
  }
  if (!cpu_is_hybrid()) {
    hwloc_topology_set_components(topology, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "x86");
  }
}

Expected<Topology> topology_from_hwloc(hwloc_topology_t topology, hwloc_const_cpuset_t allowed_cpus,
                                       hwloc_const_nodeset_t allowed_nodes,
                                       const std::string& source) {
  Topology out;
  out.source = source;
  const std::vector<hwloc_obj_t> nodes = numa_nodes(topology);
  const unsigned core_count =
      static_cast<unsigned>(hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_CORE));

  CpuSet seen;
  for (hwloc_obj_t obj = hwloc_get_next_obj_by_type(topology, HWLOC_OBJ_PU, nullptr);
       obj != nullptr; obj = hwloc_get_next_obj_by_type(topology, HWLOC_OBJ_PU, obj)) {
    if (obj->os_index > kMaxSetId) return index_error(source, "PU", obj->os_index);
    // hwloc accepts a hand-made XML naming one CPU twice (found by tests/fuzz/fuzz_hwloc_xml);
    // planned as two PUs, it would go to two ranks.
    if (seen.contains(obj->os_index)) {
      return make_error(source + ": PU os_index " + std::to_string(obj->os_index) +
                        " appears twice; not a valid topology");
    }
    seen.add(obj->os_index);
    Pu pu;
    pu.cpu = obj->os_index;
    hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(topology, HWLOC_OBJ_CORE, obj);
    // Without Core objects (some VMs and non-x86 kernels) each PU is its own core; numbering
    // past the real cores keeps ids unique.
    pu.core = core ? core->logical_index : core_count + obj->logical_index;
    pu.package = logical_or_zero(hwloc_get_ancestor_obj_by_type(topology, HWLOC_OBJ_PACKAGE, obj));
    if (hwloc_obj_t l3 = hwloc_get_ancestor_obj_by_type(topology, HWLOC_OBJ_L3CACHE, obj)) {
      pu.l3 = l3->logical_index;
    }
    if (auto node = node_of_cpu(nodes, pu.cpu, false)) {
      pu.node = *node;
    } else {
      link_to_nearest_node(topology, nodes, allowed_nodes, pu);
    }
    pu.allowed = hwloc_bitmap_isset(allowed_cpus, pu.cpu) != 0;
    out.pus.push_back(pu);
  }

  // Offline CPUs are in the complete cpuset but have no PU object.
  hwloc_bitmap_t offline = hwloc_bitmap_dup(hwloc_topology_get_complete_cpuset(topology));
  hwloc_bitmap_andnot(offline, offline, hwloc_topology_get_topology_cpuset(topology));
  unsigned next_core = core_count + static_cast<unsigned>(out.pus.size());
  for (int cpu = hwloc_bitmap_first(offline); cpu >= 0; cpu = hwloc_bitmap_next(offline, cpu)) {
    const unsigned id = static_cast<unsigned>(cpu);
    if (id > kMaxSetId) break;        // an infinite or absurd complete set: nothing real past here
    if (seen.contains(id)) continue;  // a PU object outside its own cpuset (malformed XML)
    Pu pu;
    pu.cpu = id;
    pu.online = false;
    pu.allowed = hwloc_bitmap_isset(allowed_cpus, id) != 0;
    hwloc_obj_t core = covering_object(topology, HWLOC_OBJ_CORE, id);
    pu.core = core ? core->logical_index : next_core++;
    pu.package = logical_or_zero(covering_object(topology, HWLOC_OBJ_PACKAGE, id));
    if (hwloc_obj_t l3 = covering_object(topology, HWLOC_OBJ_L3CACHE, id))
      pu.l3 = l3->logical_index;
    if (auto node = node_of_cpu(nodes, id, true)) {
      pu.node = *node;
    } else {
      link_to_nearest_node(topology, nodes, allowed_nodes, pu);
    }
    out.pus.push_back(pu);
  }
  hwloc_bitmap_free(offline);

  mark_cpu_kinds(topology, out.pus);

  for (hwloc_obj_t obj : nodes) {
    if (obj->os_index > kMaxSetId) return index_error(source, "NUMA node", obj->os_index);
    NumaNode node;
    node.id = obj->os_index;
    node.allowed = hwloc_bitmap_isset(allowed_nodes, obj->os_index) != 0;
    out.nodes.push_back(node);
  }
  read_distances(topology, out.distances);
  out.finalize();
  return out;
}

}  // namespace xeonplace
