// The hwloc XML path of XEONRUN_TOPOLOGY=xml:FILE: the input is written to a file and loaded the
// way the library loads it (read, hwloc_topology_set_xmlbuffer, lean discovery, conversion).
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_common.h"
#include "fuzz_topology.h"
#include "sys/topology_source.h"

using xeonplace::fuzz::require_one_line;

namespace {

std::string scratch_path() {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/xeonplace-fuzz-xml-" +
         std::to_string(::getpid()) + ".xml";
}

bool write_all(const std::string& path, const std::uint8_t* data, std::size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  while (size) {
    const ssize_t put = ::write(fd, data, size);
    if (put <= 0) break;
    data += put;
    size -= static_cast<std::size_t>(put);
  }
  ::close(fd);
  return size == 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // hwloc must judge the XML itself, with no plugin or environment override from the caller.
  ::setenv("HWLOC_PLUGINS_PATH", "/nonexistent", 1);
  ::unsetenv("HWLOC_XMLFILE");
  ::unsetenv("HWLOC_SYNTHETIC");
  ::unsetenv("HWLOC_FSROOT");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = scratch_path();
  if (!write_all(path, data, size)) std::abort();
  auto topology = xeonplace::load_topology("xml:" + path);
  ::unlink(path.c_str());
  if (!topology) {
    require_one_line(topology.error());
    return 0;
  }
  xeonplace::fuzz::check_topology(*topology);
  return 0;
}
