#include "sys/report.h"

#include <dirent.h>
#include <linux/perf_event.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "sys/io.h"
#include "sys/log.h"

namespace xeonplace {
namespace {

// /proc/self/numa_maps walks the page tables: for a large process it is megabytes of text.
constexpr std::size_t kMaxNumaMaps = std::size_t(256) << 20;

std::optional<std::uint64_t> migrations_of_tasks() {
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) return std::nullopt;
  std::string all;
  while (const dirent* entry = ::readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    auto text =
        read_whole_file(std::string("/proc/self/task/") + entry->d_name + "/sched", 1 << 16);
    if (text) all += *text;
  }
  ::closedir(tasks);
  return migrations_of_sched(all);
}

std::optional<std::uint64_t> migrations(int counter) {
  std::uint64_t value = 0;
  if (counter >= 0 && ::read(counter, &value, sizeof value) == static_cast<ssize_t>(sizeof value)) {
    return value;
  }
  return migrations_of_tasks();
}

}  // namespace

int open_migration_counter() {
  perf_event_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_MIGRATIONS;
  attr.inherit = 1;
  // Migrations happen in the kernel: excluding kernel events would count none, and needs the
  // privilege perf_event_paranoid asks for above 1; refused, the sched files stand in.
  const long fd = ::syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
  return fd < 0 ? -1 : static_cast<int>(fd);
}

RankReport gather_rank_report(unsigned rank, const CpuSet& cpus, const CpuSet& mems,
                              int migration_counter) {
  RankReport report;
  report.rank = rank;
  report.pid = ::getpid();
  report.cpus = cpus;
  report.mems = mems;
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) == 0) {
    report.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    report.involuntary_switches = usage.ru_nivcsw;
  }
  report.migrations = migrations(migration_counter);
  if (auto maps = read_whole_file("/proc/self/numa_maps", kMaxNumaMaps)) {
    report.node_bytes = node_bytes_of_numa_maps(*maps);
    report.pages_known = true;
  }
  return report;
}

void write_rank_report(const ReportWanted& wanted, const RankReport& report) {
  if (wanted.line) {
    std::string text = "xeonplace: report " + report_line(report) + "\n";
    const std::string warning = report_warning(report);
    if (!warning.empty()) text += "xeonplace: warning: " + warning + "\n";
    write_all(2, text);
  }
  if (wanted.file.empty()) return;
  std::string why;
  const int fd = open_log_file(wanted.file, why);
  if (fd < 0) return;
  write_all(fd, report_json(report));
  ::close(fd);
}

}  // namespace xeonplace
