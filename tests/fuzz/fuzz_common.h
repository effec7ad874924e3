// Helpers shared by the libFuzzer targets: turning bytes into the inputs the parsers take, and
// the invariants every error must keep (design.md §8: one line a person can act on).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/env_map.h"
#include "core/expected.h"

namespace xeonplace::fuzz {

// A failed invariant is a finding: abort so libFuzzer records the input as a crash.
[[noreturn]] inline void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "invariant broken: %s: %s\n", what, detail.c_str());
  std::abort();
}

inline void require(bool condition, const char* what, const std::string& detail = {}) {
  if (!condition) fail(what, detail);
}

// The library prints an error as exactly one line on stderr, so no message may be empty or hold a
// line break of its own.
inline void require_one_line(const Error& error) {
  require(!error.message.empty(), "error message is empty");
  require(error.message.find('\n') == std::string::npos &&
              error.message.find('\r') == std::string::npos,
          "error message spans lines", error.message);
}

// "NAME=VALUE" lines, as the environment would hold them. A line without '=' becomes a name with
// an empty value, so the fuzzer also reaches "set but empty".
inline EnvMap env_from_lines(std::string_view text) {
  EnvMap env;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    const std::size_t eq = line.find('=');
    std::string name(line.substr(0, eq));
    std::string value(eq == std::string_view::npos ? std::string_view() : line.substr(eq + 1));
    env[std::move(name)] = std::move(value);  // the last definition wins, as with setenv
  }
  return env;
}

}  // namespace xeonplace::fuzz
