#include "sys/log.h"

#include <fcntl.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>
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

}  // namespace

Log::Log(LogLevel level, const std::string& file) {
  std::string open_error;
  if (!file.empty()) {
    const int fd =
        ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) {
      fd_ = fd;
    } else {
      open_error = "XEONRUN_LOG_FILE=" + file + ": cannot open: " + std::strerror(errno) +
                   "; logging to stderr";
    }
  }
  logger_ = std::make_shared<spdlog::logger>("xeonplace", std::make_shared<FdSink>(fd_));
  logger_->set_pattern("xeonplace: %l: %v");
  logger_->set_level(to_spdlog(level));
  if (!open_error.empty()) warn(open_error);
}

Log::~Log() {
  logger_.reset();
  if (fd_ != 2) ::close(fd_);
}

bool Log::enabled(LogLevel level) const { return logger_->should_log(to_spdlog(level)); }

void Log::set_level(LogLevel level) { logger_->set_level(to_spdlog(level)); }

// Messages are passed as arguments, never as format strings: they contain user input.
void Log::debug(const std::string& message) { logger_->debug("{}", message); }
void Log::info(const std::string& message) { logger_->info("{}", message); }
void Log::warn(const std::string& message) { logger_->warn("{}", message); }
void Log::error(const std::string& message) { logger_->error("{}", message); }

}  // namespace xeonplace
