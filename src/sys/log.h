// The library's log: a private spdlog logger (never spdlog's default registry, which belongs to
// the host program if it uses spdlog), writing whole lines with write(2) to stderr or to
// XEONRUN_LOG_FILE. Never to stdout: that is the program's output. Safe before main().
#pragma once

#include <memory>
#include <string>

#include "core/options.h"

namespace spdlog {
class logger;
}

namespace xeonplace {

// A file to append lines to (XEONRUN_LOG_FILE, XEONRUN_REPORT_FILE): its descriptor, or -1 and
// `why`. Opened O_WRONLY|O_APPEND|O_CREAT|O_NOFOLLOW|O_CLOEXEC, mode 0644, without ever waiting;
// only a regular file or a character device is accepted.
int open_log_file(const std::string& file, std::string& why);

class Log {
 public:
  // `file` empty: stderr. Otherwise the file is opened for appending
  // (O_WRONLY|O_APPEND|O_CREAT|O_NOFOLLOW|O_CLOEXEC, mode 0644) without ever waiting (O_NONBLOCK
  // while opening); it must be a regular file or a character device such as a terminal. If it
  // cannot be opened or is anything else (a FIFO, a socket, a directory), the log goes to stderr
  // and the first line is a warning naming the variable and why. That warning is written at the
  // first log call or set_level (else at destruction), at the level then in force: a re-executed
  // image, which lowers the level right after construction, does not repeat what the first image
  // said.
  Log(LogLevel level, const std::string& file);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  bool enabled(LogLevel level) const;
  void set_level(LogLevel level);
  void debug(const std::string& message);
  void info(const std::string& message);
  void warn(const std::string& message);
  void error(const std::string& message);
  // Lines look like "xeonplace: warning: <message>".

  bool to_stderr() const { return fd_ == 2; }

 private:
  void write(LogLevel level, const std::string& message);
  void write_open_warning();

  int fd_ = 2;
  std::string open_warning_;  // why XEONRUN_LOG_FILE is not used; written once
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace xeonplace
