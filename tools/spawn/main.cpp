// xeonrun-spawn: read the flags, gather the facts once, decide every rank (core/decision.h), then
// either show the decisions or start the ranks and report how they ended. Each rank is started
// with its decision's handoff; the preloaded library applies it without planning again.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
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

// The rank's log files, named as run_cpu's or ipexrun's launcher names them (tools/spawn/output.h);
// under ipexrun's, the launcher's own lines go to its log file too, as ipexrun's logger's do.
xeonplace::Expected<std::vector<xeonplace::spawn::RankLogs>> rank_logs(
    const xeonplace::spawn::SpawnOptions& options, const xeonplace::RankDecisions& decisions,
    xeonplace::spawn::LauncherLines& lines) {
  using namespace xeonplace::spawn;
  if (options.log_path.empty()) return std::vector<RankLogs>(decisions.ranks.size());
  std::vector<RankLogNames> names;
  if (!options.ipexrun_semantics) {
    for (const auto& d : decisions.ranks) {
      names.push_back(run_cpu_log_names(options.log_file_prefix, d.rank));
    }
    return open_rank_logs("--log-path", options.log_path, names);
  }
  const std::string stamped = ipexrun_stamped_prefix(options.log_file_prefix, std::time(nullptr));
  for (const auto& d : decisions.ranks) {
    names.push_back({ipexrun_log_file_name(stamped, d.rank, d.cpus.ids()), ""});
  }
  auto opened = open_rank_logs("--log-dir", options.log_path, names);
  if (!opened) return opened;
  std::string why;
  const int fd = open_launcher_log(options.log_path, ipexrun_launcher_log_name(stamped), why);
  if (fd < 0) {
    close_rank_logs(*opened);
    return xeonplace::make_error("--log-dir: " + why);
  }
  lines.set_log(fd);
  return opened;
}

int run(const std::string& argv0, const std::vector<std::string>& args) {
  using namespace xeonplace;
  using namespace xeonplace::spawn;

  auto options = parse_command_line(argv0, args);
  LauncherLines lines(options ? options->program_name : program_name(argv0, args),
                      options ? options->ipexrun_semantics : is_ipexrun_invocation(argv0, args));
  if (!options) return lines.error(kUsageError, options.error().message);
  if (options->help) {
    write_all(1,
              options->ipexrun_semantics ? ipexrun_help_text(options->program_name) : help_text());
    return 0;
  }
  if (options->version) {
    const std::string name = options->ipexrun_semantics
                                 ? options->program_name + " (xeonrun-spawn) "
                                 : std::string("xeonrun-spawn ");
    write_all(1, name + XEONPLACE_VERSION + "\n");
    return 0;
  }

  const EnvMap environment = env_from_strings(environ);
  const EnvMap planning = planning_env(environment, options->flag_env);
  // A preview does not need the library to exist: it shows the path the ranks would preload.
  auto library = placement_library(*options);
  if (!library && !options->dry_run) return lines.error(kUsageError, library.error().message);
  const std::string preload =
      library ? *library : options->library.value_or(default_library_path());
  Facts facts = gather_facts(facts_wanted(planning), planning, preload, FactsFor::NewProcess);
  // Under a placed parent the spawner runs on the parent's slice: ours, not the user's binding.
  facts.inherited_affinity = planning_affinity(facts.inherited_affinity, environment);
  auto decisions = decide_ranks(facts, planning);
  if (!decisions) {
    return lines.error(kUsageError, with_flag_names(decisions.error().message, *options));
  }

  // What shaped the plan (a CPU quota's cap): one line on stderr, in a preview too.
  for (const auto& line : decisions->info) lines.say(line);
  if (options->dry_run && options->map && facts.topology && *facts.topology) {
    return show_map(*options, **facts.topology, *decisions);
  }
  if (options->dry_run) {
    const Plan shown = plan_of(*decisions);
    write_all(1, options->json ? format_plan_json(shown) : format_plan_table(shown));
    return 0;
  }

  Status kind = check_program_kind(*options);
  if (!kind) return lines.error(kUsageError, kind.error().message);
  auto command = resolve_command(*options, environment);
  if (!command) return lines.error(kNotFound, command.error().message);

  std::string report_error;
  const ReportCollector reports(report_wanted(planning), report_error);
  if (!report_error.empty()) return lines.error(kUsageError, report_error);
  auto logs = rank_logs(*options, *decisions, lines);
  if (!logs) return lines.error(kUsageError, logs.error().message);
  std::vector<RankStart> starts;
  for (size_t i = 0; i < decisions->ranks.size(); ++i) {
    const Decision& d = decisions->ranks[i];
    RankStart start;
    start.rank = d.rank;
    start.cpus = d.cpus.format();
    EnvMap env = rank_env(planning, d.handoff);
    for (const auto& [name, value] : reports.rank_variables(d.rank)) env[name] = value;
    start.env = to_env_strings(env);
    start.before_exec = [prepared = PreparedPlacement(d)] { prepared.apply(); };
    start.logs = (*logs)[i];
    starts.push_back(std::move(start));
  }

  for (const auto& warning : decisions->warnings) lines.say("warning: " + warning);
  for (const Decision& d : decisions->ranks) {
    for (const auto& warning : d.warnings) {
      lines.say("warning: rank " + std::to_string(d.rank) + ": " + warning);
    }
  }

  SuperviseOptions supervise_options;
  supervise_options.command = std::move(*command);
  supervise_options.tag_prefix = options->log_file_prefix;
  supervise_options.error_prefix = lines.error_prefix();
  supervise_options.grace_period_seconds = options->grace_period_seconds;
  SuperviseResult result = supervise(starts, supervise_options);
  close_rank_logs(*logs);

  std::string summary;
  for (const auto& end : result.ranks) summary += summary_line(end, options->program_name);
  lines.write(summary);
  reports.report(result.ranks, *decisions, lines);
  return result.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  return run(argc > 0 ? argv[0] : "", std::vector<std::string>(argv + 1, argv + argc));
}
