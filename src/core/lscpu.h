// Parser for `lscpu --parse=CPU,Core,Socket,Node` dumps, the format run_cpu reads.
#pragma once

#include <string>
#include <string_view>

#include "core/expected.h"
#include "core/topology.h"

namespace xeonplace {

// `#` lines are comments; the Node column may be empty (node 0); offline CPUs may be missing or
// have empty/"-" Core and Socket columns (kept as offline PUs). `source` names the input in errors
// ("lscpu:/path", line numbers are added).
Expected<Topology> parse_lscpu(std::string_view text, const std::string& source);

}  // namespace xeonplace
