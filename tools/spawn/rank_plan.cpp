#include "tools/spawn/rank_plan.h"

#include "core/options.h"
#include "tools/spawn/rank_env.h"

namespace xeonplace::spawn {
namespace {

bool places_like(const Topology& topology, const EnvMap& env, const RankPlacement& want) {
  auto config = parse_config(env);
  if (!config) return false;
  auto placement = plan(topology, *config);
  if (!placement) return false;
  for (const auto& r : placement->ranks) {
    if (r.rank == want.rank) return r.cpus == want.cpus && r.mems == want.mems;
  }
  return false;
}

}  // namespace

Expected<EnvMap> rank_env_for_plan(const Topology& topology, const EnvMap& planning,
                                   const RankPlacement& want, unsigned nranks,
                                   const std::string& library) {
  EnvMap env = rank_env(planning, want.rank, nranks, library);
  if (places_like(topology, env, want)) return env;
  if (!planning.count("XEONRUN_NINSTANCES")) {
    env.erase("XEONRUN_NINSTANCES");
    if (places_like(topology, env, want)) return env;
  }
  return make_error(
      "rank " + std::to_string(want.rank) +
      ": the library in the rank would not reproduce the launcher's placement (cpus " +
      want.cpus.format() + ", mems " + want.mems.format() +
      "); this is a bug, please report it with the flags used");
}

}  // namespace xeonplace::spawn
