// parse_lscpu over arbitrary text: a topology it accepts must be well formed (ascending unique
// PUs, nodes consistent with their PUs, allowed sets inside what exists).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/lscpu.h"
#include "fuzz_common.h"
#include "fuzz_topology.h"

using xeonplace::fuzz::require_one_line;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto topology = xeonplace::parse_lscpu(text, "lscpu:fuzz");
  if (!topology) {
    require_one_line(topology.error());
    return 0;
  }
  xeonplace::fuzz::check_topology(*topology);
  return 0;
}
