// Gathering the facts decide() needs (core/decision.h): the machine, the process's affinity,
// cpuset and tracer, the libraries loaded and found on disk. Every read of the machine the
// decision rests on happens here, and only what FactsWanted asks for is read.
#pragma once

#include <string>

#include "core/decision.h"
#include "core/env_map.h"

namespace xeonplace {

enum class FactsFor {
  ThisProcess,  // the library in the process it places (loaded objects, pid, tracer, AT_SECURE)
  NewProcess,   // xeonrun-spawn for ranks yet to start: no loaded objects, pid 0
};

// `self_path`: libxeonplace.so's absolute path ("" for a spawner started with --library '').
Facts gather_facts(const FactsWanted& wanted, const EnvMap& env, const std::string& self_path,
                   FactsFor subject);

}  // namespace xeonplace
