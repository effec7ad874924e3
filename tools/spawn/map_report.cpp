#include "tools/spawn/map_report.h"

#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "core/plan_map.h"
#include "core/text.h"
#include "sys/io.h"
#include "sys/log.h"

namespace xeonplace::spawn {
namespace {

MapPlan map_plan(const RankDecisions& decisions) {
  MapPlan plan;
  plan.nranks = decisions.nranks;
  for (const Decision& d : decisions.ranks) {
    plan.ranks.push_back({d.rank, d.cpus, d.mems});
    plan.reserved = plan.reserved | d.helper_cpus;
  }
  return plan;
}

// Colour only for a terminal, and never under NO_COLOR (no-color.org: set and not empty) or
// TERM=dumb; the width is the terminal's, 80 elsewhere so that captured output is stable.
MapStyle terminal_style() {
  MapStyle style;
  const char* no_colour = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  const bool tty = ::isatty(1) == 1;
  style.colour = tty && (no_colour == nullptr || no_colour[0] == '\0') &&
                 !(term != nullptr && std::string(term) == "dumb");
  struct winsize size {};
  if (tty && ::ioctl(1, TIOCGWINSZ, &size) == 0 && size.ws_col >= 40) style.width = size.ws_col;
  return style;
}

}  // namespace

int show_map(const SpawnOptions& options, const Topology& topology,
             const RankDecisions& decisions) {
  const MapPlan plan = map_plan(decisions);
  if (options.map_file.empty()) {
    write_all(1, map_text(topology, plan, terminal_style()));
    return 0;
  }
  const Status written = write_whole_file(options.map_file, map_svg(topology, plan));
  if (!written) {
    write_all(2, options.program_name + ": " + (options.ipexrun_semantics ? "error: " : "") +
                     "--map=" + options.map_file + ": " + written.error().message + "\n");
    return 2;
  }
  write_all(1, options.program_name + ": map of " + std::to_string(plan.nranks) +
                   " ranks written to " + options.map_file + "\n");
  return 0;
}

ReportCollector::ReportCollector(const ReportWanted& wanted, std::string& error) : wanted_(wanted) {
  if (!wanted.any()) return;
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && tmp[0] == '/' ? tmp : "/tmp") + "/xeonrun-report.XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) {
    error = "--report: cannot create a directory for the ranks' figures under " + dir;
    return;
  }
  dir_ = dir;
  active_ = true;
}

ReportCollector::~ReportCollector() {
  if (dir_.empty()) return;
  for (unsigned rank : ranks_) ::unlink(file_of(rank).c_str());
  ::rmdir(dir_.c_str());
}

std::string ReportCollector::file_of(unsigned rank) const {
  return dir_ + "/rank" + std::to_string(rank) + ".jsonl";
}

std::vector<std::pair<std::string, std::string>> ReportCollector::rank_variables(
    unsigned rank) const {
  if (!active_) return {};
  ranks_.push_back(rank);
  return {{"XEONRUN_REPORT", "0"}, {"XEONRUN_REPORT_FILE", file_of(rank)}};
}

void ReportCollector::report(const std::vector<RankEnd>& ends, const RankDecisions& decisions,
                             const LauncherLines& out) const {
  if (!active_) return;
  std::string lines;
  std::string json;
  for (const RankEnd& end : ends) {
    RankReport r;
    r.rank = end.rank;
    r.pid = end.pid;
    for (const Decision& d : decisions.ranks) {
      if (d.rank == end.rank) r.cpus = d.cpus, r.mems = d.mems;
    }
    // The rank's own figures: its first line written by its first process (a child placed anew
    // writes one too, with its own pid).
    const auto written = read_whole_file(file_of(end.rank), 1 << 20);
    const std::string text = written ? *written : std::string();
    for (std::string_view line : split(text, '\n')) {
      const auto mine = parse_report_json(line);
      if (!mine || mine->pid != end.pid) continue;
      r.migrations = mine->migrations;
      r.node_bytes = mine->node_bytes;
      r.pages_known = mine->pages_known;
      break;
    }
    if (end.started) {
      r.cpu_seconds = end.cpu_seconds;
      r.involuntary_switches = end.involuntary_switches;
    }
    if (wanted_.line) {
      lines += out.program() + ": report " + report_line(r) + "\n";
      const std::string warning = report_warning(r);
      if (!warning.empty()) lines += out.program() + ": warning: " + warning + "\n";
    }
    json += report_json(r);
  }
  out.write(lines);
  if (wanted_.file.empty()) return;
  std::string why;
  const int fd = open_log_file(wanted_.file, why);
  if (fd < 0 || !write_all(fd, json)) {
    out.say("warning: XEONRUN_REPORT_FILE=" + wanted_.file + ": " +
            (why.empty() ? "cannot write" : why));
  }
  if (fd >= 0) ::close(fd);
}

}  // namespace xeonplace::spawn
