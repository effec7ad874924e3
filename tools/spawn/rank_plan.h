// The launcher shows a plan and starts ranks that each plan again inside the library. This makes
// sure both arrive at the same placement: a rank's environment is accepted only when the library,
// given exactly that environment, would place the rank where the launcher's plan says.
#pragma once

#include <string>

#include "core/env_map.h"
#include "core/expected.h"
#include "core/planner.h"
#include "core/topology.h"

namespace xeonplace::spawn {

// XEONRUN_RANK and XEONRUN_NINSTANCES are added to `planning`; XEONRUN_NINSTANCES is left out
// when the user did not give it and it would change the placement (run_cpu's --multi-instance
// with a rank count splits cores evenly instead of one rank per node). An error when no
// environment reproduces the launcher's placement.
Expected<EnvMap> rank_env_for_plan(const Topology& topology, const EnvMap& planning,
                                   const RankPlacement& want, unsigned nranks,
                                   const std::string& library);

}  // namespace xeonplace::spawn
