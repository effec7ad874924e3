// The environment as a plain value, so that parsing and planning never call getenv().
#pragma once

#include <map>
#include <optional>
#include <string>

namespace xeonplace {

using EnvMap = std::map<std::string, std::string>;

// One variable to set, in the order it is to be set.
struct EnvVar {
  std::string name;
  std::string value;
  bool operator==(const EnvVar& o) const { return name == o.name && value == o.value; }
};

inline std::optional<std::string> lookup(const EnvMap& env, const std::string& name) {
  auto it = env.find(name);
  if (it == env.end()) return std::nullopt;
  return it->second;
}

}  // namespace xeonplace
