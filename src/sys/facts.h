// Gathering the facts decide() needs (core/decision.h): the machine, the process's affinity,
// cpuset and tracer, the libraries loaded and found on disk. Every read of the machine the
// decision rests on happens here, and only what FactsWanted asks for is read.
#pragma once

#include <optional>
#include <string>

#include "core/decision.h"
#include "core/env_map.h"

namespace xeonplace {

enum class FactsFor {
  ThisProcess,  // the library in the process it places (loaded objects, pid, tracer, AT_SECURE)
  NewProcess,   // xeonrun-spawn for ranks yet to start: no loaded objects, pid 0
};

// The tightest CPU quota on this process's cgroup path, v2 and v1 (core/cpu_quota.h). `root`
// prefixes every path read ("" on this machine; a directory laid out like / in tests).
std::optional<CpuQuota> read_cpu_quota(const std::string& root);

// `self_path`: libxeonplace.so's absolute path ("" for a spawner started with --library '').
Facts gather_facts(const FactsWanted& wanted, const EnvMap& env, const std::string& self_path,
                   FactsFor subject);

}  // namespace xeonplace
