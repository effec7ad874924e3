// Loads a Topology: the live machine through hwloc (only what this process may use), or a fixture
// named like XEONRUN_TOPOLOGY: "lscpu:FILE", "xml:FILE", "synthetic:DESC".
#pragma once

#include <string>

#include "core/expected.h"
#include "core/topology.h"

namespace xeonplace {

// "" means this machine. Errors name the source and what is accepted.
Expected<Topology> load_topology(const std::string& source);

Expected<Topology> load_live_topology();
Expected<Topology> load_hwloc_xml(const std::string& path);
Expected<Topology> load_hwloc_synthetic(const std::string& description);
Expected<Topology> load_lscpu_file(const std::string& path);

}  // namespace xeonplace
