#include "tools/spawn/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <memory>
#include <optional>

namespace xeonplace::spawn {
namespace {

using Clock = std::chrono::steady_clock;

// If a rank's own children keep its pipes open after it exits, the launcher still collects their
// output, but stops once they have been quiet this long.
constexpr auto kLinger = std::chrono::milliseconds(1000);

struct Stream {
  int fd = -1;
  std::unique_ptr<StreamSink> sink;
};

struct Running {
  RankEnd end;
  Clock::time_point started_at;
  bool alive = false;
  Stream streams[2];  // stdout, stderr
};

// execve wants char* arrays; built before fork so the child only makes async-signal-safe calls.
std::vector<char*> c_array(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

void child_error(const char* what, const char* path) {
  const char* reason = std::strerror(errno);
  std::string line = std::string("xeonrun-spawn: ") + what + " '" + path + "': " + reason + "\n";
  (void)!::write(2, line.data(), line.size());
}

[[noreturn]] void run_child(const char* path, char* const* argv, char* const* envp, int out_fd,
                            int err_fd, pid_t launcher, const sigset_t& original_mask) {
  // The rank dies with the launcher; the check closes the race where the launcher died before
  // prctl took effect.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != launcher) ::_exit(128 + SIGKILL);
  if (::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) ::_exit(127);
  ::signal(SIGPIPE, SIG_DFL);  // ignored dispositions survive execve; the launcher ignores it
  ::sigprocmask(SIG_SETMASK, &original_mask, nullptr);
  ::execve(path, argv, envp);
  child_error("cannot run", path);
  ::_exit(127);
}

// Signals the launcher inherited as ignored are not handled: `nohup xeonrun-spawn` ignores SIGHUP,
// a background job of a non-interactive shell ignores SIGINT. Such a signal stays ignored here and,
// through fork and execve, in every rank; handling it would forward a hangup the ranks ignore and
// then SIGKILL them after the grace period.
bool inherited_as_ignored(int sig) {
  struct sigaction current {};
  return ::sigaction(sig, nullptr, &current) == 0 && current.sa_handler == SIG_IGN;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int timeout_ms(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left) + 1;
}

}  // namespace

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

SuperviseResult supervise(const std::vector<RankStart>& ranks, const SuperviseOptions& options) {
  sigset_t handled, original_mask;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    if (!inherited_as_ignored(sig)) sigaddset(&handled, sig);
  }
  ::sigprocmask(SIG_BLOCK, &handled, &original_mask);
  const int signal_fd = ::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  struct sigaction ignore {
  }, original_sigpipe{};
  ignore.sa_handler = SIG_IGN;
  // A closed console must not kill the launcher: the logs and the ranks still need it.
  ::sigaction(SIGPIPE, &ignore, &original_sigpipe);

  const pid_t launcher = ::getpid();
  const std::vector<char*> argv = c_array(options.command.argv);
  const std::chrono::duration<double> grace(options.grace_period_seconds);

  std::vector<Running> running(ranks.size());
  std::optional<int> first_failure;  // exit code
  int launcher_signal = 0;
  std::optional<Clock::time_point> kill_deadline;

  auto signal_live = [&](int sig) {
    for (auto& r : running) {
      if (r.alive) ::kill(r.end.pid, sig);
    }
  };
  auto stop_others = [&](int sig) {
    signal_live(sig);
    if (!kill_deadline) {
      kill_deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(grace);
    }
  };

  for (size_t i = 0; i < ranks.size() && !first_failure; ++i) {
    const RankStart& start = ranks[i];
    Running& r = running[i];
    r.end.rank = start.rank;
    r.end.cpus = start.cpus;
    const std::vector<char*> envp = c_array(start.env);
    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
      r.end.start_error = std::string("pipe: ") + std::strerror(errno);
    } else if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
      r.end.start_error = std::string("pipe: ") + std::strerror(errno);
      ::close(out_pipe[0]);
      ::close(out_pipe[1]);
    } else {
      r.started_at = Clock::now();
      pid_t pid = ::fork();
      if (pid == 0) {
        run_child(options.command.path.c_str(), argv.data(), envp.data(), out_pipe[1], err_pipe[1],
                  launcher, original_mask);
      }
      ::close(out_pipe[1]);
      ::close(err_pipe[1]);
      if (pid < 0) {
        r.end.start_error = std::string("fork: ") + std::strerror(errno);
        ::close(out_pipe[0]);
        ::close(err_pipe[0]);
      } else {
        r.end.pid = pid;
        r.end.started = true;
        r.alive = true;
        const std::string tag = "[" + options.tag_prefix + std::to_string(start.rank) + "] ";
        int read_fds[2] = {out_pipe[0], err_pipe[0]};
        int log_fds[2] = {start.logs.out, start.logs.err};
        for (int s = 0; s < 2; ++s) {
          ::fcntl(read_fds[s], F_SETFL, O_NONBLOCK);
          r.streams[s].fd = read_fds[s];
          r.streams[s].sink = std::make_unique<StreamSink>(tag, s == 0 ? 1 : 2, log_fds[s]);
        }
      }
    }
    if (!r.end.started) {
      first_failure = 1;
      stop_others(SIGTERM);
    }
  }

  auto reap = [&] {
    for (;;) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) return;
      for (auto& r : running) {
        if (!r.alive || r.end.pid != pid) continue;
        r.alive = false;
        r.end.wait_status = status;
        r.end.wall_seconds = seconds_since(r.started_at);
        if (exit_code_of(status) != 0 && !first_failure) {
          first_failure = exit_code_of(status);
          stop_others(SIGTERM);
        }
      }
    }
  };
  auto any_alive = [&] {
    for (const auto& r : running) {
      if (r.alive) return true;
    }
    return false;
  };

  std::optional<Clock::time_point> linger_deadline;
  char buffer[65536];
  std::vector<pollfd> fds;
  std::vector<Stream*> fd_streams;
  for (;;) {
    fds.clear();
    fd_streams.clear();
    fds.push_back({signal_fd, POLLIN, 0});
    fd_streams.push_back(nullptr);
    for (auto& r : running) {
      for (auto& s : r.streams) {
        if (s.fd >= 0) {
          fds.push_back({s.fd, POLLIN, 0});
          fd_streams.push_back(&s);
        }
      }
    }
    const bool alive = any_alive();
    if (!alive && fds.size() == 1) break;
    if (!alive && !linger_deadline) linger_deadline = Clock::now() + kLinger;

    int timeout = -1;
    if (alive && kill_deadline) timeout = timeout_ms(*kill_deadline);
    if (!alive) timeout = timeout_ms(*linger_deadline);
    int ready = ::poll(fds.data(), fds.size(), timeout);
    if (ready < 0 && errno != EINTR) break;

    if (alive && kill_deadline && Clock::now() >= *kill_deadline) {
      signal_live(SIGKILL);
      kill_deadline.reset();
    }
    if (!alive && Clock::now() >= *linger_deadline) {
      for (auto* s : fd_streams) {
        if (!s) continue;
        s->sink->on_eof();
        ::close(s->fd);
        s->fd = -1;
      }
      continue;
    }
    if (ready <= 0) continue;

    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        int sig = static_cast<int>(info.ssi_signo);
        if (sig == SIGCHLD) continue;  // reaped below in any case
        if (!launcher_signal) launcher_signal = sig;
        // A Ctrl-C typed at the terminal reaches every rank of the foreground process group
        // directly (si_code SI_KERNEL); forwarding it again would interrupt them twice.
        const bool from_terminal = info.ssi_code == SI_KERNEL && sig == SIGINT;
        if (from_terminal) {
          if (!kill_deadline) {
            kill_deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(grace);
          }
        } else {
          stop_others(sig);
        }
      }
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Stream* s = fd_streams[i];
      ssize_t n = ::read(s->fd, buffer, sizeof buffer);
      if (n > 0) {
        s->sink->on_data(std::string_view(buffer, static_cast<size_t>(n)));
        if (!alive) linger_deadline = Clock::now() + kLinger;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        s->sink->on_eof();
        ::close(s->fd);
        s->fd = -1;
      }
    }
    reap();
  }

  ::close(signal_fd);
  ::sigaction(SIGPIPE, &original_sigpipe, nullptr);
  // The signals stay blocked: a late SIGTERM must not cut the summary short; the launcher exits
  // with 128+N for the first one it got, as if it had died of it.

  SuperviseResult result;
  if (launcher_signal) {
    result.exit_code = 128 + launcher_signal;
  } else {
    result.exit_code = first_failure.value_or(0);
  }
  for (auto& r : running) {
    if (r.end.started || !r.end.start_error.empty()) result.ranks.push_back(r.end);
  }
  return result;
}

}  // namespace xeonplace::spawn
