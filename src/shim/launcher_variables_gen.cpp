// Prints src/shim/launcher_variables.h for the C front: kLauncherLocalRankVariables of
// src/core/launcher.h as "NAME=" prefixes of environment entries, so the front (plain C, which
// cannot include the C++ header) acts on exactly the launchers the core knows. Run at build time by
// the custom_target in src/shim/meson.build; reads only the constexpr list, links nothing.
#include <cstddef>
#include <cstdio>

#include "core/launcher.h"

template <std::size_t N>
void print_prefixes(const char* const (&variables)[N]) {
  const char* separator = " ";
  for (const char* variable : variables) {
    std::printf("%s\"%s=\"", separator, variable);
    separator = ", ";
  }
}

int main() {
  std::fputs(
      "/* Generated from kLauncherLocalRankVariables in src/core/launcher.h by\n"
      " * src/shim/launcher_variables_gen.cpp at build time: do not edit. */\n"
      "#ifndef XEONPLACE_LAUNCHER_VARIABLES_H\n"
      "#define XEONPLACE_LAUNCHER_VARIABLES_H\n\n"
      "/* The launchers' local-rank variables, as prefixes of environment entries: use as\n"
      " * static const char* const names[] = {XEONPLACE_LAUNCHER_RANK_VARIABLES}; */\n"
      "#define XEONPLACE_LAUNCHER_RANK_VARIABLES",
      stdout);
  print_prefixes(xeonplace::kLauncherLocalRankVariables);
  std::fputs(
      "\n\n/* The launcher context of a placement (launcher_context() in core/decision.h), in "
      "its order. */\n#define XEONPLACE_LAUNCHER_CONTEXT_VARIABLES",
      stdout);
  print_prefixes(xeonplace::kLauncherContextVariables);
  std::fputs("\n\n#endif\n", stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}
