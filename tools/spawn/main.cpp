// xeonrun-spawn: read the flags, plan, then either show the plan or start the ranks and report how
// they ended. The placement itself happens inside each rank, by the preloaded library.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/options.h"
#include "core/plan_format.h"
#include "core/planner.h"
#include "sys/topology_source.h"
#include "tools/spawn/cli.h"
#include "tools/spawn/library_path.h"
#include "tools/spawn/output.h"
#include "tools/spawn/program.h"
#include "tools/spawn/rank_env.h"
#include "tools/spawn/rank_plan.h"
#include "tools/spawn/summary.h"
#include "tools/spawn/supervisor.h"

extern char** environ;

namespace {

constexpr int kUsageError = 2;
constexpr int kNotFound = 127;

int fail(int code, const std::string& message) {
  std::string line = "xeonrun-spawn: " + message + "\n";
  xeonplace::spawn::write_all(2, line);
  return code;
}

int run(const std::vector<std::string>& args) {
  using namespace xeonplace;
  using namespace xeonplace::spawn;

  auto options = parse_args(args);
  if (!options) return fail(kUsageError, options.error().message);
  if (options->help) {
    write_all(1, help_text());
    return 0;
  }
  if (options->version) {
    write_all(1, std::string("xeonrun-spawn ") + XEONPLACE_VERSION + "\n");
    return 0;
  }

  const EnvMap environment = env_from_strings(environ);
  const EnvMap planning = planning_env(environment, options->flag_env);
  auto config = parse_config(planning);
  if (!config) return fail(kUsageError, with_flag_names(config.error().message, *options));
  auto topology = load_topology(config->topology);
  if (!topology) return fail(kUsageError, with_flag_names(topology.error().message, *options));
  auto placement = plan(*topology, *config);
  if (!placement) return fail(kUsageError, with_flag_names(placement.error().message, *options));

  if (options->dry_run) {
    write_all(1, options->json ? format_plan_json(*placement) : format_plan_table(*placement));
    return 0;
  }

  Status kind = check_program_kind(*options);
  if (!kind) return fail(kUsageError, kind.error().message);
  auto command = resolve_command(*options, environment);
  if (!command) return fail(kNotFound, command.error().message);

  std::string library = options->library.value_or(default_library_path());
  if (library.find('/') != std::string::npos) {
    // Absolute, so a rank that changes directory before exec'ing further still finds it. A bare
    // name is left to the dynamic loader's search, as LD_PRELOAD does.
    char* absolute = ::realpath(library.c_str(), nullptr);
    if (!absolute) {
      return fail(kUsageError, "placement library '" + library +
                                   "' not found: build it (ninja), install it, or pass --library "
                                   "PATH (--library '' starts the ranks without it)");
    }
    library = absolute;
    std::free(absolute);
  }

  std::vector<RankStart> starts;
  std::vector<unsigned> rank_ids;
  for (const RankPlacement& r : placement->ranks) {
    RankStart start;
    start.rank = r.rank;
    start.cpus = r.cpus.format();
    auto env = rank_env_for_plan(*topology, planning, r, placement->nranks, library);
    if (!env) return fail(kUsageError, env.error().message);
    start.env = to_env_strings(*env);
    starts.push_back(std::move(start));
    rank_ids.push_back(r.rank);
  }
  std::vector<RankLogs> logs(rank_ids.size());
  if (!options->log_path.empty()) {
    auto opened = open_rank_logs(options->log_path, options->log_file_prefix, rank_ids);
    if (!opened) return fail(kUsageError, opened.error().message);
    logs = std::move(*opened);
  }
  for (size_t i = 0; i < starts.size(); ++i) starts[i].logs = logs[i];

  for (const auto& warning : placement->warnings) fail(0, "warning: " + warning);

  SuperviseOptions supervise_options;
  supervise_options.command = std::move(*command);
  supervise_options.tag_prefix = options->log_file_prefix;
  supervise_options.grace_period_seconds = options->grace_period_seconds;
  SuperviseResult result = supervise(starts, supervise_options);
  close_rank_logs(logs);

  std::string summary;
  for (const auto& end : result.ranks) summary += summary_line(end);
  write_all(2, summary);
  return result.exit_code;
}

}  // namespace

int main(int argc, char** argv) { return run(std::vector<std::string>(argv + 1, argv + argc)); }
