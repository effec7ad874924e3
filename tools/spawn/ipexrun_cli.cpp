#include "tools/spawn/ipexrun_cli.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <functional>
#include <optional>

#include "core/options.h"
#include "core/text.h"

namespace xeonplace::spawn {
namespace {

using Apply = std::function<Status(SpawnOptions&, const std::string&)>;

// One flag of ipexrun's parser (launch.py, launcher_base.py, launcher_multi_instances.py).
struct IpexFlag {
  const char* flag;   // dash spelling; the underscore spelling is accepted too
  const char* alias;  // ipexrun's deprecated spelling, or nullptr
  bool takes_value;
  const char* help;
  Apply apply;
};

Status ok() { return Unit{}; }

// Sets `variable` after checking `value` with the library's own parser, so the error names the
// flag the user typed.
Status set(SpawnOptions& o, const char* flag, const char* variable, const std::string& value) {
  const OptionSpec* spec = find_option(variable);
  Config scratch;
  if (spec == nullptr) return make_error(std::string("internal: unknown variable ") + variable);
  if (Status parsed = spec->parse(*spec, value, scratch); !parsed) {
    return make_error(std::string(flag) + ": " + parsed.error().message);
  }
  o.flag_env[variable] = value;
  o.flag_of_variable[variable] = flag;
  return ok();
}

void unset(SpawnOptions& o, const char* variable) {
  o.flag_env.erase(variable);
  o.flag_of_variable.erase(variable);
}

// argparse's type=int: an optional sign and decimal digits.
std::optional<long> integer(const std::string& value) {
  if (value.empty() || value.size() > 9) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long n = std::strtol(value.c_str(), &end, 10);
  if (*end != '\0' || errno != 0 || value[0] == ' ') return std::nullopt;
  return n;
}

// ipexrun's list arguments allow blanks around entries ("0, 2-3").
std::string without_blanks(std::string value) {
  value.erase(std::remove(value.begin(), value.end(), ' '), value.end());
  return value;
}

Status ncores_per_instance(SpawnOptions& o, const std::string& value) {
  const char* flag = "--ncores-per-instance";
  auto n = integer(value);
  if (!n || *n < -1) {
    return make_error(std::string(flag) + ": invalid value '" + value +
                      "' (accepted: -1 to hand every core out, 0 to split evenly, or a count)");
  }
  unset(o, "XEONRUN_NCORES_PER_INSTANCE");
  unset(o, "XEONRUN_LEFTOVER_CORES");
  if (*n == -1) return set(o, flag, "XEONRUN_LEFTOVER_CORES", "spread");
  if (*n == 0) return ok();
  return set(o, flag, "XEONRUN_NCORES_PER_INSTANCE", std::to_string(*n));
}

Status ninstances(SpawnOptions& o, const std::string& value) {
  auto n = integer(value);
  if (!n || *n < 0) {
    return make_error("--ninstances: invalid value '" + value +
                      "' (accepted: 0 for as many as fit, or a number of instances)");
  }
  unset(o, "XEONRUN_NINSTANCES");
  if (*n == 0) return ok();
  return set(o, "--ninstances", "XEONRUN_NINSTANCES", std::to_string(*n));
}

// A list flag: empty means unset, as ipexrun's default "".
Apply list_of(const char* flag, const char* variable) {
  return [flag, variable](SpawnOptions& o, const std::string& value) {
    std::string list = without_blanks(value);
    if (list.empty()) return unset(o, variable), ok();
    return set(o, flag, variable, list);
  };
}

Apply fixed(const char* flag, const char* variable, const char* value) {
  return [=](SpawnOptions& o, const std::string&) { return set(o, flag, variable, value); };
}

// A choice flag whose words ipexrun spells; `map` gives each word's variable value ("" leaves
// the variable to its default). A type of its own, so ipexrun_flag_choices() can read the words.
struct ChoiceOf {
  const char* flag;
  const char* variable;
  std::vector<std::pair<const char*, const char*>> map;

  std::vector<std::string> words() const {
    std::vector<std::string> out;
    for (const auto& entry : map) out.push_back(entry.first);
    return out;
  }
  Status operator()(SpawnOptions& o, const std::string& value) const {
    for (const auto& [word, mapped] : map) {
      if (value != word) continue;
      if (mapped[0] == '\0') return unset(o, variable), ok();
      return set(o, flag, variable, mapped);
    }
    return Status(make_error(std::string(flag) + ": invalid choice '" + value +
                             "' (accepted: " + join(words(), ", ") + ")"));
  }
};

Apply choice_of(const char* flag, const char* variable,
                std::vector<std::pair<const char*, const char*>> map) {
  return ChoiceOf{flag, variable, std::move(map)};
}

// --multi-task-manager's words (task_manager below applies them).
const std::vector<std::string>& task_managers() {
  static const std::vector<std::string> words = {"auto", "none", "numactl", "taskset"};
  return words;
}

// --multi-task-manager: numactl binds CPUs and memory, taskset CPUs only, none leaves the process
// unbound and lets the OpenMP runtime bind its threads (XEONRUN_PIN=none under XEONRUN_COMPAT=
// ipexrun); auto is numactl, which ipexrun picks whenever numactl is installed.
Status task_manager(SpawnOptions& o, const std::string& value) {
  const char* flag = "--multi-task-manager";
  unset(o, "XEONRUN_PIN");
  unset(o, "XEONRUN_MEMBIND");
  if (value == "auto" || value == "numactl") return ok();
  if (value == "taskset") return set(o, flag, "XEONRUN_MEMBIND", "none");
  if (value == "none") {
    if (Status s = set(o, flag, "XEONRUN_PIN", "none"); !s) return s;
    return set(o, flag, "XEONRUN_MEMBIND", "none");
  }
  return make_error(std::string(flag) + ": invalid choice '" + value +
                    "' (accepted: " + join(task_managers(), ", ") + ")");
}

Status mode(SpawnOptions& o, const char* flag, const char* value) {
  auto previous = o.flag_env.find("XEONRUN_MODE");
  if (previous != o.flag_env.end() && previous->second != value) {
    return make_error(
        "--latency-mode and --throughput-mode together: they cannot be set at the same time "
        "(as ipexrun)");
  }
  return set(o, flag, "XEONRUN_MODE", value);
}

// --ccl-worker-count N: the last N cores of every rank are kept for oneCCL's workers
// (XEONRUN_HELPER_CORES, docs/design.md §12). In ipexrun only its distributed launcher reads the
// flag (launcher_distributed.py; its multi-instance launcher ignores it): there a positive
// --ncores-per-instance counts compute cores and each rank gets the workers' cores on top, which
// finish() reproduces. docs/design.md §11 says where this differs from ipexrun.
Status ccl_worker_count(SpawnOptions& o, const std::string& value) {
  const char* flag = "--ccl-worker-count";
  auto n = integer(value);
  if (!n || *n < 0) {
    return make_error(std::string(flag) + ": invalid value '" + value +
                      "' (accepted: 0 or a number of cores per instance for oneCCL's workers)");
  }
  unset(o, "XEONRUN_HELPER_CORES");
  if (*n == 0) return ok();
  return set(o, flag, "XEONRUN_HELPER_CORES", std::to_string(*n));
}

// ipexrun's distributed launcher: `ncores_per_instance += ccl_worker_count`, so the count asked
// for stays the ranks' compute cores (OMP_NUM_THREADS).
Status add_ccl_workers_to_rank_size(SpawnOptions& o) {
  auto helpers = o.flag_env.find("XEONRUN_HELPER_CORES");
  auto size = o.flag_env.find("XEONRUN_NCORES_PER_INSTANCE");
  if (helpers == o.flag_env.end() || size == o.flag_env.end()) return ok();
  const long total = *integer(size->second) + *integer(helpers->second);
  if (Status s =
          set(o, "--ncores-per-instance", "XEONRUN_NCORES_PER_INSTANCE", std::to_string(total));
      !s) {
    return s;
  }
  o.flag_of_variable["XEONRUN_NCORES_PER_INSTANCE"] = "--ncores-per-instance + --ccl-worker-count";
  return ok();
}

// Distributed training: refused with what to run instead.
Apply distributed(const char* flag) {
  return [flag](SpawnOptions&, const std::string&) {
    return Status(make_error(
        std::string(flag) +
        ": ipexrun's distributed training is not started by xeonrun-spawn; start the ranks with "
        "your MPI (mpiexec -n N -ppn P) or torchrun and preload the library: "
        "mpiexec -n N -ppn P env LD_PRELOAD=libxeonplace.so python3 -u script.py "
        "(each node's ranks are placed by their local rank; README, \"Launchers and "
        "containers\")"));
  };
}

Apply auto_ipex(const char* flag) {
  return [flag](SpawnOptions&, const std::string&) {
    return Status(make_error(std::string(flag) +
                             ": ipexrun's auto-IPEX rewrites the script with "
                             "intel_extension_for_pytorch, which is archived; call "
                             "ipex.optimize() in the script, or drop the flag"));
  };
}

const std::vector<IpexFlag>& ipex_flags() {
  static const std::vector<IpexFlag> flags = {
      {"--ncores-per-instance", "--ncore_per_instance", true,
       "cores per instance; 0: split evenly, leftover unused; -1: leftover handed out",
       ncores_per_instance},
      {"--ninstances", nullptr, true, "number of instances (0: as many as fit)", ninstances},
      {"--instance-idx", nullptr, true,
       "start only these instances of the plan, e.g. 0,2-3 (-1: all)",
       list_of("--instance-idx", "XEONRUN_INSTANCE_IDX")},
      {"--nodes-list", nullptr, true, "use only these NUMA nodes, e.g. 0,2-3",
       list_of("--nodes-list", "XEONRUN_NODES_LIST")},
      {"--node_id", nullptr, true, "deprecated: --nodes-list",
       list_of("--node_id", "XEONRUN_NODES_LIST")},
      {"--cores-list", "--core_list", true, "use only these CPUs, e.g. 0-31,62-79",
       list_of("--cores-list", "XEONRUN_CORE_LIST")},
      {"--use-logical-cores", "--use_logical_core", false, "use SMT siblings too",
       fixed("--use-logical-cores", "XEONRUN_USE_LOGICAL_CORE", "1")},
      {"--use-e-cores", nullptr, false, "hybrid CPUs: efficient cores too",
       fixed("--use-e-cores", "XEONRUN_USE_EFFICIENT_CORES", "1")},
      {"--bind-numa-node", nullptr, false, "keep every instance inside one NUMA node",
       fixed("--bind-numa-node", "XEONRUN_SKIP_CROSS_NODE_CORES", "1")},
      {"--skip-cross-node-cores", nullptr, false, "same as --bind-numa-node",
       fixed("--skip-cross-node-cores", "XEONRUN_SKIP_CROSS_NODE_CORES", "1")},
      {"--strategy", nullptr, true, "fewer instances than fit: scatter (default) or close",
       choice_of("--strategy", "XEONRUN_STRATEGY", {{"scatter", "scatter"}, {"close", "close"}})},
      {"--memory-allocator", nullptr, true, "auto, default, tcmalloc or jemalloc",
       choice_of("--memory-allocator", "XEONRUN_ALLOCATOR",
                 {{"auto", "auto"},
                  {"default", "default"},
                  {"tcmalloc", "tcmalloc"},
                  {"jemalloc", "jemalloc"}})},
      {"--enable_tcmalloc", nullptr, false, "deprecated: --memory-allocator tcmalloc",
       fixed("--enable_tcmalloc", "XEONRUN_ALLOCATOR", "tcmalloc")},
      {"--enable_jemalloc", nullptr, false, "deprecated: --memory-allocator jemalloc",
       fixed("--enable_jemalloc", "XEONRUN_ALLOCATOR", "jemalloc")},
      {"--use_default_allocator", nullptr, false, "deprecated: --memory-allocator default",
       fixed("--use_default_allocator", "XEONRUN_ALLOCATOR", "default")},
      {"--omp-runtime", nullptr, true, "auto or intel (Intel/LLVM OpenMP), default (GNU)",
       choice_of("--omp-runtime", "XEONRUN_OMP_RUNTIME",
                 {{"auto", "intel"}, {"default", "default"}, {"intel", "intel"}})},
      {"--disable_iomp", nullptr, false, "deprecated: --omp-runtime default",
       fixed("--disable_iomp", "XEONRUN_OMP_RUNTIME", "default")},
      {"--multi-task-manager", nullptr, true, "auto, none, numactl or taskset", task_manager},
      {"--disable_numactl", nullptr, false, "deprecated: --multi-task-manager taskset",
       [](SpawnOptions& o, const std::string&) { return task_manager(o, "taskset"); }},
      {"--disable_taskset", nullptr, false, "deprecated: --multi-task-manager numactl",
       [](SpawnOptions& o, const std::string&) { return task_manager(o, "numactl"); }},
      {"--benchmark", nullptr, false, "jemalloc's MALLOC_CONF tuned for low latency",
       fixed("--benchmark", "XEONRUN_BENCHMARK", "1")},
      {"--latency-mode", nullptr, false, "4 cores per instance over all physical cores",
       [](SpawnOptions& o, const std::string&) { return mode(o, "--latency-mode", "latency"); }},
      {"--throughput-mode", nullptr, false, "one instance per NUMA node",
       [](SpawnOptions& o, const std::string&) {
         return mode(o, "--throughput-mode", "throughput");
       }},
      {"--multi_instance", nullptr, false, "deprecated, no effect (as ipexrun)",
       [](SpawnOptions&, const std::string&) { return ok(); }},
      {"--distributed", nullptr, false, "deprecated, no effect (as ipexrun)",
       [](SpawnOptions&, const std::string&) { return ok(); }},
      {"--log-dir", "--log_path", true,
       "also write each instance's output (stdout and stderr) to DIR/PREFIX_STAMP_instance_I_"
       "cores_CPUS.log and the launcher's lines to DIR/PREFIX_STAMP_instances.log (in IPEX's "
       "logger format), STAMP the start's local time YYYYmmddHHMMSS (ipexrun's names); DIR is "
       "created",
       [](SpawnOptions& o, const std::string& v) { return o.log_path = v, ok(); }},
      {"--log-file-prefix", nullptr, true,
       "log file name prefix and console tag [PREFIXI] (default: run)",
       [](SpawnOptions& o, const std::string& v) {
         return launcher_flag("--log-file-prefix")->apply(o, v);
       }},
      {"--no-python", nullptr, false, "run the program itself, not python3 -u PROGRAM",
       [](SpawnOptions& o, const std::string&) { return o.no_python = true, ok(); }},
      {"--module", nullptr, false, "run the program as a python module (also -m)",
       [](SpawnOptions& o, const std::string&) { return o.module = true, ok(); }},
      {"--ccl-worker-count", nullptr, true,
       "cores per instance for oneCCL's workers (the instance's last ones): added to a "
       "--ncores-per-instance count, left out of OMP_NUM_THREADS",
       ccl_worker_count},
      // Refused: distributed training and auto-IPEX.
      {"--nnodes", nullptr, true, nullptr, distributed("--nnodes")},
      {"--nprocs-per-node", "--nproc_per_node", true, nullptr, distributed("--nprocs-per-node")},
      {"--hostfile", nullptr, true, nullptr, distributed("--hostfile")},
      {"--master-addr", nullptr, true, nullptr, distributed("--master-addr")},
      {"--master-port", nullptr, true, nullptr, distributed("--master-port")},

      {"--logical-cores-for-ccl", "--logical_core_for_ccl", false, nullptr,
       distributed("--logical-cores-for-ccl")},
      {"--extra-mpi-params", "--more_mpi_params", true, nullptr, distributed("--extra-mpi-params")},
      {"--auto-ipex", nullptr, false, nullptr, auto_ipex("--auto-ipex")},
      {"--dtype", nullptr, true, nullptr, auto_ipex("--dtype")},
      {"--auto-ipex-verbose", nullptr, false, nullptr, auto_ipex("--auto-ipex-verbose")},
      {"--disable-ipex-graph-mode", nullptr, false, nullptr,
       auto_ipex("--disable-ipex-graph-mode")},
  };
  return flags;
}

// The launcher's own flags kept under ipexrun's command line.
constexpr const char* kLauncherFlags[] = {"--dry-run",      "--json", "--topology", "--library",
                                          "--grace-period", "--help", "--version"};

// One spelling a user may type, and what it means.
struct Spelling {
  std::string name;
  const IpexFlag* ipex = nullptr;
  const char* launcher = nullptr;
};

std::vector<Spelling> spellings() {
  std::vector<Spelling> out;
  for (const auto& f : ipex_flags()) {
    out.push_back({f.flag, &f, nullptr});
    const std::string underscore = underscore_spelling(f.flag);
    if (underscore != f.flag) out.push_back({underscore, &f, nullptr});
    if (f.alias) out.push_back({f.alias, &f, nullptr});
  }
  for (const char* flag : kLauncherFlags) {
    out.push_back({flag, nullptr, flag});
    const std::string underscore = underscore_spelling(flag);
    if (underscore != flag) out.push_back({underscore, nullptr, flag});
  }
  return out;
}

// argparse: an exact spelling, else a prefix that names one flag (its spellings count once).
Expected<Spelling> find(const std::string& given, const std::string& program) {
  static const std::vector<Spelling> all = spellings();
  const std::string wanted = given == "-m" ? "--module" : given;
  if (given == "-h") return Spelling{"--help", nullptr, "--help"};
  for (const auto& s : all) {
    if (s.name == wanted) return s;
  }
  std::vector<const Spelling*> matches;
  if (starts_with(given, "--") && given.size() > 2) {
    for (const auto& s : all) {
      if (!starts_with(s.name, given)) continue;
      bool same = std::any_of(matches.begin(), matches.end(), [&](const Spelling* m) {
        return m->ipex == s.ipex && m->launcher == s.launcher;
      });
      if (!same) matches.push_back(&s);
    }
  }
  if (matches.size() == 1) return *matches[0];
  if (matches.size() > 1) {
    std::vector<std::string> names;
    for (const auto* m : matches) names.push_back(m->ipex ? m->ipex->flag : m->launcher);
    return make_error("ambiguous flag '" + given + "' (could be " + join(names, ", ") + ")");
  }
  return make_error("unknown flag '" + given + "' (ipexrun's command line; see " + program +
                    " --help for the accepted flags)");
}

Status apply(SpawnOptions& o, const Spelling& s, const std::string& value) {
  if (s.ipex) return s.ipex->apply(o, value);
  auto launcher = launcher_flag(s.launcher);
  if (!launcher) return make_error(std::string("internal: no launcher flag ") + s.launcher);
  return launcher->apply(o, value);
}

bool takes_value(const Spelling& s) {
  if (s.ipex) return s.ipex->takes_value;
  auto launcher = launcher_flag(s.launcher);
  return launcher && launcher->takes_value;
}

Status finish(SpawnOptions& o) {
  if (o.help || o.version) return ok();
  if (o.json && !o.dry_run)
    return make_error("--json only applies to --dry-run (the plan preview)");
  if (o.module && o.no_python) {
    return make_error("-m/--module and --no-python together: a module needs python; drop one");
  }
  if (o.program.empty() && !o.dry_run) {
    return make_error("no program given (usage: " + o.program_name + " [FLAGS] PROGRAM [ARGS...])");
  }
  return add_ccl_workers_to_rank_size(o);
}

}  // namespace

bool is_ipexrun_invocation(const std::string& argv0, const std::vector<std::string>& args) {
  const std::string name =
      argv0.substr(argv0.rfind('/') == std::string::npos ? 0 : argv0.rfind('/') + 1);
  return name == "ipexrun" || (!args.empty() && args[0] == "cpu");
}

Expected<SpawnOptions> parse_ipexrun_args(const std::string& argv0,
                                          const std::vector<std::string>& args) {
  SpawnOptions o;
  o.flag_env["XEONRUN_COMPAT"] = "ipexrun";
  o.program_name = program_name(argv0, args);
  o.ipexrun_semantics = true;
  size_t i = 0;
  if (!args.empty() && args[0] == "cpu") i = 1;
  if (!args.empty() && args[0] == "xpu") {
    return make_error("xpu: ipexrun's GPU backend is not xeonrun-spawn's business; accepted: cpu");
  }
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;  // the program; the rest is its own
    std::string name = arg;
    std::optional<std::string> inline_value;
    if (auto eq = arg.find('='); eq != std::string::npos && starts_with(arg, "--")) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    auto spelling = find(name, o.program_name);
    if (!spelling) return spelling.error();
    std::string value;
    if (takes_value(*spelling)) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return make_error(name + " needs a value");
      }
    } else if (inline_value) {
      return make_error(name + " is a switch and takes no value (got '" + *inline_value + "')");
    }
    if (Status applied = apply(o, *spelling, value); !applied) return applied.error();
  }
  if (i < args.size()) {
    o.program = args[i];
    o.program_args.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  }
  if (Status done = finish(o); !done) return done.error();
  return o;
}

std::vector<std::string> ipexrun_flag_choices(const std::string& flag) {
  for (const auto& f : ipex_flags()) {
    if (flag != f.flag) continue;
    if (const auto* choice = f.apply.target<ChoiceOf>()) return choice->words();
    if (const auto* fn = f.apply.target<Status (*)(SpawnOptions&, const std::string&)>();
        fn && *fn == task_manager) {
      return task_managers();
    }
  }
  return {};
}

std::string ipexrun_help_text(const std::string& program) {
  std::string text =
      "usage: " + program + (program == "ipexrun" ? " [cpu]" : "") +
      " [FLAGS] [--] PROGRAM [ARGS...]\n"
      "\n"
      "xeonrun-spawn with ipexrun's command line and semantics (Intel Extension for PyTorch's\n"
      "launcher): each instance is a rank placed by libxeonplace.so (XEONRUN_COMPAT=ipexrun).\n"
      "Where ipexrun is wrong the plan is right instead; README \"From ipexrun\" lists every\n"
      "difference. Flags take `--flag VALUE` or `--flag=VALUE`, dash or underscore spellings,\n"
      "and unambiguous prefixes.\n"
      "\n"
      "ipexrun's flags:\n";
  for (const auto& f : ipex_flags()) {
    if (!f.help) continue;
    std::string names = f.flag;
    if (std::string(f.flag) == "--module") names = "-m, " + names;
    if (f.alias) names += std::string(", ") + f.alias;
    if (f.takes_value) names += " VALUE";
    text += help_entry(names, f.help);
  }
  text += "\nRefused (start distributed ranks with mpiexec or torchrun and LD_PRELOAD instead):\n";
  std::vector<std::string> refused;
  for (const auto& f : ipex_flags()) {
    if (!f.help) refused.push_back(f.flag);
  }
  text += "  " + join(refused, ", ") + "\n";
  text += "\nxeonrun-spawn's own flags:\n";
  for (const char* flag : kLauncherFlags) {
    auto launcher = launcher_flag(flag);
    std::string names = flag;
    if (launcher->metavar) names += std::string(" ") + launcher->metavar;
    text += help_entry(names, launcher->help);
  }
  return text;
}

}  // namespace xeonplace::spawn
