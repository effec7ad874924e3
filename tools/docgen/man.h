// The manual pages, in roff (man(7) macros), generated like --help and the README's table:
//   xeonrun-spawn(1)  from xeonrun-spawn's --help (its flags, both tables)
//   ipexrun(1)        from ipexrun's --help (its own flags; exit status as xeonrun-spawn's)
//   xeonplace(7)      from the variable, output and launcher tables, plus the exit status
#pragma once

#include <string>

namespace xeonplace::docgen {

std::string man_page_spawn();      // xeonrun-spawn.1
std::string man_page_ipexrun();    // ipexrun.1
std::string man_page_xeonplace();  // xeonplace.7

}  // namespace xeonplace::docgen
