// xeonrun-spawn: read the flags, gather the facts once, decide every rank (core/decision.h), then
// either show the decisions or start the ranks and report how they ended. Each rank is started
// with its decision's handoff; the preloaded library applies it without planning again.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/decision.h"
#include "core/options.h"
#include "core/plan_format.h"
#include "sys/apply.h"
#include "sys/facts.h"
#include "tools/spawn/cli.h"
#include "tools/spawn/ipexrun_cli.h"
#include "tools/spawn/library_path.h"
#include "tools/spawn/map_report.h"
#include "tools/spawn/output.h"
#include "tools/spawn/program.h"
#include "tools/spawn/rank_env.h"
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

// The library each rank preloads, absolute so that a rank that changes directory before exec'ing
// further still finds it. A bare name is left to the dynamic loader's search, as LD_PRELOAD does;
// "" (--library '') starts the ranks without it.
xeonplace::Expected<std::string> placement_library(const xeonplace::spawn::SpawnOptions& options) {
  std::string library = options.library.value_or(xeonplace::spawn::default_library_path());
  if (library.find('/') == std::string::npos) return library;
  char* absolute = ::realpath(library.c_str(), nullptr);
  if (!absolute) {
    return xeonplace::make_error("placement library '" + library +
                                 "' not found: build it (ninja), install it, or pass --library "
                                 "PATH (--library '' starts the ranks without it)");
  }
  library = absolute;
  std::free(absolute);
  return library;
}

// The decisions as a plan to show: each rank's environment is its handoff, exactly what it starts
// with on top of the launcher's environment.
xeonplace::Plan plan_of(const xeonplace::RankDecisions& decisions) {
  xeonplace::Plan plan;
  plan.nranks = decisions.nranks;
  plan.warnings = decisions.warnings;
  for (const xeonplace::Decision& d : decisions.ranks) {
    xeonplace::RankPlacement rank;
    rank.rank = d.rank;
    rank.cpus = d.cpus;
    rank.mems = d.mems;
    rank.env = d.handoff;
    rank.warnings = d.warnings;
    rank.omp_threads = d.omp_threads;
    rank.helper_cpus = d.helper_cpus;
    rank.domain = d.domain;
    plan.ranks.push_back(std::move(rank));
  }
  return plan;
}

int run(const std::string& argv0, const std::vector<std::string>& args) {
  using namespace xeonplace;
  using namespace xeonplace::spawn;

  auto options = parse_command_line(argv0, args);
  if (!options) return fail(kUsageError, options.error().message);
  if (options->help) {
    write_all(1, options->flag_env.count("XEONRUN_COMPAT") ? ipexrun_help_text() : help_text());
    return 0;
  }
  if (options->version) {
    write_all(1, std::string("xeonrun-spawn ") + XEONPLACE_VERSION + "\n");
    return 0;
  }

  const EnvMap environment = env_from_strings(environ);
  const EnvMap planning = planning_env(environment, options->flag_env);
  // A preview does not need the library to exist: it shows the path the ranks would preload.
  auto library = placement_library(*options);
  if (!library && !options->dry_run) return fail(kUsageError, library.error().message);
  const std::string preload =
      library ? *library : options->library.value_or(default_library_path());
  Facts facts = gather_facts(facts_wanted(planning), planning, preload, FactsFor::NewProcess);
  // Under a placed parent the spawner runs on the parent's slice: ours, not the user's binding.
  facts.inherited_affinity = planning_affinity(facts.inherited_affinity, environment);
  auto decisions = decide_ranks(facts, planning);
  if (!decisions) return fail(kUsageError, with_flag_names(decisions.error().message, *options));

  // What shaped the plan (a CPU quota's cap): one line on stderr, in a preview too.
  for (const auto& line : decisions->info) fail(0, line);
  if (options->dry_run && options->map && facts.topology && *facts.topology) {
    return show_map(*options, **facts.topology, *decisions);
  }
  if (options->dry_run) {
    const Plan shown = plan_of(*decisions);
    write_all(1, options->json ? format_plan_json(shown) : format_plan_table(shown));
    return 0;
  }

  Status kind = check_program_kind(*options);
  if (!kind) return fail(kUsageError, kind.error().message);
  auto command = resolve_command(*options, environment);
  if (!command) return fail(kNotFound, command.error().message);

  std::string report_error;
  const ReportCollector reports(report_wanted(planning), report_error);
  if (!report_error.empty()) return fail(kUsageError, report_error);
  std::vector<RankStart> starts;
  std::vector<unsigned> rank_ids;
  for (const Decision& d : decisions->ranks) {
    RankStart start;
    start.rank = d.rank;
    start.cpus = d.cpus.format();
    EnvMap env = rank_env(planning, d.handoff);
    for (const auto& [name, value] : reports.rank_variables(d.rank)) env[name] = value;
    start.env = to_env_strings(env);
    start.before_exec = [prepared = PreparedPlacement(d)] { prepared.apply(); };
    starts.push_back(std::move(start));
    rank_ids.push_back(d.rank);
  }
  std::vector<RankLogs> logs(rank_ids.size());
  if (!options->log_path.empty()) {
    auto opened = open_rank_logs(options->log_path, options->log_file_prefix, rank_ids);
    if (!opened) return fail(kUsageError, opened.error().message);
    logs = std::move(*opened);
  }
  for (size_t i = 0; i < starts.size(); ++i) starts[i].logs = logs[i];

  for (const auto& warning : decisions->warnings) fail(0, "warning: " + warning);
  for (const Decision& d : decisions->ranks) {
    for (const auto& warning : d.warnings) {
      fail(0, "warning: rank " + std::to_string(d.rank) + ": " + warning);
    }
  }

  SuperviseOptions supervise_options;
  supervise_options.command = std::move(*command);
  supervise_options.tag_prefix = options->log_file_prefix;
  supervise_options.grace_period_seconds = options->grace_period_seconds;
  SuperviseResult result = supervise(starts, supervise_options);
  close_rank_logs(logs);

  std::string summary;
  for (const auto& end : result.ranks) summary += summary_line(end);
  write_all(2, summary);
  reports.report(result.ranks, *decisions);
  return result.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  return run(argc > 0 ? argv[0] : "", std::vector<std::string>(argv + 1, argv + argc));
}
