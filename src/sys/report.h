// The library's placement report (docs/design.md §10): the figures of this process, gathered at
// exit, and where they go. Every syscall of the report lives here; the text is core/report.h's.
#pragma once

#include "core/report.h"

namespace xeonplace {

// A counter of this process's CPU migrations from now on, its threads and children included
// (perf_event_open, PERF_COUNT_SW_CPU_MIGRATIONS, inherited, close-on-exec): its descriptor, or -1
// when the kernel refuses (perf_event_paranoid, seccomp). Then the figure comes from
// /proc/self/task/*/sched at exit, for the threads still alive.
int open_migration_counter();

// This process's figures now: getrusage(RUSAGE_SELF), the counter (or the sched files),
// /proc/self/numa_maps. Whatever cannot be read stays unknown.
RankReport gather_rank_report(unsigned rank, const CpuSet& cpus, const CpuSet& mems,
                              int migration_counter);

// The line on stderr (and its warning) when `wanted.line`, the JSON line appended to
// `wanted.file` when set. Never blocks on opening the file; failures are silent.
void write_rank_report(const ReportWanted& wanted, const RankReport& report);

}  // namespace xeonplace
