#include "sys/log.h"

#include <fcntl.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "sys/io.h"

namespace xeonplace {
namespace {

// One write(2) per line, so that lines of ranks appending to one file never interleave
// (O_APPEND makes each write atomic for regular files) and nothing is buffered in stdio.
class FdSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit FdSink(int fd) : fd_(fd) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    spdlog::memory_buf_t line;
    formatter_->format(message, line);
    // Nowhere is left to report a failing log line.
    (void)write_all(fd_, std::string_view(line.data(), line.size()));
  }
  void flush_() override {}

 private:
  int fd_;
};

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::Debug:
      return spdlog::level::debug;
    case LogLevel::Info:
      return spdlog::level::info;
    case LogLevel::Warn:
      return spdlog::level::warn;
    case LogLevel::Error:
      return spdlog::level::err;
    case LogLevel::Off:
      return spdlog::level::off;
  }
  return spdlog::level::warn;
}

// What a refused XEONRUN_LOG_FILE is, for the warning; empty for the types a log may be.
std::string refused_type(mode_t mode) {
  if (S_ISREG(mode) || S_ISCHR(mode)) return {};
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

}  // namespace

// The log file's descriptor, or -1 and `why`. O_NONBLOCK so that opening never waits: a FIFO
// without a reader would otherwise block the program before main() (issue #12). Only a regular
// file or a character device (a terminal, /dev/null) is accepted, and then made blocking again
// so that a line is never dropped with EAGAIN.
int open_log_file(const std::string& file, std::string& why) {
  const int fd = ::open(file.c_str(),
                        O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
  struct stat st {};
  if (fd < 0) {
    const int error = errno;
    // A FIFO without a reader (ENXIO), a socket (ENXIO), a directory (EISDIR): name the type.
    const bool known = ::lstat(file.c_str(), &st) == 0 && !refused_type(st.st_mode).empty();
    why = known ? "is " + refused_type(st.st_mode) + ", not a regular file or a terminal"
                : std::string("cannot open: ") + std::strerror(error);
    return -1;
  }
  if (::fstat(fd, &st) != 0 || !refused_type(st.st_mode).empty()) {
    why = "is " + refused_type(st.st_mode) + ", not a regular file or a terminal";
    ::close(fd);
    return -1;
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

Log::Log(LogLevel level, const std::string& file) {
  if (!file.empty()) {
    std::string why;
    const int fd = open_log_file(file, why);
    if (fd >= 0) {
      fd_ = fd;
    } else {
      open_warning_ = "XEONRUN_LOG_FILE=" + file + ": " + why + "; logging to stderr";
    }
  }
  logger_ = std::make_shared<spdlog::logger>("xeonplace", std::make_shared<FdSink>(fd_));
  logger_->set_pattern("xeonplace: %l: %v");
  logger_->set_level(to_spdlog(level));
}

void Log::write_open_warning() {
  if (open_warning_.empty()) return;
  logger_->warn("{}", open_warning_);
  open_warning_.clear();
}

Log::~Log() {
  write_open_warning();
  logger_.reset();
  if (fd_ != 2) ::close(fd_);
}

bool Log::enabled(LogLevel level) const { return logger_->should_log(to_spdlog(level)); }

void Log::set_level(LogLevel level) {
  logger_->set_level(to_spdlog(level));
  write_open_warning();
}

// Messages are passed as arguments, never as format strings: they contain user input.
void Log::write(LogLevel level, const std::string& message) {
  write_open_warning();
  logger_->log(to_spdlog(level), "{}", message);
}

void Log::debug(const std::string& message) { write(LogLevel::Debug, message); }
void Log::info(const std::string& message) { write(LogLevel::Info, message); }
void Log::warn(const std::string& message) { write(LogLevel::Warn, message); }
void Log::error(const std::string& message) { write(LogLevel::Error, message); }

}  // namespace xeonplace
