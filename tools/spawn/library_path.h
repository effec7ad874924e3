// Which libxeonplace.so the ranks preload when --library is not given: the one built next to this
// executable when it runs from the build tree, else the installed one. Both paths are compiled in
// by meson.
#pragma once

#include <string>

namespace xeonplace::spawn {

std::string default_library_path();

}  // namespace xeonplace::spawn
