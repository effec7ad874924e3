// A container's CPU quota (issue #15; docs/design.md §9): a cgroup that may use
// `quota_us` of CPU time every `period_us` (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us` and
// `cpu.cfs_period_us`) runs at most quota/period CPUs at a time, whatever CPUs its cpuset shows.
// `docker run --cpus=4` and a Kubernetes pod's CPU limit set exactly this and no cpuset. Pure: the
// texts are read in src/sys/facts.cpp, parsed and decided here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xeonplace {

struct CpuQuota {
  std::uint64_t quota_us = 0;
  std::uint64_t period_us = 0;
  std::string where;  // the file it came from, for the log line
};

// ceil(quota / period), at least 1: the CPUs the quota lets run at once.
unsigned quota_cpus(const CpuQuota& quota);

// "2.5 CPUs" (to a tenth).
std::string describe_cpus(const CpuQuota& quota);

// cgroup v2 cpu.max: "max 100000" (no limit: nullopt) or "250000 100000". Anything else: nullopt.
std::optional<CpuQuota> parse_cpu_max(std::string_view text, const std::string& where);

// cgroup v1: cpu.cfs_quota_us ("-1": no limit) and cpu.cfs_period_us.
std::optional<CpuQuota> parse_cfs_quota(std::string_view quota, std::string_view period,
                                        const std::string& where);

// The tighter of two quotas (fewer CPUs' worth of time); either may be absent.
std::optional<CpuQuota> tighter(std::optional<CpuQuota> a, std::optional<CpuQuota> b);

// One cgroup hierarchy this process is in, as /proc/self/cgroup and /proc/self/mountinfo say.
struct CgroupMembership {
  bool v2 = false;                       // the unified hierarchy ("0::/path")
  std::vector<std::string> controllers;  // v1: "cpu", "cpuacct", ...
  std::string path;                      // the process's cgroup, from the hierarchy's root
};
std::vector<CgroupMembership> parse_proc_cgroup(std::string_view text);

struct CgroupMount {
  bool v2 = false;
  std::vector<std::string> options;  // v1 super options: the controllers ("rw,cpu,cpuacct")
  std::string root;                  // the hierarchy's directory mounted there ("/" usually)
  std::string mount_point;           // "/sys/fs/cgroup" or "/sys/fs/cgroup/cpu,cpuacct"
};
std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo);

// The directories whose quota limits the process in each hierarchy that can hold one (v2, and
// v1's with the cpu controller): its cgroup, then every parent up to the mounted root. The kernel
// throttles a cgroup at the tightest quota on that path. A cgroup outside what is mounted (another
// namespace's root) contributes the mount point alone.
struct QuotaDirectory {
  bool v2 = false;
  std::string directory;
};
std::vector<QuotaDirectory> quota_directories(const std::vector<CgroupMembership>& memberships,
                                              const std::vector<CgroupMount>& mounts);

}  // namespace xeonplace
