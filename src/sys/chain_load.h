// The engine's chain-load step (issue #4): after affinity and memory policy are applied, make the
// allocator and the OpenMP runtime of the plan serve this process, re-executing it once when that
// is the only way (DESIGN §3). Returns what to log; when it re-executes it does not return.
#pragma once

#include <string>
#include <vector>

#include "core/env_map.h"
#include "core/options.h"
#include "core/planner.h"

namespace xeonplace {

struct ChainLoadReport {
  std::vector<std::string> warnings;  // one line each: not found, could not re-exec, did not load
  std::vector<std::string> debug;     // what was decided and why
  bool reexecuted_image = false;      // this image is the one a re-exec started
};

// `runtime_env`: the OMP_*/KMP_* variables this rank exports (after merging with the user's).
// `startup_env`: the environment as the process started, before anything was set.
//
// Re-executes when a requested library is found but not loaded, or when an OpenMP runtime already
// loaded (libgomp linked into the executable) read other values than `runtime_env`. Never twice
// (guard XEONRUN_REEXEC_GUARD=<pid>), never under AT_SECURE, and never in a dry run; when the
// exec is impossible (no /proc, E2BIG) it warns and the app runs as it is. In the re-executed
// image it restores the process name and removes the XEONRUN_REEXEC_* variables from `environ`.
// `self_path`: libxeonplace.so's absolute path, kept in LD_PRELOAD ("": found among the loaded).
// `carry`: XEONRUN_REEXEC_* variables for the re-executed image only (read there from the startup
// environment, then removed with the guard); passed here rather than setenv()ed, which bash
// ignores.
ChainLoadReport chain_load_or_continue(const Config& config, const std::vector<EnvVar>& runtime_env,
                                       const EnvMap& startup_env, const std::string& self_path = "",
                                       const std::vector<EnvVar>& carry = {});

}  // namespace xeonplace
