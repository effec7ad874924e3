#include "tools/spawn/output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>

#include "core/text.h"

namespace xeonplace::spawn {

std::string log_file_name(const std::string& prefix, unsigned rank, bool is_stderr) {
  return prefix + "_rank" + std::to_string(rank) + (is_stderr ? ".err" : ".log");
}

RankLogNames run_cpu_log_names(const std::string& prefix, unsigned rank) {
  return {log_file_name(prefix, rank, false), log_file_name(prefix, rank, true)};
}

namespace {

// `epoch_seconds` in local time as strftime writes it with `format` ("" if it cannot).
std::string local_time_text(long epoch_seconds, const char* format) {
  const std::time_t when = static_cast<std::time_t>(epoch_seconds);
  std::tm local{};
  char text[32] = "";
  if (::localtime_r(&when, &local) != nullptr) std::strftime(text, sizeof text, format, &local);
  return text;
}

}  // namespace

std::string ipexrun_stamped_prefix(const std::string& prefix, long epoch_seconds) {
  return prefix + "_" + local_time_text(epoch_seconds, "%Y%m%d%H%M%S");
}

std::string ipexrun_cores_text(const std::vector<unsigned>& cpus) {
  std::vector<std::string> runs;
  bool any_run = false;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    any_run = any_run || j > i;
    runs.push_back(std::to_string(cpus[i]) + "-" + std::to_string(cpus[j]));
    i = j + 1;
  }
  std::vector<std::string> ids;
  for (unsigned cpu : cpus) ids.push_back(std::to_string(cpu));
  return join(any_run ? runs : ids, ",");
}

std::string ipexrun_log_file_name(const std::string& stamped_prefix, unsigned rank,
                                  const std::vector<unsigned>& cpus) {
  std::string cores = ipexrun_cores_text(cpus);
  std::replace(cores.begin(), cores.end(), ',', '_');
  return stamped_prefix + "_instance_" + std::to_string(rank) + "_cores_" + cores + ".log";
}

std::string ipexrun_launcher_log_name(const std::string& stamped_prefix) {
  return stamped_prefix + "_instances.log";
}

std::string ipexrun_launcher_log_lines(const std::string& lines, const std::string& program,
                                       long epoch_seconds, int milliseconds) {
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ",%03d", std::clamp(milliseconds, 0, 999));
  const std::string seconds = local_time_text(epoch_seconds, "%Y-%m-%d %H:%M:%S");
  const std::string stamp = seconds.empty() ? seconds : seconds + fraction;
  const std::string named = program + ": ";
  std::string out;
  std::size_t start = 0;
  while (start < lines.size()) {
    std::size_t end = lines.find('\n', start);
    if (end == std::string::npos) end = lines.size();
    std::string message = lines.substr(start, end - start);
    start = end + 1;
    const char* level = "INFO";
    if (message.rfind(named, 0) == 0) {
      message.erase(0, named.size());
      for (auto [word, name] : {std::pair{"error: ", "ERROR"}, std::pair{"warning: ", "WARNING"}}) {
        if (message.rfind(word, 0) == 0) {
          message.erase(0, std::strlen(word));
          level = name;
          break;
        }
      }
    }
    out += stamp + " - " + program + " - xeonplace - " + level + " - " + message + "\n";
  }
  return out;
}

namespace {

int open_log(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0666);
}

Status make_directories(const std::string& flag, const std::string& dir) {
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0777) != 0 && errno != EEXIST) {
      return make_error(flag + ": cannot create directory '" + partial +
                        "': " + std::strerror(errno));
    }
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    return make_error(flag + ": cannot use '" + dir + "': " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return make_error(flag + ": '" + dir + "' exists and is not a directory");
  }
  return Unit{};
}

}  // namespace

Expected<std::vector<RankLogs>> open_rank_logs(const std::string& flag, const std::string& dir,
                                               const std::vector<RankLogNames>& names) {
  Status made = make_directories(flag, dir);
  if (!made) return made.error();
  std::vector<RankLogs> logs;
  for (const RankLogNames& rank : names) {
    RankLogs files;
    for (bool is_stderr : {false, true}) {
      const std::string& name = is_stderr ? rank.err : rank.out;
      std::string path = dir + "/" + name;
      int fd = is_stderr && name.empty() ? ::fcntl(files.out, F_DUPFD_CLOEXEC, 0) : open_log(path);
      if (fd < 0) {
        Error error = make_error(flag + ": cannot write '" + path + "': " + std::strerror(errno));
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

int open_launcher_log(const std::string& dir, const std::string& name, std::string& why) {
  const int fd = open_log(dir + "/" + name);
  if (fd < 0) why = "cannot write '" + dir + "/" + name + "': " + std::strerror(errno);
  return fd;
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
