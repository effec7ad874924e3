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

// Log files of one rank: PREFIX_rankR.log gets stdout, PREFIX_rankR.err gets stderr.
struct RankLogs {
  int out = -1;
  int err = -1;
};

std::string log_file_name(const std::string& prefix, unsigned rank, bool is_stderr);

// mkdir -p `dir`, then creates (truncates) every rank's files. Any failure is an error before a
// rank starts: the message names the path and the reason.
Expected<std::vector<RankLogs>> open_rank_logs(const std::string& dir, const std::string& prefix,
                                               const std::vector<unsigned>& ranks);
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
