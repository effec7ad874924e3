#include "sys/facts.h"

#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>

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
  if (!source.empty()) return load_topology(source);
  // hwloc dlopen()s every plugin it finds at its first topology (libxml2 and ICU, OpenCL, X11,
  // libpciaccess, even libstdc++.so: ~1.5 ms and several MB in somebody else's process). Nothing
  // they discover is needed for this machine's CPUs and nodes. The inherited affinity is applied
  // by the decision (core/bind_policy), which may replace a launcher's default binding.
  const ScopedVariable no_hwloc_plugins("HWLOC_PLUGINS_PATH", "/nonexistent/xeonplace");
  return load_topology("", LiveScope::CgroupOnly);
}

// Whether `name` was in the environment the parent process started with: /proc/PPID/environ holds
// the parent's starting environment (what it was exec'ed with), not later changes. nullopt when it
// cannot be read (another user's process, no /proc).
std::optional<bool> parent_started_with(const std::string& name) {
  const std::string path = "/proc/" + std::to_string(::getppid()) + "/environ";
  const Expected<std::string> text = read_whole_file(path, std::size_t{1} << 22);
  if (!text) return std::nullopt;
  const std::string prefix = name + "=";
  std::size_t start = 0;
  while (start < text->size()) {
    std::size_t end = text->find('\0', start);
    if (end == std::string::npos) end = text->size();
    if (text->compare(start, prefix.size(), prefix) == 0) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

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
