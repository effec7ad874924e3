#include "sys/loaded_libraries.h"

#include <dlfcn.h>
#include <link.h>

#include <cstring>

namespace xeonplace {
namespace {

bool is_openmp_runtime(const char* path) {
  const char* slash = std::strrchr(path, '/');
  const char* name = slash ? slash + 1 : path;
  for (const char* prefix : {"libgomp.so", "libomp.so", "libiomp5.so", "libomp5.so"}) {
    if (std::strncmp(name, prefix, std::strlen(prefix)) == 0) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> loaded_openmp_runtimes() {
  std::vector<std::string> found;
  ::dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        if (info->dlpi_name != nullptr && is_openmp_runtime(info->dlpi_name)) {
          static_cast<std::vector<std::string>*>(data)->emplace_back(info->dlpi_name);
        }
        return 0;
      },
      &found);
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
