// The environment each rank starts with, built as a value: the launcher's own environment without
// the outputs of an earlier placement, plus the flags' XEONRUN_* variables, plus the handoff of
// the rank's decision. The launcher decides once; the library in the rank applies the handed
// placement without planning again (docs/design.md, "Planned once").
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

// What parse_config sees in the launcher: `base` minus placement outputs and minus the runtime
// variables a placed parent's plan set (XEONRUN_PLACED_ENV: the plan's values, not the user's, as
// the library sets them aside in core/decision.cpp), overridden by the flags.
EnvMap planning_env(const EnvMap& base, const EnvMap& flag_env);

// What a rank starts with: the planning environment with the decision's handoff applied
// (core/decision.h: XEONRUN_RANK, the runtime variables, LD_PRELOAD, XEONRUN_PLACEMENT).
EnvMap rank_env(const EnvMap& planning, const std::vector<EnvVar>& handoff);

// "NAME=value" strings for execve.
std::vector<std::string> to_env_strings(const EnvMap& env);

}  // namespace xeonplace::spawn
