#include "sys/loaded_libraries.h"

#include <dlfcn.h>

#include "core/preload.h"
#include "sys/library_search.h"

namespace xeonplace {

std::vector<std::string> loaded_openmp_runtimes() {
  std::vector<std::string> found;
  for (const std::string& path : loaded_objects()) {
    if (is_openmp_runtime(path)) found.push_back(path);
  }
  return found;
}

std::string static_sanitizer() {
  struct Runtime {
    const char* init;
    const char* name;
  };
  static constexpr Runtime kRuntimes[] = {{"__asan_init", "AddressSanitizer"},
                                          {"__tsan_init", "ThreadSanitizer"},
                                          {"__msan_init", "MemorySanitizer"},
                                          {"__hwasan_init", "HWAddressSanitizer"},
                                          {"__lsan_do_leak_check", "LeakSanitizer"}};
  for (const Runtime& runtime : kRuntimes) {
    if (::dlsym(RTLD_DEFAULT, runtime.init) != nullptr) return runtime.name;
  }
  return "";
}

}  // namespace xeonplace
