// Chain-loading (issue #4): which libraries a placed rank preloads (an allocator, an OpenMP
// runtime), the LD_PRELOAD and environment the re-executed image gets, and whether a re-exec is
// needed at all. Pure: finding the files is sys/library_search, the exec is sys/reexec.
//
// Why a re-exec and not dlopen: design.md §6-§7 (jemalloc cannot be dlopened late, a late tcmalloc
// never serves malloc, libgomp read its environment before our constructor ran).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/env_map.h"
#include "core/options.h"
#include "core/planner.h"

namespace xeonplace {

// Set in the environment of the re-executed image only (XEONRUN_REEXEC_* are outputs, not inputs).
inline constexpr const char* kReexecPrefix = "XEONRUN_REEXEC_";
inline constexpr const char* kReexecGuardVariable = "XEONRUN_REEXEC_GUARD";  // pid that re-executed
inline constexpr const char* kReexecNameVariable = "XEONRUN_REEXEC_NAME";    // comm before exec
// run_cpu's MALLOC_CONF for an explicitly chosen jemalloc.
inline constexpr const char* kJemallocMallocConf =
    "oversize_threshold:1,background_thread:true,metadata_thp:auto";
// ipexrun --benchmark's (IPEX launcher_base.py, set_memory_allocator): freed pages are never
// returned (dirty/muzzy decay off), no background purging thread, jemalloc's metadata always on
// transparent huge pages. Fewer page faults and madvise calls; RSS only grows (docs/design.md §9).
inline constexpr const char* kJemallocBenchmarkMallocConf =
    "oversize_threshold:1,background_thread:false,metadata_thp:always,dirty_decay_ms:-1,"
    "muzzy_decay_ms:-1";

enum class LibraryRole { Allocator, OmpRuntime };

// One library the configuration asks for, before anything looks at the disk.
struct LibraryRequest {
  LibraryRole role = LibraryRole::Allocator;
  std::string what;                // for messages: "tcmalloc or jemalloc", "jemalloc", ...
  std::vector<std::string> names;  // file names to search, preferred first; or one absolute path
  std::string packages;            // Debian packages that provide it, for the not-found warning
  bool explicit_choice = false;    // named by the user rather than chosen by `auto`/default
};

// In LD_PRELOAD order: the allocator first, then the OpenMP runtime. Empty for `default`.
// An absolute path in XEONRUN_ALLOCATOR / XEONRUN_OMP_RUNTIME (Config::*_path) is the only name.
std::vector<LibraryRequest> requested_libraries(const Config& config);

// The role a library plays, judged from its file name (`/x/libjemalloc.so.2` → Allocator,
// `libgomp.so.1` → OmpRuntime); nullopt for anything else.
std::optional<LibraryRole> library_role(const std::string& path_or_name);

// True for the GNU and LLVM/Intel OpenMP runtimes: they read OMP_* / KMP_* once, at load time.
bool is_openmp_runtime(const std::string& path_or_name);

// The sanitizer runtime among `loaded` that replaces malloc (ASan, TSan, MSan, HWASan, LSan, as
// GCC's shared libasan.so.8 or clang's libclang_rt.asan-x86_64.so): its path, "" when none. UBSan
// leaves malloc alone.
std::string malloc_sanitizer(const std::vector<std::string>& loaded);

// LD_PRELOAD entries, split as ld.so does (on ':' and blanks), empty entries dropped.
std::vector<std::string> split_ld_preload(const std::string& value);

// A library the shell found on disk for one request.
struct FoundLibrary {
  LibraryRole role = LibraryRole::Allocator;
  std::string path;  // absolute
  bool explicit_choice = false;
};

struct ChainLoadInput {
  std::vector<FoundLibrary> found;  // in request order
  std::vector<std::string> loaded;  // paths of the objects already mapped in this process
  std::string self_path;            // absolute path of libxeonplace.so (kept in LD_PRELOAD)
  EnvMap env;                       // the current environment (LD_PRELOAD, MALLOC_CONF)
  bool benchmark = false;           // XEONRUN_BENCHMARK: kJemallocBenchmarkMallocConf
  // XEONRUN_COMPAT=ipexrun: MALLOC_CONF for jemalloc chosen by `auto` too (ipexrun sets it
  // whichever way jemalloc was chosen, launcher_base.py's set_memory_allocator).
  bool jemalloc_conf_always = false;
};

struct ChainLoad {
  std::vector<std::string> added;     // libraries the new image loads that this one does not
  std::vector<EnvVar> env;            // LD_PRELOAD (and MALLOC_CONF) for the new image
  std::vector<std::string> warnings;  // e.g. another allocator already preloaded
};

// Composes LD_PRELOAD = allocator, OpenMP runtime, then the existing entries (libxeonplace.so kept,
// appended when it is not there); a sanitizer runtime already preloaded stays first. A role already
// served — its library, or another of the same role, in LD_PRELOAD or loaded — is not added again:
// two allocators in one process would fight. MALLOC_CONF gets run_cpu's jemalloc setting for an
// explicit jemalloc unless it is already set; under `benchmark` ipexrun --benchmark's for any
// jemalloc added (a user's MALLOC_CONF still wins, with a warning).
ChainLoad compose_chain_load(const ChainLoadInput& input);

// In the re-executed image: the libraries of `found` whose role no object in `loaded` serves, i.e.
// those ld.so could not load from LD_PRELOAD (it says why on stderr and carries on).
std::vector<std::string> libraries_not_loaded(const std::vector<FoundLibrary>& found,
                                              const std::vector<std::string>& loaded);

// Whether an OpenMP runtime that read `startup_env` before our constructor would see other values
// than `runtime_env` (the merged OMP_*/KMP_* variables of the plan).
bool runtime_env_differs(const std::vector<EnvVar>& runtime_env, const EnvMap& startup_env);

enum class GuardState {
  Absent,     // no re-exec happened: this image may re-exec
  ThisImage,  // this process is the image we re-executed: never again
  Inherited,  // a parent's guard (another pid): ignore it
};
GuardState guard_state(const EnvMap& env, long pid);

// The guard and process-name variables for the new image.
std::vector<EnvVar> guard_env(long pid, const std::string& process_name);

// `environ` entries ("NAME=value") with `set` applied: an existing NAME is replaced in place (a
// later duplicate of it dropped), new names are appended, everything else is kept byte for byte, in
// order.
std::vector<std::string> compose_envp(const std::vector<std::string>& environ_entries,
                                      const std::vector<EnvVar>& set);

// `environ` entries without the named variables and without any variable whose name starts with
// one of `prefixes`.
std::vector<std::string> remove_from_envp(const std::vector<std::string>& environ_entries,
                                          const std::vector<std::string>& names,
                                          const std::vector<std::string>& prefixes = {});

// Splits /proc/self/cmdline (NUL-terminated strings) into argv; empty strings are kept.
std::vector<std::string> split_cmdline(const std::string& bytes);

}  // namespace xeonplace
