#include "tools/spawn/rank_env.h"

#include <algorithm>

#include "core/decision.h"
#include "core/options.h"

namespace xeonplace::spawn {

EnvMap env_from_strings(char** envp) {
  EnvMap env;
  for (char** e = envp; e && *e; ++e) {
    std::string entry = *e;
    auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return env;
}

bool is_placement_output(const std::string& name) { return is_output_variable(name); }

EnvMap planning_env(const EnvMap& base, const EnvMap& flag_env) {
  EnvMap env;
  // A placed parent's plan is set aside as the library sets it aside (core/decision.h); outputs
  // of any earlier placement (XEONRUN_REEXEC_* too) never reach a rank.
  for (const auto& [name, value] : placement_inputs(base)) {
    if (!is_placement_output(name)) env.emplace(name, value);
  }
  for (const auto& [name, value] : flag_env) env[name] = value;
  return env;
}

EnvMap rank_env(const EnvMap& planning, const std::vector<EnvVar>& handoff) {
  EnvMap env = planning;
  for (const EnvVar& var : handoff) env[var.name] = var.value;
  return env;
}

std::vector<std::string> to_env_strings(const EnvMap& env) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

}  // namespace xeonplace::spawn
