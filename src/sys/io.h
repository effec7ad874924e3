// Small I/O helpers shared by the library and the tools (libcamera's base/utils is the model).
#pragma once

#include <string_view>

namespace xeonplace {

// Writes every byte of `text` to `fd`, retrying on EINTR and short writes; gives up silently on
// any other error (it reports errors, it has nowhere to report its own).
void write_all(int fd, std::string_view text);

}  // namespace xeonplace
