// The C front's list of launcher local-rank variables is generated from the core's at build time
// (src/shim/launcher_variables_gen.cpp): the generated header holds exactly the core's names.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/launcher.h"
#include "launcher_variables.h"

namespace xeonplace {
namespace {

TEST(LauncherVariables, GeneratedFrontListIsTheCoresListAsEnvironmentPrefixes) {
  const std::vector<std::string> generated = {XEONPLACE_LAUNCHER_RANK_VARIABLES};
  std::vector<std::string> core;
  for (const char* variable : kLauncherLocalRankVariables)
    core.push_back(std::string(variable) + "=");
  EXPECT_EQ(generated, core);
}

}  // namespace
}  // namespace xeonplace
