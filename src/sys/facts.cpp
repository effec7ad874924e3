#include "sys/facts.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>

#include "core/bind_policy.h"
#include "core/cpu_quota.h"
#include "core/text.h"
#include "sys/affinity.h"
#include "sys/environment.h"
#include "sys/io.h"
#include "sys/library_search.h"
#include "sys/loaded_libraries.h"
#include "sys/reexec.h"
#include "sys/topology_source.h"

namespace xeonplace {
namespace {

struct ProcStatus {
  CpuSet mems_allowed;
  bool traced = false;
};

// /proc/self/status: Mems_allowed_list (the cpuset's memory nodes) and TracerPid.
ProcStatus read_proc_status() {
  ProcStatus status;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    if (key == "Mems_allowed_list") {
      const Expected<CpuSet> mems = CpuSet::parse(value, "Mems_allowed_list");
      if (mems) status.mems_allowed = *mems;
    } else if (key == "TracerPid") {
      status.traced = !value.empty() && value != "0";
    }
  }
  return status;
}

Expected<Topology> machine(const std::string& source) {
  // hwloc dlopen()s every plugin it finds at its first topology (libxml2 and ICU, OpenCL, X11,
  // libpciaccess, even libstdc++.so: ~1.5 ms and several MB in somebody else's process, ~10 ms of
  // CPU in xeonrun-spawn, measured). Nothing they discover is needed for this machine's CPUs and
  // nodes, and a fixture is then read by hwloc's built-in XML parser, as in the engine, where
  // hwloc loaded RTLD_LOCAL refuses its libxml2 plugin (sys/topology_source.cpp).
  const ScopedVariable no_hwloc_plugins("HWLOC_PLUGINS_PATH", "/nonexistent/xeonplace");
  if (!source.empty()) return load_topology(source);
  // The inherited affinity is applied by the decision (core/bind_policy), which may replace a
  // launcher's default binding.
  return load_topology("", LiveScope::CgroupOnly);
}

std::string read_text(const std::string& path) {
  const Expected<std::string> text = read_whole_file(path, std::size_t{1} << 20);
  return text ? *text : std::string();
}

// The kernel's memory-policy modes: MPOL_WEIGHTED_INTERLEAVE came with its sysfs weights
// directory (Linux 6.9), so the directory is the feature test; MPOL_PREFERRED_MANY by release.
void read_kernel(Facts& facts) {
  struct utsname names {};
  if (::uname(&names) == 0) facts.kernel_release = names.release;
  facts.has_preferred_many = release_at_least(facts.kernel_release, 5, 15);
  facts.has_weighted_interleave =
      ::access("/sys/kernel/mm/mempolicy/weighted_interleave", F_OK) == 0;
}

// Whether `name` was in the environment the parent process started with: /proc/PPID/environ holds
// the parent's starting environment (what it was exec'ed with), not later changes. nullopt when it
// cannot be read (another user's process, no /proc).
std::optional<bool> parent_started_with(const std::string& name) {
  const std::string path = "/proc/" + std::to_string(::getppid()) + "/environ";
  const Expected<std::string> text = read_whole_file(path, std::size_t{1} << 22);
  if (!text) return std::nullopt;
  const std::string prefix = name + "=";
  for (const std::string_view entry : split(*text, '\0')) {
    if (starts_with(entry, prefix)) return true;
  }
  return false;
}

}  // namespace

std::optional<CpuQuota> read_cpu_quota(const std::string& root) {
  const std::vector<CgroupMembership> memberships =
      parse_proc_cgroup(read_text(root + "/proc/self/cgroup"));
  const std::vector<CgroupMount> mounts =
      parse_cgroup_mounts(read_text(root + "/proc/self/mountinfo"));
  std::optional<CpuQuota> quota;
  for (const QuotaDirectory& dir : quota_directories(memberships, mounts)) {
    const std::string path = root + dir.directory;
    if (dir.v2) {
      quota = tighter(quota, parse_cpu_max(read_text(path + "/cpu.max"), path + "/cpu.max"));
    } else {
      quota = tighter(quota, parse_cfs_quota(read_text(path + "/cpu.cfs_quota_us"),
                                             read_text(path + "/cpu.cfs_period_us"),
                                             path + "/cpu.cfs_quota_us"));
    }
  }
  return quota;
}

Facts gather_facts(const FactsWanted& wanted, const EnvMap& env, const std::string& self_path,
                   FactsFor subject) {
  Facts facts;
  if (!wanted.handed) facts.topology = machine(wanted.topology);
  if (const Expected<CpuSet> affinity = current_affinity()) facts.inherited_affinity = *affinity;
  const ProcStatus status = read_proc_status();
  const Expected<std::string> online =
      read_whole_file("/sys/devices/system/cpu/online", std::size_t{1} << 16);
  if (online) {
    std::string text = *online;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (const Expected<CpuSet> cpus = CpuSet::parse(text, "/sys/devices/system/cpu/online")) {
      facts.online_cpus = *cpus;
    }
  }
  facts.allowed_mems = status.mems_allowed;
  facts.self_path = self_path;
  read_kernel(facts);
  if (!wanted.handed && wanted.topology.empty()) facts.cpu_quota = read_cpu_quota("");
  const bool this_process = subject == FactsFor::ThisProcess;
  if (this_process) {
    facts.pid = static_cast<long>(::getpid());
    facts.secure = secure_execution();
    facts.traced = status.traced;
    facts.loaded = loaded_objects();
    facts.sanitizer = malloc_sanitizer(facts.loaded);
    if (facts.sanitizer.empty()) facts.sanitizer = static_sanitizer();
    facts.process_name = process_name();
    if (!wanted.parent_start_variable.empty()) {
      facts.parent_started_with = parent_started_with(wanted.parent_start_variable);
    }
  }
  if (!wanted.libraries.empty()) {
    const SearchPlaces places = library_search_places(env, facts.secure);
    for (const LibraryRequest& request : wanted.libraries) {
      LibraryLookup lookup{request, std::nullopt, ""};
      Expected<std::string> path = find_library(request, places);
      if (path) {
        lookup.path = *path;
      } else {
        lookup.not_found = path.error().message;
      }
      facts.libraries.push_back(std::move(lookup));
    }
  }
  return facts;
}

}  // namespace xeonplace
