// ipexrun's command line (Intel Extension for PyTorch's `ipexrun cpu`, archived in 2026), flag for
// flag: each of its flags becomes XEONRUN_* variables through the table in ipexrun_cli.cpp, with
// XEONRUN_COMPAT=ipexrun for the semantics that differ from run_cpu's (README "From ipexrun",
// docs/design.md §11). Pure, like cli.h.
#pragma once

#include <string>
#include <vector>

#include "core/expected.h"
#include "tools/spawn/cli.h"

namespace xeonplace::spawn {

// Invoked as `ipexrun` (any directory), or with ipexrun's backend word `cpu` first.
bool is_ipexrun_invocation(const std::string& argv0, const std::vector<std::string>& args);

// `args` excludes argv[0]; a leading `cpu` is dropped (ipexrun's default backend), `xpu` refused.
Expected<SpawnOptions> parse_ipexrun_args(const std::string& argv0,
                                          const std::vector<std::string>& args);

// `program`: the name the launcher was invoked by (program_name in cli.h).
std::string ipexrun_help_text(const std::string& program = "ipexrun");

// The words a choice flag of ipexrun's accepts (dash spelling, as --help lists it: "--strategy"
// -> {"scatter", "close"}); empty for any other flag. Read-only, for tools/docgen's completion.
std::vector<std::string> ipexrun_flag_choices(const std::string& flag);

}  // namespace xeonplace::spawn
