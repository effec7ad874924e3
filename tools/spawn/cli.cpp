#include "tools/spawn/cli.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>

#include "core/options.h"
#include "core/text.h"
#include "tools/spawn/ipexrun_cli.h"

namespace xeonplace::spawn {
namespace {

// The launcher's own flags; everything else comes from xeonplace::flag_table().
struct LocalFlag {
  const char* flag;        // dash spelling
  const char* short_flag;  // "-m" or nullptr
  const char* metavar;     // nullptr for a switch
  const char* help;
  std::function<Status(SpawnOptions&, const std::string&)> apply;
  bool optional_value = false;  // a switch that also takes `--flag=VALUE` (never `--flag VALUE`)
};

Status ok() { return Unit{}; }

Status parse_grace(SpawnOptions& o, const std::string& v) {
  errno = 0;
  char* end = nullptr;
  double seconds = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno != 0 || !std::isfinite(seconds) || seconds < 0 ||
      seconds > 86400) {
    return make_error("--grace-period: invalid value '" + v +
                      "' (accepted: seconds from 0 to 86400, e.g. 5 or 0.5)");
  }
  o.grace_period_seconds = seconds;
  return ok();
}

const std::vector<LocalFlag>& local_flags() {
  static const std::vector<LocalFlag> flags = {
      {"--module", "-m", nullptr,
       "run the program as a python module: PYTHON -u -m MODULE ARGS (like python -m)",
       [](SpawnOptions& o, const std::string&) { return o.module = true, ok(); }},
      {"--no-python", nullptr, nullptr,
       "run the program itself instead of PYTHON -u PROGRAM (needed for anything but .py files)",
       [](SpawnOptions& o, const std::string&) { return o.no_python = true, ok(); }},
      {"--log-path", nullptr, "DIR",
       "also write each rank's output to DIR/PREFIX_rankR.log (stdout) and "
       "DIR/PREFIX_rankR.err (stderr); DIR is created",
       [](SpawnOptions& o, const std::string& v) {
         if (v.empty()) return Status(make_error("--log-path: empty directory name"));
         return o.log_path = v, ok();
       }},
      {"--log-file-prefix", nullptr, "PREFIX",
       "names the log files and the console tag [PREFIXR] (default: run)",
       [](SpawnOptions& o, const std::string& v) {
         if (v.empty() || v.find('/') != std::string::npos) {
           return Status(make_error("--log-file-prefix: invalid value '" + v +
                                    "' (accepted: a non-empty file name without '/')"));
         }
         return o.log_file_prefix = v, ok();
       }},
      {"--dry-run", nullptr, nullptr, "print the plan for every rank and run nothing",
       [](SpawnOptions& o, const std::string&) { return o.dry_run = true, ok(); }},
      {"--json", nullptr, nullptr, "with --dry-run: print the plan as one JSON document",
       [](SpawnOptions& o, const std::string&) { return o.json = true, ok(); }},
      {"--map", nullptr, nullptr,
       "with --dry-run: draw the plan on the machine, each CPU marked by its rank; --map=FILE.svg "
       "writes it as SVG",
       [](SpawnOptions& o, const std::string& v) {
         o.map = true;
         return o.map_file = v, ok();
       },
       true},
      {"--topology", nullptr, "SOURCE",
       "plan for another machine: lscpu:FILE, xml:FILE or synthetic:DESC (sets XEONRUN_TOPOLOGY)",
       [](SpawnOptions& o, const std::string& v) {
         if (v.empty()) {
           return Status(make_error(
               "--topology: empty value (accepted: lscpu:FILE, xml:FILE, synthetic:DESC)"));
         }
         o.flag_of_variable["XEONRUN_TOPOLOGY"] = "--topology";
         return o.flag_env["XEONRUN_TOPOLOGY"] = v, ok();
       }},
      {"--grace-period", nullptr, "SECONDS",
       "after a rank fails, the others get SIGTERM, then SIGKILL this much later (default: 5)",
       parse_grace},
      {"--library", nullptr, "PATH",
       "the placement library to preload (default: the libxeonplace.so built or installed with "
       "this tool; an empty PATH preloads nothing)",
       [](SpawnOptions& o, const std::string& v) { return o.library = v, ok(); }},
      {"--help", "-h", nullptr, "show this help and exit",
       [](SpawnOptions& o, const std::string&) { return o.help = true, ok(); }},
      {"--version", nullptr, nullptr, "print the version and exit",
       [](SpawnOptions& o, const std::string&) { return o.version = true, ok(); }},
  };
  return flags;
}

// One flag as the parser sees it, whichever table it came from.
struct AnyFlag {
  std::string name;  // dash spelling
  const LocalFlag* local = nullptr;
  const FlagSpec* placement = nullptr;
  bool takes_value() const {
    return local ? local->metavar != nullptr : placement->value == nullptr;
  }
};

std::vector<AnyFlag> all_flags() {
  std::vector<AnyFlag> flags;
  for (const auto& f : local_flags()) flags.push_back({f.flag, &f, nullptr});
  for (const auto& f : flag_table()) {
    // The launcher's own meaning of a name wins (e.g. a table row for --topology).
    bool shadowed = std::any_of(flags.begin(), flags.end(),
                                [&](const AnyFlag& a) { return a.local && a.name == f.flag; });
    if (!shadowed) flags.push_back({f.flag, nullptr, &f});
  }
  return flags;
}

// Exact name first (the launcher's own flags before the placement flags, which the library's
// flag_for() looks up), then an unambiguous prefix, as run_cpu's argparse accepts.
Expected<AnyFlag> find_flag(const std::vector<AnyFlag>& flags, const std::string& given) {
  std::string name = dash_spelling(given);
  for (const auto& f : flags) {
    if (f.local && (f.name == name || (f.local->short_flag && given == f.local->short_flag))) {
      return f;
    }
  }
  if (const FlagSpec* placement = flag_for(given))
    return AnyFlag{placement->flag, nullptr, placement};
  std::vector<const AnyFlag*> matches;
  if (name.size() > 2 && starts_with(name, "--")) {
    for (const auto& f : flags) {
      if (starts_with(f.name, name)) matches.push_back(&f);
    }
  }
  if (matches.size() == 1) return *matches[0];
  if (matches.size() > 1) {
    std::vector<std::string> names;
    for (const auto* m : matches) names.push_back(m->name);
    return make_error("ambiguous flag '" + given + "' (could be " + join(names, ", ") + ")");
  }
  std::vector<std::string_view> names;
  for (const auto& f : flags) names.push_back(f.name);
  constexpr size_t kTypo = 4;  // this far or further is no longer a typo
  std::optional<size_t> closest_flag = closest(name, names, kTypo);
  std::string hint = closest_flag ? flags[*closest_flag].name : std::string();
  return make_error("unknown flag '" + given + "' (" +
                    (hint.empty() ? std::string() : "did you mean " + hint + "? ") +
                    "see xeonrun-spawn --help for the accepted flags)");
}

// A flag's value is checked by the same parser the library uses for the variable, so a bad value
// is reported against the flag the user typed.
Status check_value(const FlagSpec& f, const std::string& value) {
  const OptionSpec* spec = find_option(f.variable);
  if (!spec)
    return make_error(std::string("internal: flag ") + f.flag + " maps to unknown variable " +
                      f.variable);
  Config scratch;
  Status parsed = spec->parse(*spec, value, scratch);
  if (!parsed) return make_error(std::string(f.flag) + ": " + parsed.error().message);
  return ok();
}

bool is_count(const std::string& arg) {
  return !arg.empty() && arg.size() <= 9 &&
         std::all_of(arg.begin(), arg.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_mode_latency(const std::string& v) { return v == "latency"; }
bool is_mode_throughput(const std::string& v) { return v == "throughput"; }
bool is_mode_multi(const std::string& v) { return v != "latency" && v != "throughput"; }

// Two switches writing one variable: run_cpu's rules where it has them, else an error.
Status merge_switch(std::map<std::string, std::string>& setter, SpawnOptions& o,
                    const FlagSpec& f) {
  const std::string variable = f.variable;
  const std::string value = f.value;
  auto take = [&] {
    o.flag_env[variable] = value;
    o.flag_of_variable[variable] = f.flag;
    setter[variable] = f.flag;
    return ok();
  };
  auto previous = o.flag_env.find(variable);
  if (previous == o.flag_env.end() || previous->second == value || !setter.count(variable)) {
    return take();
  }
  const std::string& old_value = previous->second;
  if (variable == "XEONRUN_MODE") {
    if ((is_mode_latency(old_value) && is_mode_throughput(value)) ||
        (is_mode_throughput(old_value) && is_mode_latency(value))) {
      return make_error(
          "--latency-mode and --throughput-mode together: either latency mode or throughput mode "
          "should be set, not both (as run_cpu)");
    }
    // --multi-instance is implied by both modes in run_cpu; the specific mode wins.
    if (is_mode_multi(value)) return ok();
    if (is_mode_multi(old_value)) return take();
  }
  return make_error(std::string(f.flag) + " and " + setter[variable] + " together: they set " +
                    variable + " to different values; choose one");
}

}  // namespace

Expected<SpawnOptions> parse_args(const std::vector<std::string>& args) {
  SpawnOptions o;
  const std::vector<AnyFlag> flags = all_flags();
  std::map<std::string, std::string> switch_setter;  // variable -> switch flag that set it
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;  // the program
    std::string name = arg;
    std::optional<std::string> inline_value;
    if (auto eq = arg.find('='); eq != std::string::npos && starts_with(arg, "--")) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    auto flag = find_flag(flags, name);
    if (!flag) return flag.error();
    std::string value;
    if (flag->takes_value()) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        std::string accepted = flag->local ? flag->local->metavar
                               : find_option(flag->placement->variable)
                                   ? find_option(flag->placement->variable)->accepted
                                   : "a value";
        return make_error(flag->name + " needs a value (accepted: " + accepted + ")");
      }
    } else if (inline_value && flag->local && flag->local->optional_value) {
      value = *inline_value;
    } else if (inline_value) {
      return make_error(flag->name + " is a switch and takes no value (got '" + *inline_value +
                        "')");
    }
    if (!inline_value && flag->placement &&
        std::string(flag->placement->variable) == "XEONRUN_NCORES_PER_INSTANCE") {
      // run_cpu on PyTorch main (2026): one count per rank, space-separated
      // (--ncores-per-instance 43 43 42); the counts end at the first argument that is not one,
      // so `--ncores-per-instance 4 app.py` still runs app.py.
      while (i + 1 < args.size() && is_count(args[i + 1])) value += "," + args[++i];
    }
    if (flag->local) {
      Status applied = flag->local->apply(o, value);
      if (!applied) return applied.error();
    } else if (flag->placement->value == nullptr) {
      Status checked = check_value(*flag->placement, value);
      if (!checked) return checked.error();
      o.flag_env[flag->placement->variable] = value;  // repeated: the last one wins, as argparse
      o.flag_of_variable[flag->placement->variable] = flag->placement->flag;
    } else {
      Status merged = merge_switch(switch_setter, o, *flag->placement);
      if (!merged) return merged.error();
    }
  }
  if (i < args.size()) {
    o.program = args[i];
    o.program_args.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  }
  if (o.help || o.version) return o;
  if (o.json && !o.dry_run) {
    return make_error("--json only applies to --dry-run (the plan preview)");
  }
  if (o.map && (!o.dry_run || o.json)) {
    return make_error("--map only applies to --dry-run, without --json (the plan preview)");
  }
  if (o.module && o.no_python) {
    return make_error("-m/--module and --no-python together: a module needs python; drop one");
  }
  if (o.program.empty() && !o.dry_run) {
    return make_error("no program given (usage: xeonrun-spawn [FLAGS] [--] PROGRAM [ARGS...])");
  }
  return o;
}

std::optional<LauncherFlagInfo> launcher_flag(const std::string& name) {
  for (const auto& f : local_flags()) {
    if (name == f.flag) return LauncherFlagInfo{f.metavar != nullptr, f.apply, f.metavar, f.help};
  }
  return std::nullopt;
}

Expected<SpawnOptions> parse_command_line(const std::string& argv0,
                                          const std::vector<std::string>& args) {
  if (is_ipexrun_invocation(argv0, args)) return parse_ipexrun_args(argv0, args);
  return parse_args(args);
}

std::string program_name(const std::string& argv0, const std::vector<std::string>& args) {
  if (!is_ipexrun_invocation(argv0, args)) return "xeonrun-spawn";
  const size_t slash = argv0.rfind('/');
  const std::string base = argv0.substr(slash == std::string::npos ? 0 : slash + 1);
  if (base == "ipexrun") return base;
  return (base.empty() ? std::string("xeonrun-spawn") : base) + " cpu";
}

std::string with_flag_names(const std::string& message, const SpawnOptions& options) {
  std::string out = message;
  std::string flags;
  for (const auto& [variable, flag] : options.flag_of_variable) {
    if (out.find(variable) != std::string::npos) flags += (flags.empty() ? "" : ", ") + flag;
  }
  if (!flags.empty()) out += " (set by " + flags + ")";
  return out;
}

namespace {

// "--no-python, --no_python"; "--rank" has one spelling only.
std::string spellings(const std::string& dash) {
  const std::string underscore = underscore_spelling(dash);
  return underscore == dash ? dash : dash + ", " + underscore;
}

}  // namespace

std::string help_text() {
  std::string text =
      "usage: xeonrun-spawn [FLAGS] [--] PROGRAM [ARGS...]\n"
      "\n"
      "Starts ranks of PROGRAM, each with libxeonplace.so preloaded and XEONRUN_RANK set, so the\n"
      "library places every rank from inside it (a drop-in for python -m "
      "torch.backends.xeon.run_cpu).\n"
      "A PROGRAM ending in .py runs as `PYTHON -u PROGRAM ARGS`, where PYTHON is $PYTHON if set,\n"
      "else python3 found on PATH; -m runs `PYTHON -u -m MODULE ARGS`; --no-python runs PROGRAM\n"
      "itself (looked up on PATH). Every flag has a --dash-case and an --under_score spelling and\n"
      "takes its value as `--flag VALUE` or `--flag=VALUE`.\n"
      "\n"
      "Each rank's output reaches the console line by line, tagged [PREFIXR] (PREFIX from\n"
      "--log-file-prefix, default run: [run0], [run1], ...). When a rank fails the others get\n"
      "SIGTERM, then SIGKILL after the grace period; SIGINT, SIGTERM and SIGHUP are forwarded to\n"
      "every rank. Exit status: 0 when every rank succeeds, else the first failing rank's status\n"
      "(128+N for signal N), or 128+N when xeonrun-spawn itself got signal N; 2 for a bad flag,\n"
      "127 when the program is not found. A summary line per rank goes to stderr at the end.\n"
      "\n"
      "Launcher flags:\n";
  // Both loops walk all_flags(), so a placement flag the launcher shadows is listed once, as
  // the launcher's.
  const std::vector<AnyFlag> flags = all_flags();
  for (const auto& any : flags) {
    if (!any.local) continue;
    const LocalFlag& f = *any.local;
    std::string names = f.short_flag ? std::string(f.short_flag) + ", " : std::string();
    names += spellings(f.flag);
    if (f.metavar) names += std::string(" ") + f.metavar;
    text += help_entry(names, f.help);
  }
  text += "\nPlacement flags (run_cpu's; each sets the XEONRUN_* variable shown):\n";
  for (const auto& any : flags) {
    if (!any.placement) continue;
    const FlagSpec& f = *any.placement;
    std::string names = spellings(f.flag);
    if (!f.value) names += " VALUE";
    std::string what = std::string(f.help) + "  [" + f.variable +
                       (f.value ? std::string("=") + f.value : std::string()) + "]";
    text += help_entry(names, what);
  }
  text += "\nEnvironment variables read by the library in every rank:\n";
  text += variables_help_text();
  return text;
}

}  // namespace xeonplace::spawn
