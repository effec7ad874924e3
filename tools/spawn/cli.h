// xeonrun-spawn's command line: run_cpu's flags (both spellings, `--flag value` and
// `--flag=value`) become XEONRUN_* variables through the one flag table; a few flags belong to the
// launcher itself. Pure: parsing never touches the machine.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/env_map.h"
#include "core/expected.h"

namespace xeonplace::spawn {

struct SpawnOptions {
  EnvMap flag_env;  // XEONRUN_* variables set by run_cpu's flags (and --topology)
  std::map<std::string, std::string> flag_of_variable;  // which flag set each of them

  bool module = false;     // -m: run the program as `python3 -u -m MODULE`
  bool no_python = false;  // run the program itself
  bool dry_run = false;
  bool json = false;
  bool map = false;      // --map: the plan drawn on the machine
  std::string map_file;  // --map=FILE.svg: as SVG into FILE
  bool help = false;
  bool version = false;
  std::string log_path;  // "" means no log files
  std::string log_file_prefix = "run";
  // Who the launcher says it is on every line it prints about itself, and whose log file names it
  // writes: run_cpu's (PREFIX_rankR.log/.err) or ipexrun's (docs/design.md §11).
  std::string program_name = "xeonrun-spawn";
  bool ipexrun_semantics = false;
  double grace_period_seconds = 5.0;   // between SIGTERM and SIGKILL when a rank fails
  std::optional<std::string> library;  // unset: the default libxeonplace.so; "" preloads nothing

  std::string program;  // empty only with --help, --version or --dry-run
  std::vector<std::string> program_args;
};

// `args` excludes argv[0]. Errors are one line naming the flag, the bad value and what is accepted.
Expected<SpawnOptions> parse_args(const std::vector<std::string>& args);

// The command line as the tool was invoked: ipexrun's flags and semantics under the name
// `ipexrun` or when the first argument is ipexrun's backend word `cpu` (tools/spawn/ipexrun_cli.h),
// run_cpu's otherwise. `argv0` is argv[0] as given.
Expected<SpawnOptions> parse_command_line(const std::string& argv0,
                                          const std::vector<std::string>& args);

// The name the launcher gives itself in what it prints: "xeonrun-spawn" under run_cpu's command
// line; under ipexrun's, the name it was invoked by ("ipexrun", or "xeonrun-spawn cpu" when the
// backend word chose ipexrun's meaning), as argparse names a subcommand.
std::string program_name(const std::string& argv0, const std::vector<std::string>& args);

// The launcher's own flags that ipexrun's command line keeps (--dry-run, --topology, ...): applies
// `name` (dash spelling) when it is one of them. nullopt: not a launcher flag; `takes_value` says
// whether it needs a value.
struct LauncherFlagInfo {
  bool takes_value = false;
  std::function<Status(SpawnOptions&, const std::string&)> apply;
  const char* metavar = nullptr;
  const char* help = nullptr;
};
std::optional<LauncherFlagInfo> launcher_flag(const std::string& name);

// A planning error names a variable; when a flag set it, say which ("... (from --node-id)").
std::string with_flag_names(const std::string& message, const SpawnOptions& options);

// Generated from the flag table and the variable table; `python_note` says which python runs.
std::string help_text();

}  // namespace xeonplace::spawn
