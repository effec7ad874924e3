// The front's reader of a handed placement (core/handed_reader.h) over arbitrary text: whatever it
// reads, the engine's parser (parse_handed_placement) must accept with the same values, and write
// back byte for byte (the reader takes only the canonical line), so that a rank confirmed without
// the engine is told exactly what the engine would have told it (docs/design.md §4).
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/decision.h"
#include "core/handed_reader.h"
#include "core/text.h"
#include "fuzz_common.h"

using xeonplace::fuzz::require;
using xeonplace::fuzz::require_one_line;

namespace {

std::string text_of(xeonplace_text t) { return std::string(t.text, t.size); }

bool same_set(const unsigned long* bits, unsigned limit, const xeonplace::CpuSet& set) {
  for (unsigned id = 0; id < limit; ++id) {
    const bool bit =
        (bits[id / XEONPLACE_HANDED_WORD_BITS] >> (id % XEONPLACE_HANDED_WORD_BITS)) & 1;
    if (bit != set.contains(id)) return false;
  }
  return !set.last() || *set.last() < limit;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  if (line.find('\0') != std::string::npos) return 0;  // an environment value has no NUL
  auto parsed = xeonplace::parse_handed_placement(line);
  if (!parsed) require_one_line(parsed.error());
  xeonplace_handed h{};
  if (xeonplace_read_handed(line.c_str(), &h) == 0) return 0;
  require(parsed.ok(), "read by the front, refused by the engine", line);
  require(xeonplace::format_handed_placement(*parsed) == line, "read a non-canonical line", line);
  require(h.rank == parsed->rank && h.nranks == parsed->nranks, "rank or nranks differ", line);
  require(same_set(h.cpus, XEONPLACE_HANDED_MAX_CPUS, parsed->cpus), "cpus differ", line);
  require(same_set(h.mems, XEONPLACE_HANDED_MAX_NODES, parsed->mems), "mems differ", line);
  require(text_of(h.cpus_text) == parsed->cpus.format() &&
              text_of(h.mems_text) == parsed->mems.format() &&
              text_of(h.rank_text) == std::to_string(parsed->rank) &&
              text_of(h.nranks_text) == std::to_string(parsed->nranks),
          "an exported text differs", line);
  require(text_of(h.membind_text) == xeonplace::to_string(parsed->membind) &&
              static_cast<int>(h.pin) == static_cast<int>(parsed->pin),
          "membind or pin differ", line);
  require(text_of(h.env_text) == xeonplace::join(parsed->env, ","), "env differs", line);
  require(text_of(h.inputs) == parsed->inputs && !parsed->inputs.empty(), "inputs differ", line);
  require(line.substr(0, h.vouched_size) + ";inputs=" + parsed->inputs == line,
          "the vouched part is not the line without its inputs field", line);
  return 0;
}
