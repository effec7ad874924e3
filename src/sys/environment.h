// The process environment: read once into an EnvMap (so parsing and planning never call getenv)
// and the variables the placement exports written back.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/env_map.h"
#include "core/expected.h"
#include "core/planner.h"

namespace xeonplace {

// `envp` as glibc passes it to constructors (NAME=VALUE entries, NULL-terminated); entries without
// '=' are skipped. Of duplicate names the first wins, as getenv() does, except for the loader's
// LD_* variables: ld.so reads its variables in one pass over the environment, each entry
// overwriting the one before (process_envvars in glibc's elf/rtld.c), so the last LD_PRELOAD is
// the one that was loaded, and the one the chain-load must start from (issue #12).
EnvMap snapshot_environment(char** envp);

// setenv() each variable, overwriting. An error names the first variable that could not be set.
Status export_variables(const std::vector<EnvVar>& variables);

// Sets one variable for the lifetime of the object and then restores the previous value (or its
// absence), so that a library the engine calls can be steered without the program ever seeing it.
class ScopedVariable {
 public:
  ScopedVariable(const char* name, const char* value);
  ~ScopedVariable();
  ScopedVariable(const ScopedVariable&) = delete;
  ScopedVariable& operator=(const ScopedVariable&) = delete;

 private:
  std::string name_;
  std::optional<std::string> previous_;
};

}  // namespace xeonplace
