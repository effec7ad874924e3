// The environment as a plain value, so that parsing and planning never call getenv().
#pragma once

#include <map>
#include <optional>
#include <string>

namespace xeonplace {

using EnvMap = std::map<std::string, std::string>;

inline std::optional<std::string> lookup(const EnvMap& env, const std::string& name) {
  auto it = env.find(name);
  if (it == env.end()) return std::nullopt;
  return it->second;
}

}  // namespace xeonplace
