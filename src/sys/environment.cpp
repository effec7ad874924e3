#include "sys/environment.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace xeonplace {

EnvMap snapshot_environment(char** envp) {
  EnvMap env;
  if (envp == nullptr) return env;
  for (char** entry = envp; *entry != nullptr; ++entry) {
    const char* equals = std::strchr(*entry, '=');
    if (equals == nullptr || equals == *entry) continue;
    std::string name(*entry, static_cast<std::size_t>(equals - *entry));
    const bool loader_variable = name.compare(0, 3, "LD_") == 0;
    if (loader_variable) {
      env[name] = std::string(equals + 1);
    } else {
      env.emplace(std::move(name), std::string(equals + 1));
    }
  }
  return env;
}

Status export_variables(const std::vector<EnvVar>& variables) {
  for (const EnvVar& variable : variables) {
    if (::setenv(variable.name.c_str(), variable.value.c_str(), 1) != 0) {
      return make_error("cannot set " + variable.name + "=" + variable.value + ": " +
                        std::strerror(errno));
    }
  }
  return Unit{};
}

ScopedVariable::ScopedVariable(const char* name, const char* value) : name_(name) {
  if (const char* previous = ::getenv(name)) previous_ = previous;
  ::setenv(name, value, 1);
}

ScopedVariable::~ScopedVariable() {
  if (previous_) {
    ::setenv(name_.c_str(), previous_->c_str(), 1);
  } else {
    ::unsetenv(name_.c_str());
  }
}

}  // namespace xeonplace
