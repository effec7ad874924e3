#include "sys/reexec.h"

#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/preload.h"

extern char** environ;

namespace xeonplace {

bool secure_execution() { return getauxval(AT_SECURE) != 0; }

std::string process_name() {
  char name[17] = {};
  if (prctl(PR_GET_NAME, name, 0, 0, 0) != 0) return {};
  return name;
}

void set_process_name(const std::string& name) {
  if (!name.empty()) prctl(PR_SET_NAME, name.c_str(), 0, 0, 0);
}

Expected<std::vector<std::string>> read_cmdline() {
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return make_error(std::string("cannot read /proc/self/cmdline (") + std::strerror(errno) +
                      "): is /proc mounted?");
  }
  std::string bytes;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return make_error(std::string("cannot read /proc/self/cmdline: ") + std::strerror(err));
    }
    if (n == 0) break;
    bytes.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return split_cmdline(bytes);
}

std::vector<std::string> environ_entries() {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) out.emplace_back(*e);
  return out;
}

void remove_from_environ(const std::string& prefix) {
  if (environ == nullptr) return;
  char** write = environ;
  for (char** read = environ; *read != nullptr; ++read) {
    if (std::strncmp(*read, prefix.c_str(), prefix.size()) != 0) *write++ = *read;
  }
  *write = nullptr;
}

Status reexec_self(const std::vector<std::string>& argv, const std::vector<std::string>& envp) {
  std::vector<char*> c_argv;
  c_argv.reserve(argv.size() + 1);
  for (const auto& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  std::vector<char*> c_envp;
  c_envp.reserve(envp.size() + 1);
  for (const auto& e : envp) c_envp.push_back(const_cast<char*>(e.c_str()));
  c_envp.push_back(nullptr);

  execve("/proc/self/exe", c_argv.data(), c_envp.data());
  const int err = errno;
  if (err == E2BIG) {
    return make_error(
        "cannot re-exec: the environment and arguments are too large for execve "
        "(E2BIG)");
  }
  return make_error(std::string("cannot re-exec /proc/self/exe: ") + std::strerror(err));
}

}  // namespace xeonplace
