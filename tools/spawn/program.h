// Which command a rank runs: run_cpu's rules (.py under python, -m a module, --no-python the
// program itself), resolved on PATH before any rank starts so a typo is one clear error.
#pragma once

#include <string>
#include <vector>

#include "core/env_map.h"
#include "core/expected.h"
#include "tools/spawn/cli.h"

namespace xeonplace::spawn {

struct Command {
  std::string path;               // what execve gets: an absolute or relative file name
  std::vector<std::string> argv;  // argv[0] is the name as the user would type it
};

// The python that runs .py programs and modules: $PYTHON when set, else "python3".
std::string python_name(const EnvMap& env);

// Errors: a non-.py program without --no-python (run_cpu's rule, with the fix), or a program or
// python that is not found / not executable.
Expected<Command> resolve_command(const SpawnOptions& options, const EnvMap& env);

// PATH lookup like execvp: a name with '/' is taken as is.
Expected<std::string> find_executable(const std::string& name, const EnvMap& env);

}  // namespace xeonplace::spawn
