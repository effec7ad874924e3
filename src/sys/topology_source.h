// Loads a Topology: the live machine through hwloc (only what this process may use), or a fixture
// named like XEONRUN_TOPOLOGY: "lscpu:FILE", "xml:FILE", "synthetic:DESC".
#pragma once

#include <string>

#include "core/expected.h"
#include "core/topology.h"

namespace xeonplace {

// What "allowed" means for the live machine. A launcher that binds each rank by default (Open MPI,
// Slurm) leaves a 1-CPU affinity that must not be sliced again, so the engine may plan over the
// cgroup's cpuset alone (issue #6); otherwise the inherited affinity restricts it too.
enum class LiveScope { CgroupAndAffinity, CgroupOnly };

// "" means this machine. Errors name the source and what is accepted.
Expected<Topology> load_topology(const std::string& source,
                                 LiveScope scope = LiveScope::CgroupAndAffinity);

// PUs outside the scope are kept with allowed=false; offline PUs with online=false. Discovers only
// PU/CORE/PACKAGE/NUMANODE with I/O and unneeded backends off (design.md §6-§7: ~0.3 ms vs 3-4 ms).
Expected<Topology> load_live_topology(LiveScope scope = LiveScope::CgroupAndAffinity);
Expected<Topology> load_hwloc_xml(const std::string& path);
Expected<Topology> load_hwloc_synthetic(const std::string& description);
Expected<Topology> load_lscpu_file(const std::string& path);

}  // namespace xeonplace
