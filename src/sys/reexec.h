// Re-executing this process image with a new environment (issue #4, design.md §6-§7): the only way for
// an allocator and an OpenMP runtime to be loaded first, and for a runtime that read its variables
// before our constructor to see the planned ones.
//
// execve("/proc/self/exe", argv from /proc/self/cmdline, envp built here): the PID, open fds,
// unread stdin, affinity and memory policy survive; a `#!` script works because /proc/self/exe is
// the interpreter and the cmdline is the interpreter's argv. The envp is built by hand from
// `environ`, never through setenv: bash replaces setenv/unsetenv with its own.
#pragma once

#include <string>
#include <vector>

#include "core/expected.h"
#include "core/planner.h"

namespace xeonplace {

// getauxval(AT_SECURE): set-user-ID and friends. Never re-exec those.
bool secure_execution();

// The process name (PR_GET_NAME, 15 chars at most) and setting it back after the exec, which
// renames the process "exe".
std::string process_name();
void set_process_name(const std::string& name);

// argv as the kernel holds it (/proc/self/cmdline): spaces, empty strings and newlines intact.
Expected<std::vector<std::string>> read_cmdline();

// The current `environ` as "NAME=value" entries.
std::vector<std::string> environ_entries();

// Removes every variable whose name starts with `prefix` from `environ`, in place (no unsetenv:
// see above).
void remove_from_environ(const std::string& prefix);

// Execs /proc/self/exe with `argv` and `envp`. Returns only when the exec failed, with a line that
// says why (E2BIG: environment too large; ENOENT: no /proc; ...).
Status reexec_self(const std::vector<std::string>& argv, const std::vector<std::string>& envp);

}  // namespace xeonplace
