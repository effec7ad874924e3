// The environment each rank starts with, built as a value: the launcher's own environment without
// the outputs of an earlier placement, plus the flags' XEONRUN_* variables, the rank, the number of
// ranks and the library prepended to LD_PRELOAD. Planning in the launcher uses the same map, so the
// launcher and the library in the rank see one configuration.
#pragma once

#include <string>
#include <vector>

#include "core/env_map.h"

namespace xeonplace::spawn {

// `environ` as a map (the first definition of a name wins, as getenv does).
EnvMap env_from_strings(char** envp);

// True for variables the library exports after placing (XEONRUN_PLACED_*, XEONRUN_REEXEC_*): a
// launcher started from a placed process must not hand them on, or its ranks would skip placement.
bool is_placement_output(const std::string& name);

// What parse_config sees in the launcher: `base` minus placement outputs, overridden by the flags.
EnvMap planning_env(const EnvMap& base, const EnvMap& flag_env);

// What rank `rank` of `nranks` gets. An empty `library` leaves LD_PRELOAD as it is.
EnvMap rank_env(const EnvMap& planning, unsigned rank, unsigned nranks, const std::string& library);

// "NAME=value" strings for execve.
std::vector<std::string> to_env_strings(const EnvMap& env);

}  // namespace xeonplace::spawn
