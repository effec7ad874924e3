// The runtime environment of a placed rank: OpenMP thread count and binding for the chosen
// runtime. Values the user already set are kept, with a warning when they differ from the plan.
#pragma once

#include <string>
#include <vector>

#include "core/env_map.h"
#include "core/options.h"
#include "core/planner.h"

namespace xeonplace {

// Variables the plan wants for this rank (before looking at what the user already set).
std::vector<EnvVar> planned_runtime_env(const RankPlacement& rank, const Config& config);

// What to actually export: planned values, minus those the user set (kept, with a warning in
// `warnings` naming the variable, the user's value and the planned one).
std::vector<EnvVar> merge_with_user_env(const std::vector<EnvVar>& planned, const EnvMap& current,
                                        std::vector<std::string>& warnings);

}  // namespace xeonplace
