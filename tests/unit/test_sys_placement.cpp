// The engine's side-effect modules on this machine: affinity, memory policy, environment, log.
// Each test that changes a per-thread property does it in a thread of its own, so the test
// process itself is left as it was.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <numaif.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "sys/affinity.h"
#include "sys/environment.h"
#include "sys/log.h"
#include "sys/mempolicy.h"

namespace xeonplace {
namespace {

CpuSet affinity_of(pid_t tid) {
  cpu_set_t set;
  CpuSet out;
  if (sched_getaffinity(tid, sizeof set, &set) != 0) return out;
  for (unsigned cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) out.add(cpu);
  }
  return out;
}

TEST(Affinity, CurrentAffinityIsWhatTheKernelSays) {
  const Expected<CpuSet> current = current_affinity();
  ASSERT_TRUE(current.ok()) << current.error().message;
  EXPECT_EQ(*current, affinity_of(0));
  EXPECT_FALSE(current->empty());
}

TEST(Affinity, PinAllThreadsAlsoPinsAThreadThatAlreadyExists) {
  const CpuSet original = affinity_of(0);
  const CpuSet target{*original.first()};
  std::mutex mutex;
  std::condition_variable changed;
  pid_t other_tid = 0;
  bool done = false;
  CpuSet seen_by_other;

  // `worker` does the pinning (as the constructor would); `other` existed before it.
  std::thread other([&] {
    std::unique_lock<std::mutex> lock(mutex);
    other_tid = static_cast<pid_t>(::syscall(SYS_gettid));
    changed.notify_all();
    changed.wait(lock, [&] { return done; });
    seen_by_other = affinity_of(0);
  });
  {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait(lock, [&] { return other_tid != 0; });
  }
  std::vector<std::string> warnings;
  CpuSet worker_affinity;
  std::thread worker([&] {
    ASSERT_TRUE(pin_all_threads(target, warnings).ok());
    worker_affinity = affinity_of(0);
  });
  worker.join();
  {
    std::lock_guard<std::mutex> lock(mutex);
    done = true;
  }
  changed.notify_all();
  other.join();
  const CpuSet main_after = affinity_of(0);
  ASSERT_TRUE(pin_calling_thread(original).ok());  // every thread of the test was pinned: undo

  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(worker_affinity, target);
  EXPECT_EQ(seen_by_other, target);
  EXPECT_EQ(main_after, target);
}

TEST(Affinity, PinningToACpuThatDoesNotExistIsAnErrorNamingTheCpus) {
  std::string message;
  std::thread([&] {
    const Status pinned = pin_calling_thread(CpuSet{kMaxSetId});
    if (!pinned) message = pinned.error().message;
  }).join();
  EXPECT_NE(message.find("sched_setaffinity"), std::string::npos) << message;
  EXPECT_NE(message.find(std::to_string(kMaxSetId)), std::string::npos) << message;
}

// Runs `policy` over node 0 in a fresh thread and returns what get_mempolicy says there.
AppliedPolicy applied_in_a_thread(Membind policy, CpuSet nodes = CpuSet{0}) {
  AppliedPolicy seen;
  std::thread([&] {
    const Expected<AppliedPolicy> applied = apply_memory_policy(policy, nodes);
    ASSERT_TRUE(applied.ok()) << applied.error().message;
    const Expected<AppliedPolicy> current = current_memory_policy();
    ASSERT_TRUE(current.ok()) << current.error().message;
    seen = *current;
  }).join();
  return seen;
}

TEST(MemoryPolicy, BindSetsMpolBindOverTheNodes) {
  const AppliedPolicy seen = applied_in_a_thread(Membind::Bind);
  EXPECT_EQ(seen.mode, MPOL_BIND);
  EXPECT_EQ(seen.nodes, CpuSet{0});
}

TEST(MemoryPolicy, InterleaveSetsMpolInterleave) {
  EXPECT_EQ(applied_in_a_thread(Membind::Interleave).mode, MPOL_INTERLEAVE);
}

TEST(MemoryPolicy, PreferredOnOneNodeSetsMpolPreferred) {
  const AppliedPolicy seen = applied_in_a_thread(Membind::Preferred);
  EXPECT_EQ(seen.mode, MPOL_PREFERRED);
  EXPECT_EQ(seen.nodes, CpuSet{0});
}

TEST(MemoryPolicy, NoneLeavesTheDefault) {
  EXPECT_EQ(applied_in_a_thread(Membind::None).mode, MPOL_DEFAULT);
}

TEST(MemoryPolicy, ANodeThatDoesNotExistIsAnErrorNamingIt) {
  std::string message;
  std::thread([&] {
    const Expected<AppliedPolicy> applied = apply_memory_policy(Membind::Bind, CpuSet{1000});
    if (!applied) message = applied.error().message;
  }).join();
  EXPECT_NE(message.find("set_mempolicy(bind, nodes 1000)"), std::string::npos) << message;
}

TEST(Environment, SnapshotSkipsMalformedEntriesAndKeepsTheFirstOfDuplicates) {
  char a[] = "A=1", b[] = "NOEQUALS", c[] = "A=2", d[] = "EMPTY=", e[] = "=nameless", f[] = "B=x=y";
  char* envp[] = {a, b, c, d, e, f, nullptr};
  const EnvMap env = snapshot_environment(envp);
  EXPECT_EQ(env, (EnvMap{{"A", "1"}, {"EMPTY", ""}, {"B", "x=y"}}));
  EXPECT_TRUE(snapshot_environment(nullptr).empty());
}

TEST(Environment, SnapshotKeepsTheLastLoaderVariableAsLdSoDoes) {
  // ld.so loads the last LD_PRELOAD of the environment (glibc's elf/rtld.c, process_envvars);
  // getenv() returns the first. The chain-load must start from what was loaded (issue #12).
  char a[] = "LD_PRELOAD=/first.so", b[] = "X=1", c[] = "LD_PRELOAD=/last.so", d[] = "X=2";
  char* envp[] = {a, b, c, d, nullptr};
  const EnvMap env = snapshot_environment(envp);
  EXPECT_EQ(env, (EnvMap{{"LD_PRELOAD", "/last.so"}, {"X", "1"}}));
}

TEST(Environment, ScopedVariableRestoresThePreviousValueOrItsAbsence) {
  ::unsetenv("XEONPLACE_TEST_SCOPED");
  {
    const ScopedVariable scoped("XEONPLACE_TEST_SCOPED", "inside");
    EXPECT_STREQ(::getenv("XEONPLACE_TEST_SCOPED"), "inside");
  }
  EXPECT_EQ(::getenv("XEONPLACE_TEST_SCOPED"), nullptr);
  ::setenv("XEONPLACE_TEST_SCOPED", "before", 1);
  { const ScopedVariable scoped("XEONPLACE_TEST_SCOPED", "inside"); }
  EXPECT_STREQ(::getenv("XEONPLACE_TEST_SCOPED"), "before");
  ::unsetenv("XEONPLACE_TEST_SCOPED");
}

TEST(Environment, ExportSetsEveryVariable) {
  ASSERT_TRUE(export_variables({{"XEONPLACE_TEST_X", "1"}, {"XEONPLACE_TEST_Y", "0-3"}}).ok());
  EXPECT_STREQ(::getenv("XEONPLACE_TEST_X"), "1");
  EXPECT_STREQ(::getenv("XEONPLACE_TEST_Y"), "0-3");
  ::unsetenv("XEONPLACE_TEST_X");
  ::unsetenv("XEONPLACE_TEST_Y");
}

std::string temp_dir() {
  char path[] = "/tmp/xeonplace-log-XXXXXX";
  return ::mkdtemp(path) ? path : "";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(Log, FileGetsWholeLinesAboveTheLevelWithMode0644) {
  const std::string dir = temp_dir();
  ASSERT_FALSE(dir.empty());
  const std::string path = dir + "/x.log";
  {
    Log log(LogLevel::Info, path);
    EXPECT_FALSE(log.to_stderr());
    log.debug("hidden");
    log.info("rank 0 of 2: CPUs {0}");  // braces are text, never a format string
    log.warn("careful");
  }
  EXPECT_EQ(read_file(path),
            "xeonplace: info: rank 0 of 2: CPUs {0}\nxeonplace: warning: careful\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0600, 0600u);
  EXPECT_EQ(st.st_mode & 0022, 0u) << "group or world writable";
  ::unlink(path.c_str());
  ::rmdir(dir.c_str());
}

TEST(Log, FileIsAppendedNotTruncated) {
  const std::string dir = temp_dir();
  const std::string path = dir + "/x.log";
  { Log(LogLevel::Info, path).info("first"); }
  { Log(LogLevel::Info, path).info("second"); }
  EXPECT_EQ(read_file(path), "xeonplace: info: first\nxeonplace: info: second\n");
  ::unlink(path.c_str());
  ::rmdir(dir.c_str());
}

TEST(Log, ASymlinkIsNeverFollowed) {
  const std::string dir = temp_dir();
  const std::string target = dir + "/target", link = dir + "/link.log";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  {
    Log log(LogLevel::Off, link);  // off: the fallback warning is not printed either
    EXPECT_TRUE(log.to_stderr());
  }
  EXPECT_NE(::access(target.c_str(), F_OK), 0);
  ::unlink(link.c_str());
  ::rmdir(dir.c_str());
}

TEST(Log, LevelsFilter) {
  Log log(LogLevel::Warn, "");
  EXPECT_FALSE(log.enabled(LogLevel::Info));
  EXPECT_TRUE(log.enabled(LogLevel::Warn));
  EXPECT_TRUE(log.enabled(LogLevel::Error));
  Log off(LogLevel::Off, "");
  EXPECT_FALSE(off.enabled(LogLevel::Error));
}

}  // namespace
}  // namespace xeonplace
