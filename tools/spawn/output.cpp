#include "tools/spawn/output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace xeonplace::spawn {

std::string log_file_name(const std::string& prefix, unsigned rank, bool is_stderr) {
  return prefix + "_rank" + std::to_string(rank) + (is_stderr ? ".err" : ".log");
}

namespace {

Status make_directories(const std::string& dir) {
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0777) != 0 && errno != EEXIST) {
      return make_error("--log-path: cannot create directory '" + partial +
                        "': " + std::strerror(errno));
    }
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    return make_error("--log-path: cannot use '" + dir + "': " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return make_error("--log-path: '" + dir + "' exists and is not a directory");
  }
  return Unit{};
}

}  // namespace

Expected<std::vector<RankLogs>> open_rank_logs(const std::string& dir, const std::string& prefix,
                                               const std::vector<unsigned>& ranks) {
  Status made = make_directories(dir);
  if (!made) return made.error();
  std::vector<RankLogs> logs;
  for (unsigned rank : ranks) {
    RankLogs files;
    for (bool is_stderr : {false, true}) {
      std::string path = dir + "/" + log_file_name(prefix, rank, is_stderr);
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0666);
      if (fd < 0) {
        Error error =
            make_error("--log-path: cannot write '" + path + "': " + std::strerror(errno));
        logs.push_back(files);
        close_rank_logs(logs);
        return error;
      }
      (is_stderr ? files.err : files.out) = fd;
    }
    logs.push_back(files);
  }
  return logs;
}

void close_rank_logs(std::vector<RankLogs>& logs) {
  for (auto& files : logs) {
    for (int* fd : {&files.out, &files.err}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
  }
}

void StreamSink::on_data(std::string_view data) {
  if (log_fd_ >= 0 && !log_broken_) log_broken_ = !write_all(log_fd_, data);
  splitter_.feed(data, [this](std::string_view line) { to_console(line); });
}

void StreamSink::on_eof() {
  splitter_.finish([this](std::string_view line) { to_console(line); });
}

void StreamSink::to_console(std::string_view line) {
  if (console_broken_) return;
  // One write per line: lines of different ranks never interleave on the console.
  scratch_.assign(tag_);
  scratch_.append(line);
  console_broken_ = !write_all(console_fd_, scratch_);
}

}  // namespace xeonplace::spawn
