// parse_config over an environment built from the input ("NAME=VALUE" lines). Every bad value must
// come back as one error line; a good CPU list must mean the same after its canonical rewrite.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/options.h"
#include "fuzz_common.h"

using xeonplace::fuzz::require;
using xeonplace::fuzz::require_one_line;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  xeonplace::EnvMap env = xeonplace::fuzz::env_from_lines(text);

  // parse_config already asks closest_variable for an unknown name; the flags are xeonrun-spawn's.
  for (const auto& entry : env) (void)xeonplace::flag_for(entry.first);

  auto config = xeonplace::parse_config(env);
  if (!config) {
    require_one_line(config.error());
    return 0;
  }
  if (config->rank && config->nranks) {
    // A rank is an index into the ranks sharing the machine (design.md §8).
    require(*config->rank < *config->nranks || config->rank_source.name != "XEONRUN_RANK",
            "XEONRUN_RANK accepted outside XEONRUN_NINSTANCES",
            std::to_string(*config->rank) + " of " + std::to_string(*config->nranks));
  }
  if (config->core_list && env.count("XEONRUN_CORE_LIST")) {
    xeonplace::EnvMap canonical = env;
    canonical["XEONRUN_CORE_LIST"] = config->core_list->format();
    auto again = xeonplace::parse_config(canonical);
    require(again.ok(), "canonical XEONRUN_CORE_LIST rejected", canonical["XEONRUN_CORE_LIST"]);
    require(again->core_list == config->core_list, "canonical XEONRUN_CORE_LIST changes the set");
  }
  return 0;
}
