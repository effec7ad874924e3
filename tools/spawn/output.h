// Where a rank's output goes: the console, one whole line at a time with the rank's tag, and the
// rank's log files, byte for byte as it arrives, so a log is complete up to the moment a rank or
// the launcher is killed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "sys/io.h"
#include "tools/spawn/line_splitter.h"

namespace xeonplace::spawn {

// The one write-all loop is sys/io.h's (false on EPIPE from a closed console, for one); the
// launcher's files still name it spawn::write_all.
using xeonplace::write_all;

// Log files of one rank: PREFIX_rankR.log gets stdout, PREFIX_rankR.err gets stderr (run_cpu's
// names); under ipexrun's both go to one file (ipexrun_log_file_name).
struct RankLogs {
  int out = -1;
  int err = -1;  // may be a duplicate of `out`
};

std::string log_file_name(const std::string& prefix, unsigned rank, bool is_stderr);

// The names one rank's output goes to, inside the log directory; `err` empty: stderr goes to the
// file of `out`, as ipexrun's `2>&1 | tee`.
struct RankLogNames {
  std::string out;
  std::string err;
};

// run_cpu's: PREFIX_rankR.log and PREFIX_rankR.err.
RankLogNames run_cpu_log_names(const std::string& prefix, unsigned rank);

// ipexrun's names (docs/design.md §11). Its launcher stamps the prefix once per run with the local
// time, PREFIX_YYYYmmddHHMMSS (launch.py, run_main_with_args), writes its own log to
// STAMPED_instances.log, and each instance's merged output to
// STAMPED_instance_I_cores_CORES.log, CORES its CPU list with ',' replaced by '_'
// (launcher_multi_instances.py, execution_command_builder).
std::string ipexrun_stamped_prefix(const std::string& prefix, long epoch_seconds);
// ipexrun's CPU list text (cpu_info.py, CPUPool.get_pool_txt, "auto" mode): the CPU ids
// "0,2,4" when no two are consecutive, else every run as FIRST-LAST, a lone CPU too ("0-3,5-5").
std::string ipexrun_cores_text(const std::vector<unsigned>& cpus);
std::string ipexrun_log_file_name(const std::string& stamped_prefix, unsigned rank,
                                  const std::vector<unsigned>& cpus);
std::string ipexrun_launcher_log_name(const std::string& stamped_prefix);
// The launcher's lines (as written to stderr: "NAME: message", "NAME: warning: message") as
// ipexrun's logger writes its _instances.log, with IPEX's format_str
// "%(asctime)s - %(filename)s - %(name)s - %(levelname)s - %(message)s": the local time as
// Python's logging writes it ("2026-12-01 20:31:14,123"), NAME where IPEX has its file name,
// "xeonplace" as the logger's name, and the level read from the line's "error: " or "warning: "
// (else INFO), stripped with NAME from the message. A line that does not start with "NAME: " is
// kept whole, as INFO.
std::string ipexrun_launcher_log_lines(const std::string& lines, const std::string& program,
                                       long epoch_seconds, int milliseconds);

// mkdir -p `dir`, then creates (truncates) every rank's files. Any failure is an error before a
// rank starts: the message names `flag` (--log-path, --log-dir), the path and the reason.
Expected<std::vector<RankLogs>> open_rank_logs(const std::string& flag, const std::string& dir,
                                               const std::vector<RankLogNames>& names);
// One more file in the (made) log directory, for the launcher's own lines; -1 when it cannot be
// written (`why` says why).
int open_launcher_log(const std::string& dir, const std::string& name, std::string& why);
void close_rank_logs(std::vector<RankLogs>& logs);

// One stream (stdout or stderr) of one rank.
class StreamSink {
 public:
  StreamSink(std::string tag, int console_fd, int log_fd)
      : tag_(std::move(tag)), console_fd_(console_fd), log_fd_(log_fd) {}

  void on_data(std::string_view data);
  void on_eof();  // flushes a last line that has no newline, adding one

 private:
  void to_console(std::string_view line);

  std::string tag_;  // "[run0] "
  int console_fd_;
  int log_fd_;
  bool console_broken_ = false;
  bool log_broken_ = false;
  LineSplitter splitter_;
  std::string scratch_;
};

}  // namespace xeonplace::spawn
