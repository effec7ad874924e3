#include "sys/chain_load.h"

#include <unistd.h>

#include "core/preload.h"
#include "sys/library_search.h"
#include "sys/reexec.h"

namespace xeonplace {
namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string find_self(const std::vector<std::string>& loaded) {
  for (const auto& path : loaded) {
    auto slash = path.rfind('/');
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (base.rfind("libxeonplace.so", 0) == 0) return path;
  }
  return {};
}

// What the app misses when the re-exec cannot happen, for the warning.
std::string consequence(const ChainLoad& chain, bool omp_stale) {
  std::string out;
  if (!chain.added.empty()) out = "running without " + joined(chain.added);
  if (omp_stale) {
    out += out.empty() ? "running with " : "; and with ";
    out += "the OpenMP settings the runtime read at start";
  }
  return out;
}

}  // namespace

ChainLoadReport chain_load_or_continue(const Config& config, const std::vector<EnvVar>& runtime_env,
                                       const EnvMap& startup_env, const std::string& self_path,
                                       const std::vector<EnvVar>& carry) {
  ChainLoadReport report;
  const long pid = static_cast<long>(getpid());
  const GuardState guard = guard_state(startup_env, pid);
  if (guard == GuardState::ThisImage) {
    report.reexecuted_image = true;
    set_process_name(lookup(startup_env, kReexecNameVariable).value_or(""));
    // Gone before main(): the app, bash included, and its children never see them.
    remove_from_environ(kReexecPrefix);
  }

  const bool secure = secure_execution();
  const std::vector<std::string> loaded = loaded_objects();
  const SearchPlaces places = library_search_places(startup_env, secure);
  ChainLoadInput input;
  for (const auto& request : requested_libraries(config)) {
    auto path = find_library(request, places);
    if (path) {
      input.found.push_back({request.role, *path, request.explicit_choice});
    } else {
      report.warnings.push_back(path.error().message);
    }
  }
  input.loaded = loaded;
  input.self_path = self_path.empty() ? find_self(loaded) : self_path;
  input.env = startup_env;
  const ChainLoad chain = compose_chain_load(input);
  report.warnings.insert(report.warnings.end(), chain.warnings.begin(), chain.warnings.end());

  bool omp_loaded = false;
  for (const auto& path : loaded) omp_loaded = omp_loaded || is_openmp_runtime(path);
  const bool omp_stale = omp_loaded && runtime_env_differs(runtime_env, startup_env);

  if (guard == GuardState::ThisImage) {
    // The guard stops a loop: what did not load in this image will not load by trying again.
    // (A library in LD_PRELOAD that ld.so refused is not in `loaded`: ld.so said why already.)
    const std::vector<std::string> missing = libraries_not_loaded(input.found, loaded);
    if (missing.empty() && !omp_stale) {
      report.debug.push_back("chain-load: the re-executed image has every library it asked for");
    } else if (!missing.empty()) {
      report.warnings.push_back("chain-load: after the re-exec " + joined(missing) +
                                " is still not loaded; running without it");
    } else {
      report.warnings.push_back(
          "chain-load: after the re-exec the OpenMP runtime still did not see the planned "
          "variables; running with what it read");
    }
    return report;
  }
  if (chain.added.empty() && !omp_stale) {
    report.debug.push_back("chain-load: nothing to load, no re-exec");
    return report;
  }
  if (config.dry_run) {
    report.debug.push_back("chain-load: dry run, would re-exec to load " + joined(chain.added));
    return report;
  }
  if (secure) {
    report.warnings.push_back(
        "chain-load: secure-execution process (AT_SECURE), not re-executing; " +
        consequence(chain, omp_stale));
    return report;
  }
  auto argv = read_cmdline();
  if (!argv) {
    report.warnings.push_back("chain-load: " + argv.error().message + "; not re-executing; " +
                              consequence(chain, omp_stale));
    return report;
  }

  std::vector<EnvVar> set = runtime_env;
  set.insert(set.end(), chain.env.begin(), chain.env.end());
  set.insert(set.end(), carry.begin(), carry.end());
  for (auto& var : guard_env(pid, process_name())) set.push_back(std::move(var));
  // The new image must place itself again (its front skips a placed child): drop any export.
  const std::vector<std::string> envp =
      compose_envp(remove_from_envp(environ_entries(), {}, {"XEONRUN_PLACED_"}), set);

  Status exec = reexec_self(*argv, envp);  // returns only on failure
  report.warnings.push_back("chain-load: " + exec.error().message + "; " +
                            consequence(chain, omp_stale));
  return report;
}

}  // namespace xeonplace
