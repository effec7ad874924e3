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

// run_cpu's rule: without --no-python or -m the program must be a .py script. The error says the
// fix.
Status check_program_kind(const SpawnOptions& options);

// The command after check_program_kind passed. Errors: the program or python is not found or not
// executable.
Expected<Command> resolve_command(const SpawnOptions& options, const EnvMap& env);

// PATH lookup like execvp: a name with '/' is taken as is.
Expected<std::string> find_executable(const std::string& name, const EnvMap& env);

}  // namespace xeonplace::spawn
