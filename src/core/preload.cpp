#include "core/preload.h"

#include <algorithm>
#include <cstddef>

namespace xeonplace {
namespace {

// File names as Debian (and most distributions) ship them: the versioned soname first, because
// the unversioned one only exists with the -dev package; run_cpu looks for the latter only.
const std::vector<std::string> kTcmallocNames = {
    "libtcmalloc.so.4", "libtcmalloc.so", "libtcmalloc_minimal.so.4", "libtcmalloc_minimal.so"};
const std::vector<std::string> kJemallocNames = {"libjemalloc.so.2", "libjemalloc.so"};
const std::vector<std::string> kMimallocNames = {"libmimalloc.so.2", "libmimalloc.so"};
// libiomp5.so is Intel's runtime or, on Debian, LLVM's under that name; libomp.so.5 is LLVM's.
const std::vector<std::string> kIntelOmpNames = {"libiomp5.so", "libomp.so.5", "libomp.so"};

const char* kTcmallocPackages = "libgoogle-perftools4 or libtcmalloc-minimal4";
const char* kJemallocPackages = "libjemalloc2";
const char* kMimallocPackages = "libmimalloc2.0";
const char* kIntelOmpPackages = "libomp-14-dev (libiomp5.so) or libomp5-14 (libomp.so.5)";

std::string basename_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool starts_with(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

// "libjemalloc.so.2" → stem "libjemalloc": the part before ".so".
std::string stem_of(const std::string& path) {
  std::string base = basename_of(path);
  auto so = base.find(".so");
  return so == std::string::npos ? base : base.substr(0, so);
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

LibraryRequest allocator_request(const Config& config) {
  LibraryRequest r;
  r.role = LibraryRole::Allocator;
  if (!config.allocator_path.empty()) {
    r.what = config.allocator_path;
    r.names = {config.allocator_path};
    r.packages = "the file named in XEONRUN_ALLOCATOR";
    r.explicit_choice = true;
    return r;
  }
  switch (config.allocator) {
    case Allocator::Tcmalloc:
      r = {LibraryRole::Allocator, "tcmalloc", kTcmallocNames, kTcmallocPackages, true};
      break;
    case Allocator::Jemalloc:
      r = {LibraryRole::Allocator, "jemalloc", kJemallocNames, kJemallocPackages, true};
      break;
    case Allocator::Mimalloc:
      r = {LibraryRole::Allocator, "mimalloc", kMimallocNames, kMimallocPackages, true};
      break;
    case Allocator::Auto:
    case Allocator::Default:
      r = {LibraryRole::Allocator, "tcmalloc or jemalloc", concat(kTcmallocNames, kJemallocNames),
           std::string(kTcmallocPackages) + ", or " + kJemallocPackages, false};
      break;
  }
  return r;
}

bool is_sanitizer_runtime(const std::string& path) {
  const std::string stem = stem_of(path);
  for (const char* runtime : {"libasan", "libtsan", "liblsan", "libhwasan", "libubsan",
                              "libclang_rt.asan", "libclang_rt.tsan", "libclang_rt.ubsan"}) {
    if (starts_with(stem, runtime)) return true;
  }
  return false;
}

bool has_entry(const std::vector<std::string>& list, const std::string& entry) {
  return std::find(list.begin(), list.end(), entry) != list.end();
}

// Same file for our purpose: same path, or same soname stem (libjemalloc.so and libjemalloc.so.2
// are one library under two names).
bool same_library(const std::string& a, const std::string& b) {
  return a == b || stem_of(a) == stem_of(b);
}

std::string join_preload(const std::vector<std::string>& entries) {
  std::string out;
  for (const auto& e : entries) {
    if (!out.empty()) out += ':';
    out += e;
  }
  return out;
}

std::string name_of_entry(const std::string& entry) {
  auto eq = entry.find('=');
  return eq == std::string::npos ? entry : entry.substr(0, eq);
}

}  // namespace

std::vector<LibraryRequest> requested_libraries(const Config& config) {
  std::vector<LibraryRequest> out;
  if (config.allocator != Allocator::Default || !config.allocator_path.empty()) {
    out.push_back(allocator_request(config));
  }
  if (!config.omp_runtime_path.empty()) {
    out.push_back({LibraryRole::OmpRuntime,
                   config.omp_runtime_path,
                   {config.omp_runtime_path},
                   "the file named in XEONRUN_OMP_RUNTIME",
                   true});
  } else if (config.omp_runtime == OmpRuntime::Intel) {
    out.push_back({LibraryRole::OmpRuntime, "the Intel/LLVM OpenMP runtime", kIntelOmpNames,
                   kIntelOmpPackages, false});
  }
  return out;
}

std::optional<LibraryRole> library_role(const std::string& path_or_name) {
  const std::string stem = stem_of(path_or_name);
  for (const char* allocator : {"libtcmalloc", "libjemalloc", "libmimalloc"}) {
    // libtcmalloc_minimal, libtcmalloc_and_profiler, libjemalloc_pic... all replace malloc.
    if (starts_with(stem, allocator)) return LibraryRole::Allocator;
  }
  if (is_openmp_runtime(path_or_name)) return LibraryRole::OmpRuntime;
  return std::nullopt;
}

bool is_openmp_runtime(const std::string& path_or_name) {
  const std::string stem = stem_of(path_or_name);
  return stem == "libgomp" || stem == "libiomp5" || stem == "libomp" || stem == "libomp5";
}

std::string malloc_sanitizer(const std::vector<std::string>& loaded) {
  for (const std::string& path : loaded) {
    const std::string stem = stem_of(path);
    for (const char* runtime :
         {"libasan", "libtsan", "libmsan", "liblsan", "libhwasan", "libclang_rt.asan",
          "libclang_rt.tsan", "libclang_rt.msan", "libclang_rt.lsan", "libclang_rt.hwasan"}) {
      if (starts_with(stem, runtime)) return path;
    }
  }
  return "";
}

std::vector<std::string> split_ld_preload(const std::string& value) {
  std::vector<std::string> out;
  std::string current;
  for (char c : value) {
    if (c == ':' || c == ' ' || c == '\t' || c == '\n') {
      if (!current.empty()) out.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

ChainLoad compose_chain_load(const ChainLoadInput& input) {
  ChainLoad result;
  const std::vector<std::string> existing =
      split_ld_preload(lookup(input.env, "LD_PRELOAD").value_or(""));

  // Everything that already serves a role: preloaded by the user or mapped in this process.
  auto serving = [&](LibraryRole role) -> std::optional<std::string> {
    for (const auto* list : {&existing, &input.loaded}) {
      for (const auto& lib : *list) {
        if (library_role(lib) == role) return lib;
      }
    }
    return std::nullopt;
  };
  // libgomp being mapped does not mean the Intel/LLVM runtime is: it is what we replace.
  auto serving_omp = [&]() -> std::optional<std::string> {
    for (const auto* list : {&existing, &input.loaded}) {
      for (const auto& lib : *list) {
        if (is_openmp_runtime(lib) && stem_of(lib) != "libgomp") return lib;
      }
    }
    return std::nullopt;
  };

  // Sanitizer runtimes insist on coming first in the search order (ASan aborts otherwise): the
  // libraries we add go after them, ahead of every other entry.
  std::vector<std::string> preload;
  for (const auto& e : existing) {
    if (is_sanitizer_runtime(e) && !has_entry(preload, e)) preload.push_back(e);
  }
  bool jemalloc_added_explicitly = false;
  bool jemalloc_added = false;
  for (const auto& lib : input.found) {
    auto present = lib.role == LibraryRole::Allocator ? serving(lib.role) : serving_omp();
    if (present) {
      if (lib.explicit_choice && !same_library(*present, lib.path)) {
        result.warnings.push_back("not preloading " + lib.path + ": " + *present +
                                  " already serves the same role in this process");
      }
      continue;
    }
    bool duplicate = false;
    for (const auto& p : preload) duplicate = duplicate || same_library(p, lib.path);
    if (duplicate) continue;
    preload.push_back(lib.path);
    result.added.push_back(lib.path);
    if (starts_with(stem_of(lib.path), "libjemalloc")) {
      jemalloc_added = true;
      jemalloc_added_explicitly =
          jemalloc_added_explicitly || lib.explicit_choice || input.jemalloc_conf_always;
    }
  }

  for (const auto& e : existing) {
    if (!has_entry(preload, e)) preload.push_back(e);
  }
  bool self_present = false;
  for (const auto& e : preload) {
    self_present =
        self_present || e == input.self_path || basename_of(e) == basename_of(input.self_path);
  }
  if (!self_present && !input.self_path.empty()) preload.push_back(input.self_path);

  if (!result.added.empty()) result.env.push_back({"LD_PRELOAD", join_preload(preload)});
  const auto user_conf = lookup(input.env, "MALLOC_CONF");
  if (input.benchmark && jemalloc_added && user_conf) {
    result.warnings.push_back("XEONRUN_BENCHMARK: MALLOC_CONF=" + *user_conf +
                              " is set already and kept (not ipexrun --benchmark's " +
                              kJemallocBenchmarkMallocConf + ")");
  } else if (input.benchmark && jemalloc_added) {
    result.env.push_back({"MALLOC_CONF", kJemallocBenchmarkMallocConf});
  } else if (jemalloc_added_explicitly && !user_conf) {
    result.env.push_back({"MALLOC_CONF", kJemallocMallocConf});
  }
  return result;
}

std::vector<std::string> libraries_not_loaded(const std::vector<FoundLibrary>& found,
                                              const std::vector<std::string>& loaded) {
  std::vector<std::string> out;
  for (const auto& lib : found) {
    bool served = false;
    for (const auto& object : loaded) {
      if (lib.role == LibraryRole::Allocator) {
        served = served || library_role(object) == LibraryRole::Allocator;
      } else {
        served = served || (is_openmp_runtime(object) && stem_of(object) != "libgomp");
      }
    }
    if (!served) out.push_back(lib.path);
  }
  return out;
}

bool runtime_env_differs(const std::vector<EnvVar>& runtime_env, const EnvMap& startup_env) {
  for (const auto& var : runtime_env) {
    if (lookup(startup_env, var.name) != var.value) return true;
  }
  return false;
}

GuardState guard_state(const EnvMap& env, long pid) {
  auto guard = lookup(env, kReexecGuardVariable);
  if (!guard) return GuardState::Absent;
  return *guard == std::to_string(pid) ? GuardState::ThisImage : GuardState::Inherited;
}

std::vector<EnvVar> guard_env(long pid, const std::string& process_name) {
  return {{kReexecGuardVariable, std::to_string(pid)}, {kReexecNameVariable, process_name}};
}

std::vector<std::string> compose_envp(const std::vector<std::string>& environ_entries,
                                      const std::vector<EnvVar>& set) {
  std::vector<std::string> out;
  out.reserve(environ_entries.size() + set.size());
  std::vector<bool> used(set.size(), false);
  for (const auto& entry : environ_entries) {
    const std::string name = name_of_entry(entry);
    bool replaced = false;
    for (std::size_t i = 0; i < set.size(); ++i) {
      if (set[i].name == name) {
        // Later duplicates of a name in environ are dropped: one name, one value.
        if (!used[i]) out.push_back(set[i].name + "=" + set[i].value);
        used[i] = true;
        replaced = true;
        break;
      }
    }
    if (!replaced) out.push_back(entry);
  }
  for (std::size_t i = 0; i < set.size(); ++i) {
    if (!used[i]) out.push_back(set[i].name + "=" + set[i].value);
  }
  return out;
}

std::vector<std::string> remove_from_envp(const std::vector<std::string>& environ_entries,
                                          const std::vector<std::string>& names,
                                          const std::vector<std::string>& prefixes) {
  std::vector<std::string> out;
  for (const auto& entry : environ_entries) {
    const std::string name = name_of_entry(entry);
    bool drop = has_entry(names, name);
    for (const auto& prefix : prefixes) drop = drop || starts_with(name, prefix.c_str());
    if (!drop) out.push_back(entry);
  }
  return out;
}

std::vector<std::string> split_cmdline(const std::string& bytes) {
  std::vector<std::string> out;
  std::string current;
  for (char c : bytes) {
    if (c == '\0') {
      out.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  // The kernel NUL-terminates every argument; a tail without NUL is a truncated last argument.
  if (!current.empty()) out.push_back(current);
  return out;
}

}  // namespace xeonplace
