#include "sys/affinity.h"

#include <dirent.h>
#include <sched.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>

namespace xeonplace {
namespace {

// A dynamically sized cpu_set_t: machines may have more than CPU_SETSIZE (1024) CPUs.
class KernelCpuSet {
 public:
  explicit KernelCpuSet(unsigned ncpus)
      : ncpus_(ncpus), set_(CPU_ALLOC(ncpus), &free_set), size_(CPU_ALLOC_SIZE(ncpus)) {
    if (set_) CPU_ZERO_S(size_, set_.get());
  }
  static KernelCpuSet from(const CpuSet& cpus) {
    KernelCpuSet set(cpus.last().value_or(0) + 1);
    if (set.set_) {
      for (unsigned cpu : cpus.ids()) CPU_SET_S(cpu, set.size_, set.set_.get());
    }
    return set;
  }
  bool ok() const { return set_ != nullptr; }
  cpu_set_t* get() const { return set_.get(); }
  std::size_t size() const { return size_; }
  CpuSet to_cpuset() const {
    CpuSet out;
    for (unsigned cpu = 0; cpu < ncpus_; ++cpu) {
      if (CPU_ISSET_S(cpu, size_, set_.get())) out.add(cpu);
    }
    return out;
  }

 private:
  static void free_set(cpu_set_t* set) { CPU_FREE(set); }
  unsigned ncpus_;
  std::unique_ptr<cpu_set_t, void (*)(cpu_set_t*)> set_;
  std::size_t size_;
};

std::string errno_text(int error) { return std::strerror(error); }

Status set_thread_affinity(pid_t tid, const KernelCpuSet& set, const CpuSet& cpus) {
  if (::sched_setaffinity(tid, set.size(), set.get()) != 0) {
    const int error = errno;
    return make_error("sched_setaffinity(" +
                      (tid == 0 ? std::string("this thread") : "thread " + std::to_string(tid)) +
                      ", CPUs " + cpus.format() + ") failed: " + errno_text(error));
  }
  return Unit{};
}

// The thread ids in /proc/self/task; an error when /proc is not mounted.
Expected<std::vector<pid_t>> list_threads() {
  std::vector<pid_t> tids;
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return make_error(errno_text(errno));
  while (const dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long tid = std::strtol(entry->d_name, &end, 10);
    if (end != entry->d_name && *end == '\0' && tid > 0) tids.push_back(static_cast<pid_t>(tid));
  }
  ::closedir(dir);
  return tids;
}

// The pid /proc/self names, or 0 without /proc. It differs from getpid() when /proc was mounted
// for another PID namespace (`unshare -p -f` without --mount-proc): /proc/self/task then lists
// that namespace's thread ids, which sched_setaffinity() here cannot find (ESRCH) or, worse, finds
// as another process of this namespace.
pid_t proc_self_pid() {
  char link[32];
  const ssize_t n = ::readlink("/proc/self", link, sizeof link - 1);
  if (n <= 0) return 0;
  link[n] = '\0';
  return static_cast<pid_t>(std::strtol(link, nullptr, 10));
}

std::string foreign_proc_warning(pid_t proc_pid) {
  return "/proc belongs to another PID namespace (/proc/self is pid " + std::to_string(proc_pid) +
         ", this process is pid " + std::to_string(::getpid()) +
         "; started by 'unshare -p -f' without --mount-proc?): its thread ids are not this "
         "namespace's, so only the calling thread was pinned, not the threads started before "
         "placement; mount a /proc of this namespace "
         "(unshare -p -f --mount-proc)";
}

}  // namespace

Expected<CpuSet> current_affinity() {
  // Grow the mask until the kernel accepts its size (EINVAL: smaller than the kernel's mask).
  for (unsigned ncpus = 1024; ncpus <= kMaxSetId + 1; ncpus *= 2) {
    KernelCpuSet set(ncpus);
    if (!set.ok()) return make_error("out of memory reading this thread's affinity");
    if (::sched_getaffinity(0, set.size(), set.get()) == 0) return set.to_cpuset();
    if (errno != EINVAL) return make_error("sched_getaffinity failed: " + errno_text(errno));
  }
  return make_error("sched_getaffinity failed: the affinity mask is larger than supported");
}

Status pin_calling_thread(const CpuSet& cpus) {
  const KernelCpuSet set = KernelCpuSet::from(cpus);
  if (!set.ok()) return make_error("out of memory pinning to CPUs " + cpus.format());
  return set_thread_affinity(0, set, cpus);
}

Status pin_all_threads(const CpuSet& cpus, std::vector<std::string>& warnings) {
  const KernelCpuSet set = KernelCpuSet::from(cpus);
  if (!set.ok()) return make_error("out of memory pinning to CPUs " + cpus.format());
  Status self = set_thread_affinity(0, set, cpus);
  if (!self) return self;

  const pid_t proc_pid = proc_self_pid();
  if (proc_pid != 0 && proc_pid != ::getpid()) {
    // No thread id from this /proc may be used here. Single-threaded, nothing was missed.
    if (!__libc_single_threaded) warnings.push_back(foreign_proc_warning(proc_pid));
    return Unit{};
  }

  const pid_t me = static_cast<pid_t>(::syscall(SYS_gettid));
  std::set<pid_t> pinned{me};
  // Bounded: a program that keeps spawning threads must not keep its constructor spinning.
  for (int pass = 0; pass < 8; ++pass) {
    bool found_new = false;
    const Expected<std::vector<pid_t>> tids = list_threads();
    if (!tids) {
      // Found by tests/hostile (no /proc): a thread another library started earlier kept its
      // CPUs silently. glibc knows whether any thread was ever created; if so, say so.
      if (__libc_single_threaded) break;
      warnings.push_back(
          "cannot list this process's threads (/proc/self/task: " + tids.error().message +
          "); threads started before placement keep their CPU affinity");
      break;
    }
    for (pid_t tid : *tids) {
      if (!pinned.insert(tid).second) continue;
      found_new = true;
      if (::sched_setaffinity(tid, set.size(), set.get()) != 0 && errno != ESRCH) {
        warnings.push_back("cannot pin thread " + std::to_string(tid) + " to CPUs " +
                           cpus.format() + ": " + errno_text(errno));
      }
    }
    if (!found_new) break;
  }
  return Unit{};
}

}  // namespace xeonplace
