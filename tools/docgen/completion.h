// xeonrun-spawn's and ipexrun's bash completion, generated from its --help like the man page: every
// spelling of every flag, the values of a flag whose variable is a Choice, directories, files or
// topology sources for the launcher's own value flags, and files and commands once the program is
// named.
#pragma once

#include <string>

namespace xeonplace::docgen {

std::string bash_completion();          // xeonrun-spawn
std::string bash_completion_ipexrun();  // ipexrun: its own flags and words, `cpu` first

}  // namespace xeonplace::docgen
