// The C++ program of the chain-load tests: operator new[] (libstdc++ forwards it to malloc).
#include <cstring>
#include <memory>
#include <vector>

#include "probe_common.h"

namespace {
std::vector<std::unique_ptr<char[]>> kept;

void* allocate_cpp(size_t n) {
  kept.emplace_back(new char[n]);
  std::memset(kept.back().get(), 1, n);
  return kept.back().get();
}
}  // namespace

int main(int argc, char** argv) {
  probe_report(argc, argv, allocate_cpp);
  return 0;
}
