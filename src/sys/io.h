// Whole-buffer file I/O with one home each (libcamera's base/utils is the model): every loop that
// writes all bytes or reads a whole file is one of these.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/expected.h"

namespace xeonplace {

// Writes all of `data` to `fd`, again after a short write or EINTR. Returns false when write(2)
// fails otherwise (errno says why) or writes nothing. Async-signal-safe: only write(2) and errno.
bool write_all(int fd, std::string_view data);

// The whole content of the regular file at `path` (opened O_CLOEXEC). A FIFO, directory or device
// is refused before reading, so that a path like /dev/zero cannot block or grow without end; so is
// a file larger than `max_bytes`. The error says only what went wrong ("cannot open: No such file
// or directory", "not a regular file", "cannot read: ...", "larger than N bytes"): the caller
// names the file the way its user spelt it.
Expected<std::string> read_whole_file(const std::string& path,
                                      std::size_t max_bytes = static_cast<std::size_t>(-1));

// Replaces the content of `path` with `text` (created 0644 when missing). The error says what
// went wrong, as read_whole_file's.
Status write_whole_file(const std::string& path, std::string_view text);

}  // namespace xeonplace
