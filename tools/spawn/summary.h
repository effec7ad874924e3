// The end-of-run report: one line per rank with its CPUs, how it ended and its wall time.
#pragma once

#include <string>
#include <utility>

#include "tools/spawn/supervisor.h"

namespace xeonplace::spawn {

// "exit 0", "exit 3", "killed by signal 9 (SIGKILL)", "not started (fork: ...)"
std::string describe_end(const RankEnd& end);

// "xeonrun-spawn: rank 0  cpus 0-3  exit 0  wall 1.234s\n"; `program` names the launcher as it
// was invoked (SpawnOptions::program_name).
std::string summary_line(const RankEnd& end, const std::string& program = "xeonrun-spawn");

// The launcher's own lines on stderr, each naming it: "NAME: message". Under ipexrun's command line
// an error reads "NAME: error: message", as ipexrun's argparse prints one. With a launcher log
// (ipexrun's STAMPED_instances.log, tools/spawn/output.h) every line is written there too, in
// IPEX's logger format (ipexrun_launcher_log_lines).
class LauncherLines {
 public:
  LauncherLines(std::string program, bool ipexrun)
      : program_(std::move(program)), ipexrun_(ipexrun) {}
  LauncherLines(const LauncherLines&) = delete;
  LauncherLines& operator=(const LauncherLines&) = delete;
  ~LauncherLines();

  const std::string& program() const { return program_; }
  std::string error_prefix() const;            // "NAME: ", or "NAME: error: " under ipexrun's
  void say(const std::string& message) const;  // "NAME: message"
  int error(int code, const std::string& message) const;  // says it as an error, returns `code`
  void write(const std::string& lines) const;             // whole lines, already named
  void set_log(int fd) { log_fd_ = fd; }                  // owned from now on

 private:
  std::string program_;
  bool ipexrun_;
  int log_fd_ = -1;
};

}  // namespace xeonplace::spawn
