// Launcher detection over arbitrary launcher variables, and the Slurm task-count list
// ("2(x3),1") on its own with any node id.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/launcher.h"
#include "fuzz_common.h"

using xeonplace::fuzz::require;
using xeonplace::fuzz::require_one_line;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const unsigned node_id = input.ConsumeIntegral<unsigned>() % 4096;
  const std::string list = input.ConsumeRandomLengthString(256);
  const std::string lines = input.ConsumeRemainingBytesAsString();

  auto tasks = xeonplace::slurm_tasks_on_node(list, node_id);
  if (!tasks) require_one_line(tasks.error());

  xeonplace::EnvMap env = xeonplace::fuzz::env_from_lines(lines);
  // Give the Slurm path its list too, so both parsers meet the fuzzed text.
  if (input.remaining_bytes() == 0 && !list.empty()) env.emplace("SLURM_STEP_TASKS_PER_NODE", list);
  auto found = xeonplace::detect_launcher(env);
  if (!found) {
    require_one_line(found.error());
    return 0;
  }
  if (!*found) return 0;
  const xeonplace::LauncherRank& rank = **found;
  require(rank.launcher != xeonplace::Launcher::None && !rank.rank_variable.empty(),
          "launcher without a name");
  require(env.count(rank.rank_variable) == 1, "rank variable not in the environment",
          rank.rank_variable);
  if (rank.local_nranks) {
    require(!rank.size_variable.empty() || *rank.local_nranks == 0, "size without its variable");
  }
  return 0;
}
