#include "sys/library_search.h"

#include "core/text.h"
#include "sys/io.h"

#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "core/ld_cache.h"

namespace xeonplace {
namespace {

#if defined(__x86_64__)
constexpr const char* kMultiarch = "x86_64-linux-gnu";
#elif defined(__aarch64__)
constexpr const char* kMultiarch = "aarch64-linux-gnu";
#else
constexpr const char* kMultiarch = nullptr;
#endif

bool is_absolute(const std::string& path) { return !path.empty() && path[0] == '/'; }

// A regular file (after symlinks) we may read: what ld.so needs to map it.
bool usable_file(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), R_OK) == 0;
}

void add_directory(std::vector<std::string>& dirs, const std::string& dir) {
  if (!is_absolute(dir)) return;
  if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
}

// `base`/`sub` for a directory named by the environment: an empty or relative base (which would
// mean / or the current directory) names nothing.
void add_env_directory(std::vector<std::string>& dirs, const std::optional<std::string>& base,
                       const char* sub) {
  if (!base || !is_absolute(*base)) return;
  add_directory(dirs, *base + sub);
}

// "libtcmalloc_minimal.so.4" and "libtcmalloc.so" are one family: the part before '_' or ".so".
std::string family_of(const std::string& name) {
  auto end = name.find_first_of("_.");
  return end == std::string::npos ? name : name.substr(0, end);
}

int collect_object(struct dl_phdr_info* info, size_t, void* data) {
  auto* out = static_cast<std::vector<std::string>*>(data);
  if (info->dlpi_name != nullptr && info->dlpi_name[0] != '\0') out->emplace_back(info->dlpi_name);
  return 0;
}

}  // namespace

SearchPlaces library_search_places(const EnvMap& env, bool secure) {
  SearchPlaces places;
  auto& dirs = places.directories;
  if (!secure) {
    add_env_directory(dirs, lookup(env, "CONDA_PREFIX"), "/lib");
    add_env_directory(dirs, lookup(env, "VIRTUAL_ENV"), "/lib");
    add_env_directory(dirs, lookup(env, "HOME"), "/.local/lib");
    add_directory(dirs, "/usr/local/lib");
    add_directory(dirs, "/usr/local/lib64");
  }
  add_directory(dirs, "/usr/lib");
  add_directory(dirs, "/usr/lib64");
  if (kMultiarch != nullptr) {
    add_directory(dirs, std::string("/usr/lib/") + kMultiarch);
    add_directory(dirs, std::string("/lib/") + kMultiarch);
  }
  if (!secure) places.ld_cache_path = "/etc/ld.so.cache";
  return places;
}

Expected<std::string> find_library(const LibraryRequest& request, const SearchPlaces& places) {
  const std::string variable =
      request.role == LibraryRole::Allocator ? "XEONRUN_ALLOCATOR" : "XEONRUN_OMP_RUNTIME";
  if (request.names.size() == 1 && request.names[0].find('/') != std::string::npos) {
    const std::string& path = request.names[0];
    if (!is_absolute(path)) {
      return make_error(variable + "='" + path +
                        "' is a relative path; accepted: an absolute path to a shared library");
    }
    if (path.find_first_of(": \t\n") != std::string::npos) {
      // LD_PRELOAD splits on these: the entry would name other files.
      return make_error(variable + "='" + path +
                        "' contains ':' or a blank, which LD_PRELOAD cannot carry");
    }
    if (!usable_file(path)) {
      return make_error(variable + "='" + path + "' is not a readable file; running without it");
    }
    return path;
  }

  std::vector<std::string> families;
  for (const auto& name : request.names) {
    if (std::find(families.begin(), families.end(), family_of(name)) == families.end()) {
      families.push_back(family_of(name));
    }
  }
  // Read only when the directories did not have it: it is ~50 KB read in every placed process.
  std::vector<LdCacheEntry> cache;
  bool cache_read = false;

  for (const auto& family : families) {
    for (const auto& dir : places.directories) {
      for (const auto& name : request.names) {
        if (family_of(name) != family) continue;
        std::string path = dir + "/" + name;
        if (usable_file(path)) return path;
      }
    }
    if (!cache_read && !places.ld_cache_path.empty()) {
      // A missing or unreadable cache is an empty one: the directories were searched already.
      const Expected<std::string> bytes = read_whole_file(places.ld_cache_path);
      cache = parse_ld_cache(bytes ? *bytes : std::string());
      cache_read = true;
    }
    for (const auto& name : request.names) {
      if (family_of(name) != family) continue;
      for (const auto& entry : cache) {
        if (entry.soname == name && is_absolute(entry.path) && usable_file(entry.path)) {
          return entry.path;
        }
      }
    }
  }
  std::string where = join(places.directories, ", ");
  if (!places.ld_cache_path.empty()) where += " and " + places.ld_cache_path;
  return make_error(variable + ": " + request.what + " not found (looked for " +
                    join(request.names, ", ") + " in " + where + "); install " +
                    request.packages + "; running without it");
}

std::vector<std::string> loaded_objects() {
  std::vector<std::string> out;
  dl_iterate_phdr(collect_object, &out);
  return out;
}

}  // namespace xeonplace
