// What is already mapped into this process, read from the dynamic linker's list.
#pragma once

#include <string>
#include <vector>

namespace xeonplace {

// Paths of the OpenMP runtimes already loaded (libgomp, LLVM libomp, Intel libiomp5). When one
// is, it read OMP_*/KMP_* before our constructor ran (design.md §6-§7), so setting them now is too late
// for it.
std::vector<std::string> loaded_openmp_runtimes();

// The sanitizer linked statically into the executable (clang's default: the ASan runtime is part
// of the program and exports __asan_init and its siblings dynamically): "AddressSanitizer" & co.,
// "" when none. A shared runtime is seen among the loaded objects instead (core/preload.h).
std::string static_sanitizer();

}  // namespace xeonplace
