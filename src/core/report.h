// The placement report (docs/design.md §10): what a rank cost and whether its placement held, as
// one line for a person and one JSON line for tools. Pure: the figures are gathered in
// src/sys/report.h (the library) and tools/spawn (the spawner).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/cpuset.h"
#include "core/env_map.h"

namespace xeonplace {

// What the environment asks for (XEONRUN_REPORT, XEONRUN_REPORT_FILE), read on their own like
// the log settings: a bad value there is reported by parse_config, here it means no report.
struct ReportWanted {
  bool line = false;  // one line on stderr at exit
  std::string file;   // append one JSON line to this file; "" for none
  bool any() const { return line || !file.empty(); }
};
ReportWanted report_wanted(const EnvMap& env);

struct RankReport {
  unsigned rank = 0;
  long pid = 0;
  CpuSet cpus;                                   // the CPUs it was placed on
  CpuSet mems;                                   // its planned memory nodes
  std::optional<double> cpu_seconds;             // user + system
  std::optional<long> involuntary_switches;      // preempted while runnable
  std::optional<std::uint64_t> migrations;       // moves from one CPU to another
  std::map<unsigned, std::uint64_t> node_bytes;  // resident private memory per NUMA node
  bool pages_known = false;                      // node_bytes was read
};

// Resident private memory per node from the text of /proc/PID/numa_maps: the N<node>=<pages>
// counts of every mapping that is not a file (anonymous memory, heap, stacks), in bytes by the
// line's kernelpagesize_kB. Lines it does not understand are skipped.
std::map<unsigned, std::uint64_t> node_bytes_of_numa_maps(std::string_view text);

// The sum of se.nr_migrations in /proc/PID/task/TID/sched texts, nullopt when absent.
std::optional<std::uint64_t> migrations_of_sched(std::string_view text);

// Share of the resident private memory on the planned nodes, nullopt when nothing is known.
std::optional<double> local_share(const RankReport& report);

// Below this share a rank's pages "mostly landed elsewhere": its report carries a warning.
inline constexpr double kLocalShareWarning = 0.5;

// "rank 0: cpu 1.234s, 12 involuntary switches, 3 migrations, 99.8% of 14.2 MiB on node 0"
std::string report_line(const RankReport& report);
// The warning for a rank whose pages mostly landed elsewhere, "" when there is none.
std::string report_warning(const RankReport& report);
// One JSON object on one line, ending with a newline:
// {"rank": 0, "pid": 123, "cpus": [0,1], "mems": [0], "cpu_seconds": 1.2,
//  "involuntary_switches": 3, "migrations": 0, "node_bytes": {"0": 4096}, "local_share": 1.0}
// (figures not known are null).
std::string report_json(const RankReport& report);
// The library's figures back from one report_json line (the spawner reads what its rank wrote).
// nullopt when the line is not one.
std::optional<RankReport> parse_report_json(std::string_view line);

}  // namespace xeonplace
