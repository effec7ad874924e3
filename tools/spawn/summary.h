// The end-of-run report: one line per rank with its CPUs, how it ended and its wall time.
#pragma once

#include <string>

#include "tools/spawn/supervisor.h"

namespace xeonplace::spawn {

// "exit 0", "exit 3", "killed by signal 9 (SIGKILL)", "not started (fork: ...)"
std::string describe_end(const RankEnd& end);

// "xeonrun-spawn: rank 0  cpus 0-3  exit 0  wall 1.234s\n"
std::string summary_line(const RankEnd& end);

}  // namespace xeonplace::spawn
