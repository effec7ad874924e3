#include "tools/spawn/program.h"

#include <sys/stat.h>
#include <unistd.h>

namespace xeonplace::spawn {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::string python_name(const EnvMap& env) {
  auto python = lookup(env, "PYTHON");
  return python && !python->empty() ? *python : std::string("python3");
}

Expected<std::string> find_executable(const std::string& name, const EnvMap& env) {
  if (name.find('/') != std::string::npos) {
    if (is_executable_file(name)) return name;
    return make_error("program '" + name + "' is not an executable file");
  }
  std::string path = lookup(env, "PATH").value_or("/usr/local/bin:/usr/bin:/bin");
  size_t start = 0;
  for (;;) {
    size_t colon = path.find(':', start);
    std::string dir =
        path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (is_executable_file(candidate)) return candidate;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return make_error("program '" + name + "' not found on PATH");
}

Status check_program_kind(const SpawnOptions& options) {
  if (options.no_python || options.module || ends_with(options.program, ".py")) return Unit{};
  return make_error("'" + options.program +
                    "' is not a .py script: for a program that is not python, add --no-python "
                    "(" +
                    options.program_name + " --no-python ... " + options.program +
                    "), or -m for a python module");
}

Expected<Command> resolve_command(const SpawnOptions& options, const EnvMap& env) {
  const std::string& program = options.program;
  Command command;
  if (options.no_python) {
    auto path = find_executable(program, env);
    if (!path) return path.error();
    command.path = *path;
    command.argv.push_back(program);
  } else {
    Status kind = check_program_kind(options);
    if (!kind) return kind.error();
    const std::string python = python_name(env);
    auto path = find_executable(python, env);
    if (!path) {
      return make_error("python '" + python + "' (from " +
                        (lookup(env, "PYTHON") && !lookup(env, "PYTHON")->empty()
                             ? "$PYTHON"
                             : "the default; set $PYTHON to choose") +
                        ") not found: " + path.error().message);
    }
    command.path = *path;
    command.argv = {python, "-u"};
    if (options.module) command.argv.push_back("-m");
    command.argv.push_back(program);
  }
  command.argv.insert(command.argv.end(), options.program_args.begin(), options.program_args.end());
  return command;
}

}  // namespace xeonplace::spawn
