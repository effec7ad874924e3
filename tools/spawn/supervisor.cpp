#include "tools/spawn/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <set>

namespace xeonplace::spawn {
namespace {

using Clock = std::chrono::steady_clock;

// If a rank's own children keep its pipes open after it exits, the launcher still collects their
// output, but stops once they have been quiet this long.
constexpr auto kLinger = std::chrono::milliseconds(1000);
// While stopping, a rank's group may outlive the rank with members that are not the launcher's
// children, whose end wakes nothing here: the launcher looks again this often.
constexpr int kGroupPollMs = 50;
// After SIGKILL, how long the launcher waits for group members that are not ranks (a process in
// uninterruptible sleep dies only when it wakes) before it reports and exits anyway.
constexpr auto kKillWait = std::chrono::seconds(2);

// The signals the launcher forwards to the ranks, except those it inherited as ignored:
// `nohup xeonrun-spawn` ignores SIGHUP, a background job of a non-interactive shell ignores
// SIGINT. Such a signal stays ignored here and, through fork and execve, in every rank; handling
// it would forward a hangup the ranks ignore and then SIGKILL them after the grace period.
constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP};
// Ctrl-Z stops the terminal's foreground process group, which holds the launcher but none of the
// ranks' groups: the launcher stops them, then itself, and continues them when it is continued.
constexpr int kSuspend = SIGTSTP;

struct Stream {
  int fd = -1;
  std::unique_ptr<StreamSink> sink;
};

struct Running {
  RankEnd end;
  Clock::time_point started_at;
  bool alive = false;
  // The rank's process group (its pid) still had members when last looked at.
  bool group_left = false;
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

// In the child: no allocation (it shares the launcher's memory, see start_child), pieces written
// one by one. strerrordesc_np neither translates nor allocates.
void child_error(const char* prefix, const char* what, const char* path) {
  const char* reason = ::strerrordesc_np(errno);
  for (const char* piece :
       {prefix, what, " '", path, "': ", reason != nullptr ? reason : "unknown error", "\n"}) {
    (void)!::write(2, piece, std::strlen(piece));
  }
}

bool inherited_as_ignored(int sig) {
  struct sigaction current {};
  return ::sigaction(sig, nullptr, &current) == 0 && current.sa_handler == SIG_IGN;
}

// Everything the child needs between fork and execve, prepared before fork.
struct ChildSetup {
  const char* path;
  char* const* argv;
  char* const* envp;
  int out_fd;
  int err_fd;
  pid_t launcher;
  sigset_t original_mask;
  bool stdin_from_null;
  // The placement prepared before fork (sys/apply.h): async-signal-safe calls only.
  const std::function<void()>* before_exec;
  const char* error_prefix;  // the launcher's name, for child_error
};

[[noreturn]] void run_child(const ChildSetup& c) {
  // Its own process group, so that one kill(-pgid) reaches everything the rank starts (the
  // launcher sets it too: whichever runs first wins the race with a signal).
  ::setpgid(0, 0);
  // The rank dies with the launcher even when the launcher is SIGKILLed and cannot react. SIGKILL,
  // not SIGTERM: nobody is left to enforce a grace period, so a rank that ignores, handles slowly
  // or (being stopped) never acts on SIGTERM would run on unsupervised with nowhere to write; a
  // SIGKILLed launcher is what a grace period ends in anyway. The check closes the race where
  // the launcher died before prctl took effect.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != c.launcher) ::_exit(128 + SIGKILL);
  if (c.stdin_from_null) {
    // A process group other than the terminal's foreground group is stopped (SIGTTIN) when it
    // reads the terminal; the run would hang. End of file instead.
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0 || ::dup2(null_fd, 0) < 0) ::_exit(127);
  }
  if (::dup2(c.out_fd, 1) < 0 || ::dup2(c.err_fd, 2) < 0) ::_exit(127);
  ::signal(SIGPIPE, SIG_DFL);  // ignored dispositions survive execve; the launcher ignores it
  ::sigprocmask(SIG_SETMASK, &c.original_mask, nullptr);
  if (c.before_exec != nullptr && *c.before_exec) (*c.before_exec)();
  ::execve(c.path, c.argv, c.envp);
  child_error(c.error_prefix, "cannot run", c.path);
  ::_exit(127);
}

int child_main(void* setup) { run_child(*static_cast<const ChildSetup*>(setup)); }

// The rank's process is cloned with CLONE_VM | CLONE_VFORK, as glibc's posix_spawn does, rather
// than forked: no copy of the launcher's page tables, and the launcher resumes once the child has
// exec'd or exited. posix_spawn itself cannot set a memory policy; this child makes exactly the
// system calls a forked one made (run_child), writes nothing of the launcher's memory but its own
// stack (`stack`, in the launcher's) and errno, and takes no lock: the launcher is
// single-threaded and waits. A failed clone falls back to fork.
pid_t start_child(const ChildSetup& setup, char* stack, std::size_t size) {
  // The stack grows down from its 16-byte aligned top.
  const auto top = (reinterpret_cast<std::uintptr_t>(stack) + size) & ~std::uintptr_t{15};
  const pid_t pid = ::clone(child_main, reinterpret_cast<void*>(top),
                            CLONE_VM | CLONE_VFORK | SIGCHLD, const_cast<ChildSetup*>(&setup));
  if (pid >= 0) return pid;
  const pid_t forked = ::fork();
  if (forked == 0) run_child(setup);
  return forked;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int timeout_ms(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left) + 1;
}

int earliest(int timeout, int other) {
  if (timeout < 0) return other;
  return other < timeout ? other : timeout;
}

// Starts the ranks, then runs the event loop: output, signals, exits, the grace period.
class Supervisor {
 public:
  explicit Supervisor(const SuperviseOptions& options);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  void start_all(const std::vector<RankStart>& ranks);
  void run();
  SuperviseResult result() const;

 private:
  void start(const RankStart& start, Running& r);
  void stop_all(int sig);
  void suspend();
  void signal_groups(int sig);
  std::vector<pid_t> adopted_children() const;
  void signal_adopted(int sig, bool only_new);
  bool group_has_members(Running& r);
  bool waiting_for_processes();
  int poll_timeout(bool waiting, std::optional<Clock::time_point> linger_deadline) const;
  void check_kill_deadline();
  void read_signals();
  void read_stream(Stream& s);
  void reap();

  const SuperviseOptions& options_;
  const std::vector<char*> argv_;
  const std::chrono::duration<double> grace_;
  sigset_t original_mask_;
  int signal_fd_ = -1;
  struct sigaction original_sigpipe_ {};
  bool stdin_is_terminal_ = false;

  std::vector<Running> running_;
  std::optional<int> first_failure_;  // exit code
  int launcher_signal_ = 0;
  int stop_signal_ = 0;        // once stopping: what newly adopted processes get
  std::set<pid_t> signalled_;  // adopted processes that got stop_signal_ already
  std::optional<Clock::time_point> kill_deadline_;  // then SIGKILL to every group left
  std::optional<Clock::time_point> give_up_at_;     // then stop waiting for SIGKILLed groups
  char buffer_[65536];
  char child_stack_[65536];  // where a starting rank runs until its execve (start_child)
};

Supervisor::Supervisor(const SuperviseOptions& options)
    : options_(options),
      argv_(c_array(options.command.argv)),
      grace_(options.grace_period_seconds) {
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  for (int sig : kForwarded) {
    if (!inherited_as_ignored(sig)) sigaddset(&handled, sig);
  }
  if (!inherited_as_ignored(kSuspend)) sigaddset(&handled, kSuspend);
  ::sigprocmask(SIG_BLOCK, &handled, &original_mask_);
  signal_fd_ = ::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  // A closed console must not kill the launcher: the logs and the ranks still need it.
  ::sigaction(SIGPIPE, &ignore, &original_sigpipe_);
  // Orphans of a rank's tree become the launcher's children rather than init's: they are reaped
  // here, and stay in their rank's process group for the grace period's SIGKILL.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  stdin_is_terminal_ = ::isatty(0) == 1;
}

Supervisor::~Supervisor() {
  ::close(signal_fd_);
  ::sigaction(SIGPIPE, &original_sigpipe_, nullptr);
  // The signals stay blocked: a late SIGTERM must not cut the summary short; the launcher exits
  // with 128+N for the first one it got, as if it had died of it.
}

void Supervisor::start_all(const std::vector<RankStart>& ranks) {
  running_.resize(ranks.size());  // never again: streams are pointed at
  for (size_t i = 0; i < ranks.size() && !first_failure_; ++i) {
    start(ranks[i], running_[i]);
    if (!running_[i].end.started) {
      first_failure_ = 1;
      stop_all(SIGTERM);
    }
  }
}

void Supervisor::start(const RankStart& start, Running& r) {
  r.end.rank = start.rank;
  r.end.cpus = start.cpus;
  const std::vector<char*> envp = c_array(start.env);
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    r.end.start_error = std::string("pipe: ") + std::strerror(errno);
    return;
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    r.end.start_error = std::string("pipe: ") + std::strerror(errno);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return;
  }
  const ChildSetup setup{options_.command.path.c_str(),
                         argv_.data(),
                         envp.data(),
                         out_pipe[1],
                         err_pipe[1],
                         ::getpid(),
                         original_mask_,
                         stdin_is_terminal_,
                         &start.before_exec,
                         options_.error_prefix.c_str()};
  r.started_at = Clock::now();
  const pid_t pid = start_child(setup, child_stack_, sizeof child_stack_);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (pid < 0) {
    r.end.start_error = std::string("fork: ") + std::strerror(errno);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return;
  }
  ::setpgid(pid, pid);  // EACCES once the child has exec'd: it did it itself
  r.end.pid = pid;
  r.end.started = true;
  r.alive = true;
  r.group_left = true;
  const std::string tag = "[" + options_.tag_prefix + std::to_string(start.rank) + "] ";
  const int read_fds[2] = {out_pipe[0], err_pipe[0]};
  const int log_fds[2] = {start.logs.out, start.logs.err};
  for (int s = 0; s < 2; ++s) {
    ::fcntl(read_fds[s], F_SETFL, O_NONBLOCK);
    r.streams[s].fd = read_fds[s];
    r.streams[s].sink = std::make_unique<StreamSink>(tag, s == 0 ? 1 : 2, log_fds[s]);
  }
}

// Whether the rank's process group still has members. Once it is empty its id may be reused by
// an unrelated process, so an empty group is never looked at or signalled again.
bool Supervisor::group_has_members(Running& r) {
  if (!r.group_left) return false;
  if (r.alive) return true;  // an unreaped rank holds its pid, and so the group id
  // EPERM: only members the launcher may not signal (a set-user-ID program) are left.
  if (::kill(-r.end.pid, 0) != 0) r.group_left = false;
  return r.group_left;
}

void Supervisor::signal_groups(int sig) {
  for (auto& r : running_) {
    if (!group_has_members(r)) continue;
    // A rank that left its group (setsid, setpgid) is still signalled itself.
    if (::kill(-r.end.pid, sig) != 0 && r.alive) ::kill(r.end.pid, sig);
  }
}

// The launcher's children that are not ranks: processes of a rank's tree whose parent died,
// adopted as subreaper, wherever their process group is (a daemon's setsid). As children they
// keep their pid until reaped here, so signalling them never hits a stranger. Empty where the
// kernel lacks /proc/thread-self/children (CONFIG_PROC_CHILDREN).
std::vector<pid_t> Supervisor::adopted_children() const {
  std::vector<pid_t> adopted;
  std::ifstream children("/proc/thread-self/children");  // single-threaded: the process's
  long pid = 0;
  while (children >> pid) {
    bool rank = false;
    for (const auto& r : running_) rank = rank || (r.alive && r.end.pid == pid);
    if (!rank) adopted.push_back(static_cast<pid_t>(pid));
  }
  return adopted;
}

void Supervisor::signal_adopted(int sig, bool only_new) {
  for (pid_t pid : adopted_children()) {
    if (!signalled_.insert(pid).second && only_new) continue;
    ::kill(pid, sig);
  }
}

void Supervisor::stop_all(int sig) {
  signal_groups(sig);
  signal_adopted(sig, false);
  if (stop_signal_ != SIGKILL) stop_signal_ = sig;
  if (!kill_deadline_ && !give_up_at_) {
    kill_deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(grace_);
  }
}

void Supervisor::suspend() {
  signal_groups(kSuspend);
  ::kill(::getpid(), SIGSTOP);  // returns once a shell's fg or bg continued the launcher
  signal_groups(SIGCONT);
}

// A rank not yet reaped, or, once stopping, a rank's group with members left or an adopted
// process.
bool Supervisor::waiting_for_processes() {
  bool waiting = false;
  for (auto& r : running_) {
    if (r.alive) waiting = true;
  }
  if (waiting || !stop_signal_) return waiting;
  if (give_up_at_ && Clock::now() >= *give_up_at_) return false;
  for (auto& r : running_) {
    if (group_has_members(r)) return true;
  }
  return !adopted_children().empty();
}

int Supervisor::poll_timeout(bool waiting, std::optional<Clock::time_point> linger_deadline) const {
  if (!waiting) return timeout_ms(*linger_deadline);
  int timeout = -1;
  if (kill_deadline_) timeout = timeout_ms(*kill_deadline_);
  if (stop_signal_) timeout = earliest(timeout, kGroupPollMs);
  return timeout;
}

void Supervisor::check_kill_deadline() {
  if (!kill_deadline_ || Clock::now() < *kill_deadline_) return;
  signal_groups(SIGKILL);
  signal_adopted(SIGKILL, false);
  stop_signal_ = SIGKILL;
  kill_deadline_.reset();
  give_up_at_ = Clock::now() + kKillWait;
}

void Supervisor::read_signals() {
  signalfd_siginfo info;
  while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    const int sig = static_cast<int>(info.ssi_signo);
    if (sig == SIGCHLD) continue;  // reaped in any case
    if (sig == kSuspend) {
      suspend();
      continue;
    }
    if (!launcher_signal_) launcher_signal_ = sig;
    // Also a Ctrl-C typed at the terminal: it reaches only the foreground process group, which
    // holds the launcher but none of the ranks' groups.
    stop_all(sig);
  }
}

void Supervisor::read_stream(Stream& s) {
  const ssize_t n = ::read(s.fd, buffer_, sizeof buffer_);
  if (n > 0) {
    s.sink->on_data(std::string_view(buffer_, static_cast<size_t>(n)));
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    s.sink->on_eof();
    ::close(s.fd);
    s.fd = -1;
  }
}

void Supervisor::reap() {
  for (;;) {
    int status = 0;
    struct rusage usage {};
    const pid_t pid = ::wait4(-1, &status, WNOHANG, &usage);
    if (pid <= 0) return;
    signalled_.erase(pid);  // its pid may come back as another process
    for (auto& r : running_) {
      if (!r.alive || r.end.pid != pid) continue;
      r.alive = false;
      r.end.wait_status = status;
      r.end.wall_seconds = seconds_since(r.started_at);
      r.end.cpu_seconds =
          static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
          static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
      r.end.involuntary_switches = usage.ru_nivcsw;
      if (exit_code_of(status) != 0 && !first_failure_) {
        first_failure_ = exit_code_of(status);
        stop_all(SIGTERM);
      }
    }
  }
}

void Supervisor::run() {
  std::optional<Clock::time_point> linger_deadline;
  std::vector<pollfd> fds;
  std::vector<Stream*> fd_streams;
  for (;;) {
    fds.assign(1, pollfd{signal_fd_, POLLIN, 0});
    fd_streams.assign(1, nullptr);
    for (auto& r : running_) {
      for (auto& s : r.streams) {
        if (s.fd < 0) continue;
        fds.push_back(pollfd{s.fd, POLLIN, 0});
        fd_streams.push_back(&s);
      }
    }
    // Orphaned since the stop began (their parent died of the stop signal): they get it too.
    if (stop_signal_) signal_adopted(stop_signal_, true);
    const bool waiting = waiting_for_processes();
    if (!waiting && fds.size() == 1) break;
    if (waiting) linger_deadline.reset();  // a signal after the last rank ended: groups again
    if (!waiting && !linger_deadline) linger_deadline = Clock::now() + kLinger;

    const int ready = ::poll(fds.data(), fds.size(), poll_timeout(waiting, linger_deadline));
    if (ready < 0 && errno != EINTR) break;
    check_kill_deadline();
    if (!waiting && Clock::now() >= *linger_deadline) {
      for (size_t i = 1; i < fds.size(); ++i) {
        fd_streams[i]->sink->on_eof();
        ::close(fd_streams[i]->fd);
        fd_streams[i]->fd = -1;
      }
      continue;
    }
    if (ready > 0 && (fds[0].revents & POLLIN)) read_signals();
    for (size_t i = 1; ready > 0 && i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      read_stream(*fd_streams[i]);
      if (!waiting) linger_deadline = Clock::now() + kLinger;
    }
    reap();
  }
}

SuperviseResult Supervisor::result() const {
  SuperviseResult result;
  result.exit_code = launcher_signal_ ? 128 + launcher_signal_ : first_failure_.value_or(0);
  for (const auto& r : running_) {
    if (r.end.started || !r.end.start_error.empty()) result.ranks.push_back(r.end);
  }
  return result;
}

}  // namespace

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

SuperviseResult supervise(const std::vector<RankStart>& ranks, const SuperviseOptions& options) {
  Supervisor supervisor(options);
  supervisor.start_all(ranks);
  supervisor.run();
  return supervisor.result();
}

}  // namespace xeonplace::spawn
