// Starts the ranks and looks after them until the last one is gone: forwards signals, stops the
// others when one fails, collects output, and reports how each rank ended. The only part of the
// launcher that forks, waits and kills.
//
// Each rank runs in its own process group, and the launcher is a child subreaper: stopping a rank
// (SIGINT, SIGTERM or SIGHUP to the launcher, or another rank failing) signals the rank's whole
// group, and after the grace period SIGKILLs what is left of it, including processes the rank
// started and left behind, and processes that left the group once they are orphaned (adopted by
// the launcher). Signals the launcher inherited as ignored (nohup) stay ignored and are
// not forwarded. A rank whose stdin would be a terminal reads /dev/null instead: a background
// process group reading the terminal is stopped by the kernel.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "tools/spawn/output.h"
#include "tools/spawn/program.h"

namespace xeonplace::spawn {

struct RankStart {
  unsigned rank = 0;
  std::string cpus;              // for the summary: the CPUs the plan gives this rank
  std::vector<std::string> env;  // "NAME=value"
  RankLogs logs;                 // -1 fds: no log files
  // Called in the child between fork and exec: async-signal-safe calls only (the placement
  // prepared before fork, sys/apply.h). Empty: nothing.
  std::function<void()> before_exec;
};

struct SuperviseOptions {
  Command command;
  std::string tag_prefix = "run";  // console tag "[run0] "
  // Starts a rank's "cannot run 'PATH': reason" line: "xeonrun-spawn: ", "ipexrun: error: ".
  std::string error_prefix = "xeonrun-spawn: ";
  double grace_period_seconds = 5.0;
};

struct RankEnd {
  unsigned rank = 0;
  std::string cpus;
  pid_t pid = -1;
  bool started = false;
  std::string start_error;  // why it could not start (fork failed)
  int wait_status = 0;      // as waitpid reports it
  double wall_seconds = 0;
  double cpu_seconds = 0;  // user + system, from wait4's rusage (its waited-for children too)
  long involuntary_switches = 0;  // ru_nivcsw
};

struct SuperviseResult {
  int exit_code = 0;  // the first failing rank's status, 128+N if the launcher got signal N, or 0
  std::vector<RankEnd> ranks;
};

SuperviseResult supervise(const std::vector<RankStart>& ranks, const SuperviseOptions& options);

// The exit code a shell would report for this wait status: the exit status, or 128+N.
int exit_code_of(int wait_status);

}  // namespace xeonplace::spawn
