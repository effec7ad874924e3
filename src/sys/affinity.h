// CPU affinity of this process. sched_setaffinity() changes one thread only (design.md §6-§7), so
// pinning a process means pinning every thread it already has, through /proc/self/task; threads
// created afterwards inherit the mask of their creator.
#pragma once

#include <string>
#include <vector>

#include "core/cpuset.h"
#include "core/expected.h"

namespace xeonplace {

// The calling thread's affinity.
Expected<CpuSet> current_affinity();

// Pins the calling thread to `cpus`.
Status pin_calling_thread(const CpuSet& cpus);

// Pins the calling thread, then every other thread listed in /proc/self/task, repeating the walk
// until a pass finds no thread it has not pinned yet (a thread created meanwhile by an unpinned
// thread would otherwise escape). Threads that exit meanwhile are skipped. An error when the
// calling thread cannot be pinned; other threads that cannot be pinned are reported in `warnings`.
// A /proc of another PID namespace (`unshare -p -f` without --mount-proc) lists thread ids that
// mean nothing here: then only the calling thread is pinned, with one warning if the process has
// other threads.
Status pin_all_threads(const CpuSet& cpus, std::vector<std::string>& warnings);

}  // namespace xeonplace
