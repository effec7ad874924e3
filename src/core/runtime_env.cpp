#include "core/runtime_env.h"

#include <string>
#include <vector>

namespace xeonplace {
namespace {

// Both families of binding variables at once make LLVM's libomp warn and ignore one of them
// ("OMP_PROC_BIND: ignored because KMP_AFFINITY has been defined").
bool is_kmp_binding(const std::string& name) { return name == "KMP_AFFINITY"; }
bool is_omp_binding(const std::string& name) {
  return name == "OMP_PROC_BIND" || name == "OMP_PLACES";
}

bool is_thread_pool(const std::string& name) {
  for (const char* pool : kThreadPoolVariables) {
    if (name == pool) return true;
  }
  return false;
}

// XEONRUN_COMPAT=ipexrun's OpenMP variables (its launcher_base.py and launcher_multi_instances.py):
// KMP_AFFINITY=compact unless a rank uses every logical CPU, KMP_BLOCKTIME=1; for GNU OpenMP
// OMP_SCHEDULE=STATIC and OMP_PROC_BIND=CLOSE. With XEONRUN_PIN=none (--multi-task-manager none)
// the runtime binds the threads to the rank's CPUs instead of the process: KMP_AFFINITY's
// explicit proclist, or GOMP_CPU_AFFINITY.
void ipexrun_openmp_env(const RankPlacement& rank, const Config& config, std::vector<EnvVar>& env) {
  const bool logical = plans_logical_cores(config);
  const bool openmp_binds = config.pin == Pin::None;
  if (config.omp_runtime == OmpRuntime::Intel) {
    if (openmp_binds) {
      env.push_back(
          {"KMP_AFFINITY", "granularity=fine,proclist=[" + rank.cpus.format() + "],explicit"});
    } else if (!(logical && !config.node_id && !config.nodes_list && !config.core_list)) {
      env.push_back({"KMP_AFFINITY", "granularity=fine,compact,1,0"});
    }
    env.push_back({"KMP_BLOCKTIME", "1"});
    return;
  }
  env.push_back({"OMP_SCHEDULE", "STATIC"});
  env.push_back({"OMP_PROC_BIND", "CLOSE"});
  if (openmp_binds) env.push_back({"GOMP_CPU_AFFINITY", rank.cpus.format()});
}

}  // namespace

std::vector<EnvVar> planned_runtime_env(const RankPlacement& rank, const Config& config) {
  std::vector<EnvVar> env;
  env.push_back({"OMP_NUM_THREADS", std::to_string(rank.omp_threads)});
  const bool logical = plans_logical_cores(config);
  if (config.compat == Compat::Ipexrun) {
    ipexrun_openmp_env(rank, config, env);
  } else if (config.omp_runtime == OmpRuntime::Intel) {
    // run_cpu leaves KMP_AFFINITY unset when a rank uses the logical cores of every node, and sets
    // it otherwise; the plan matches it so that its environment equals run_cpu's.
    if (!(logical && !config.node_id)) {
      env.push_back({"KMP_AFFINITY", "granularity=fine,compact,1,0"});
    }
    env.push_back({"KMP_BLOCKTIME", "1"});
  } else {
    // GNU libgomp ignores KMP_*; without these its threads float over the rank's CPUs (run_cpu
    // leaves them unbound). "cores" gives one thread per core inside the rank's affinity.
    env.push_back({"OMP_PROC_BIND", "close"});
    env.push_back({"OMP_PLACES", logical ? "threads" : "cores"});
  }
  if (config.thread_pools == ThreadPools::All) {
    for (const char* name : kThreadPoolVariables) {
      env.push_back({name, std::to_string(rank.omp_threads)});
    }
  }
  return env;
}

std::vector<EnvVar> merge_with_user_env(const std::vector<EnvVar>& planned, const EnvMap& current,
                                        std::vector<std::string>& warnings) {
  // The user's binding family wins over the plan's other family, so only one family is ever set.
  const char* user_binding = nullptr;
  bool user_has_kmp = false;
  bool user_has_omp = false;
  for (const char* name : {"KMP_AFFINITY", "OMP_PROC_BIND", "OMP_PLACES"}) {
    if (current.count(name) == 0) continue;
    if (user_binding == nullptr) user_binding = name;
    (is_kmp_binding(name) ? user_has_kmp : user_has_omp) = true;
  }

  // A thread count the user gave OpenMP is the user's count for every pool: PyTorch, for one, lets
  // MKL_NUM_THREADS override OMP_NUM_THREADS, so a planned pool size would undo the user's choice.
  const auto user_threads = current.find("OMP_NUM_THREADS");
  std::vector<EnvVar> result;
  for (EnvVar var : planned) {
    if (user_threads != current.end() && is_thread_pool(var.name)) var.value = user_threads->second;
    auto it = current.find(var.name);
    if (it != current.end()) {
      if (it->second != var.value) {
        warnings.push_back(var.name + "=" + it->second +
                           " kept from the environment; the plan wants " + var.value +
                           (var.name == "OMP_NUM_THREADS" || is_thread_pool(var.name)
                                ? " (XEONRUN_THREADS=plan gives it the plan's)"
                                : ""));
      }
      continue;
    }
    if ((is_kmp_binding(var.name) && user_has_omp) || (is_omp_binding(var.name) && user_has_kmp)) {
      const std::string user_name = user_has_kmp ? "KMP_AFFINITY" : user_binding;
      warnings.push_back(var.name + "=" + var.value + " not set: " + user_name + "=" +
                         current.at(user_name) +
                         " is set in the environment, and OpenMP runtimes ignore one of the two "
                         "when both are set");
      continue;
    }
    result.push_back(var);
  }
  return result;
}

}  // namespace xeonplace
