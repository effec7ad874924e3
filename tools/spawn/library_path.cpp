#include "tools/spawn/library_path.h"

#include <limits.h>
#include <unistd.h>

namespace xeonplace::spawn {

std::string default_library_path() {
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    std::string path(exe, static_cast<size_t>(n));
    std::string dir = path.substr(0, path.rfind('/'));
    if (dir == XEONPLACE_SPAWN_BUILD_DIR) return XEONPLACE_BUILD_LIBRARY;
  }
  return XEONPLACE_INSTALLED_LIBRARY;
}

}  // namespace xeonplace::spawn
