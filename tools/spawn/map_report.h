// xeonrun-spawn's two views of a placement (docs/design.md §10): the map of a plan before it runs
// (--dry-run --map), and the report of how each rank ran (--report, --report-file).
#pragma once

#include <string>
#include <vector>

#include "core/decision.h"
#include "core/report.h"
#include "tools/spawn/cli.h"
#include "tools/spawn/summary.h"
#include "tools/spawn/supervisor.h"

namespace xeonplace::spawn {

// Prints the map of `decisions` on `topology` (stdout, colour on a terminal unless NO_COLOR), or
// writes it as SVG to options.map_file. Returns the exit status.
int show_map(const SpawnOptions& options, const Topology& topology, const RankDecisions& decisions);

// Where the ranks' libraries write their figures: one file per rank in a private directory.
class ReportCollector {
 public:
  // Inactive (every call a no-op) unless `wanted` asks for a report.
  ReportCollector(const ReportWanted& wanted, std::string& error);
  ~ReportCollector();
  ReportCollector(const ReportCollector&) = delete;
  ReportCollector& operator=(const ReportCollector&) = delete;

  bool active() const { return active_; }
  // The variables rank `rank` starts with: its library writes its figures for us, prints nothing.
  std::vector<std::pair<std::string, std::string>> rank_variables(unsigned rank) const;
  // One line per rank on stderr (and its warning), one JSON line per rank in the user's file.
  void report(const std::vector<RankEnd>& ends, const RankDecisions& decisions,
              const LauncherLines& lines) const;

 private:
  std::string file_of(unsigned rank) const;
  bool active_ = false;
  ReportWanted wanted_;
  std::string dir_;
  mutable std::vector<unsigned> ranks_;  // whose files to remove
};

}  // namespace xeonplace::spawn
