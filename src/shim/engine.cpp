// The engine of libxeonplace.so, dlopen()ed by the front (front.c) only when this process must be
// placed. It reads as its story (docs/design.md, "The engine"): gather the facts (src/sys/),
// decide (src/core/decision.h), apply (src/sys/), report.
//
// It runs inside somebody else's process before main(): it never throws into the host (everything
// is caught at the entry point), never writes to stdout, and leaves nothing behind but the
// placement (the topology and the plan are freed before it returns).
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "core/decision.h"
#include "shim/engine_abi.h"
#include "sys/affinity.h"
#include "sys/apply.h"
#include "sys/environment.h"
#include "sys/facts.h"
#include "sys/io.h"
#include "sys/log.h"
#include "sys/reexec.h"
#include "sys/report.h"
#include "xeonplace/xeonplace.h"

namespace xeonplace {
namespace {

// A configuration, topology or planning error: "xeonplace: error: <message>" on stderr and exit
// status 2, or with XEONRUN_ON_ERROR=warn the same as a warning and the program runs unplaced.
int fail(const Reporting& reporting, Log& log, const Error& error) {
  if (reporting.on_error == OnError::Warn) {
    log.warn(error.message + " (running unplaced)");
    return XEONPLACE_ENGINE_CONTINUE;
  }
  if (!log.to_stderr()) log.error(error.message);
  write_all(2, "xeonplace: error: " + error.message + "\n");
  return XEONPLACE_ENGINE_EXIT;
}

void report(Log& log, const std::vector<std::string>& warnings,
            const std::vector<std::string>& debug) {
  for (const std::string& line : debug) log.debug(line);
  for (const std::string& line : warnings) log.warn(line);
}

std::string summary(const Decision& d, const std::string& memory) {
  std::string line = "rank " + std::to_string(d.rank) + " of " + std::to_string(d.nranks);
  if (!d.source.empty()) line += " (" + d.source + ")";
  line += ": CPUs " + d.cpus.format() + ", memory nodes " + d.mems.format() + ", memory policy " +
          memory + ", pin " + to_string(d.pin) + ", OpenMP";
  for (const EnvVar& variable : d.runtime) line += " " + variable.name + "=" + variable.value;
  return line;
}

// XEONRUN_PIN=thread: likwid-pin's order (this thread counts as the first CPU, each later thread
// gets the next one), but this thread keeps the whole slice: OpenMP runtimes build their places
// from the initial thread's mask, and a one-CPU mask would put the whole team on that CPU.
// Helper cores take no compute thread; skipped creations (XEONRUN_THREAD_SKIP) run on them, or on
// the whole rank when it keeps none (docs/design.md, helper threads).
void pin_new_threads(const Decision& d, const xeonplace_front& front, Log& log) {
  if (d.pin != Pin::Thread) return;
  std::vector<int> cpus;
  for (unsigned cpu : d.cpus.ids()) {
    if (!d.helper_cpus.contains(cpu)) cpus.push_back(static_cast<int>(cpu));
  }
  const std::vector<unsigned> skip_ids = (d.helper_cpus.empty() ? d.cpus : d.helper_cpus).ids();
  const std::vector<int> skip(skip_ids.begin(), skip_ids.end());
  if (front.set_thread_skip(d.thread_skip, skip.data(), static_cast<int>(skip.size())) != 0 ||
      front.set_thread_cpus(cpus.data(), static_cast<int>(cpus.size()), 1) != 0) {
    log.warn("out of memory: XEONRUN_PIN=thread falls back to process pinning for new threads");
  }
}

// What the program, xeonplace.h and child processes read: only what was applied.
void export_placement(const Decision& d, Log& log) {
  const Status exported = export_variables(d.placed);
  if (!exported) log.warn(exported.error().message);
}

// A wrapper narrowed an inherited placement (core/decision.h, Action::Correct): nothing to apply,
// the exports and the plan's thread count follow the narrowed affinity.
int tell_what_it_has(const Decision& d, Log& log) {
  std::vector<EnvVar> told = d.runtime;
  told.insert(told.end(), d.placed.begin(), d.placed.end());
  const Status exported = export_variables(told);
  if (!exported) log.warn(exported.error().message);
  log.info("inherited placement narrowed to CPUs " + d.cpus.format() + ": reported as such");
  return XEONPLACE_ENGINE_CONTINUE;
}

// ---- the report at exit (docs/design.md §10) ----

// What the report needs at exit, kept from the placement. Allocated once and never freed: it must
// outlive every static destructor that runs before or after the handler.
struct ArmedReport {
  ReportWanted wanted;
  long pid = 0;
  unsigned rank = 0;
  CpuSet cpus;
  CpuSet mems;
  int migration_counter = -1;
};
ArmedReport* armed_report = nullptr;

// exit() in the placed process: its report. Not in a forked child that calls exit() (its pid
// differs; it was not placed by us), never after execve (handlers do not survive it), never on
// _exit or a fatal signal. Nothing may escape into the host's exit.
void report_at_exit() noexcept {
  try {
    const ArmedReport* a = armed_report;
    if (a == nullptr || a->pid != ::getpid()) return;
    write_rank_report(a->wanted,
                      gather_rank_report(a->rank, a->cpus, a->mems, a->migration_counter));
  } catch (...) {
  }
}

// Only a placement this process applied is reported; the engine then stays loaded (the front
// keeps it when told XEONPLACE_ENGINE_KEEP) for the handler.
int arm_report(const EnvMap& env, const Decision& done) {
  const ReportWanted wanted = report_wanted(env);
  if (!wanted.any() || armed_report != nullptr) return XEONPLACE_ENGINE_CONTINUE;
  auto* a = new ArmedReport{wanted,    ::getpid(), done.rank,
                            done.cpus, done.mems,  open_migration_counter()};
  if (std::atexit(report_at_exit) != 0) {
    delete a;
    return XEONPLACE_ENGINE_CONTINUE;
  }
  armed_report = a;
  return XEONPLACE_ENGINE_KEEP;
}

// ---- the story ----

int place(const xeonplace_front& front) {
  const EnvMap env = snapshot_environment(front.envp);
  Reporting reporting = xeonplace::reporting(env);
  // A set-user-ID program must never create or append to a file its caller names (issue #8).
  if (secure_execution()) reporting.file.clear();
  Log log(reporting.level, reporting.file);
  // The image a re-exec started: the first image said already what opening the log file had to
  // say (sys/log.h holds that warning until the first call, at the level then in force).
  if (guard_state(env, ::getpid()) == GuardState::ThisImage) {
    log.set_level(LogLevel::Error);
    log.set_level(reporting.level);
  }

  const Facts facts = gather_facts(facts_wanted(env), env, front.front_path, FactsFor::ThisProcess);
  const Expected<Decision> decision = decide(facts, env);
  if (!decision) return fail(reporting, log, decision.error());
  report(log, decision->warnings, decision->debug);
  for (const std::string& line : decision->info) log.info(line);
  if (decision->action == Action::Skip) return XEONPLACE_ENGINE_CONTINUE;
  if (decision->action == Action::DryRun) {
    log.info("dry run, nothing changed: " + summary(*decision, to_string(decision->membind)));
    return XEONPLACE_ENGINE_CONTINUE;
  }
  if (decision->action == Action::Correct) return tell_what_it_has(*decision, log);
  if (guard_state(env, facts.pid) == GuardState::ThisImage) finish_reexecuted_image(env);
  const Applied applied = apply_placement(*decision);
  report(log, applied.warnings, applied.debug);
  pin_new_threads(*decision, front, log);
  // A refused call: the exports and the re-executed image's handed placement say what is in
  // force, so the new image neither claims it nor meets the refusal (and warns) a second time.
  Decision done = *decision;
  const Expected<CpuSet> in_force = applied.cpus ? Expected<CpuSet>(CpuSet{}) : current_affinity();
  record_what_was_applied(done, applied.cpus, in_force ? *in_force : CpuSet{}, applied.memory_set);
  // After apply (affinity and memory policy survive execve), before export (the new image must
  // not see XEONRUN_PLACED_* and skip its own engine run).
  if (done.reexec) log.warn(reexec_with(done, facts));
  export_placement(done, log);
  log.info(summary(done, applied.memory));
  return arm_report(env, done);
}

}  // namespace
}  // namespace xeonplace

extern "C" __attribute__((visibility("default"))) int xeonplace_engine_run(
    const xeonplace_front* front) noexcept {
  if (front == nullptr || front->abi_version != XEONPLACE_ENGINE_ABI_VERSION) {
    xeonplace::write_all(
        2,
        "xeonplace: warning: libxeonplace-engine.so does not match libxeonplace.so "
        "(reinstall both; running unplaced)\n");
    return XEONPLACE_ENGINE_CONTINUE;
  }
  // No exception may cross into the host program, whatever it is.
  try {
    return xeonplace::place(*front);
  } catch (const std::exception& e) {
    xeonplace::write_all(2, std::string("xeonplace: warning: internal error: ") + e.what() +
                                " (running unplaced)\n");
  } catch (...) {
    xeonplace::write_all(2, "xeonplace: warning: internal error (running unplaced)\n");
  }
  return XEONPLACE_ENGINE_CONTINUE;
}
