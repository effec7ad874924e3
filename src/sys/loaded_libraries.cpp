#include "sys/loaded_libraries.h"

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

}  // namespace xeonplace
