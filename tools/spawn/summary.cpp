#include "tools/spawn/summary.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>

#include "tools/spawn/output.h"

namespace xeonplace::spawn {

std::string describe_end(const RankEnd& end) {
  if (!end.started) return "not started (" + end.start_error + ")";
  int status = end.wait_status;
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    std::string text = "killed by signal " + std::to_string(sig);
    if (abbrev) text += std::string(" (SIG") + abbrev + ")";
    return text;
  }
  return "wait status " + std::to_string(status);
}

std::string summary_line(const RankEnd& end, const std::string& program) {
  char wall[32];
  std::snprintf(wall, sizeof wall, "%.3fs", end.wall_seconds);
  return program + ": rank " + std::to_string(end.rank) + "  cpus " +
         (end.cpus.empty() ? std::string("-") : end.cpus) + "  " + describe_end(end) + "  wall " +
         wall + "\n";
}

LauncherLines::~LauncherLines() {
  if (log_fd_ >= 0) ::close(log_fd_);
}

void LauncherLines::write(const std::string& lines) const {
  write_all(2, lines);
  if (log_fd_ < 0) return;
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  write_all(log_fd_, ipexrun_launcher_log_lines(lines, program_, static_cast<long>(now.tv_sec),
                                                static_cast<int>(now.tv_nsec / 1000000)));
}

void LauncherLines::say(const std::string& message) const {
  write(program_ + ": " + message + "\n");
}

std::string LauncherLines::error_prefix() const {
  return program_ + (ipexrun_ ? ": error: " : ": ");
}

int LauncherLines::error(int code, const std::string& message) const {
  write(error_prefix() + message + "\n");
  return code;
}

}  // namespace xeonplace::spawn
