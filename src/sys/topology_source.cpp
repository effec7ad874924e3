#include "sys/topology_source.h"

#include <fcntl.h>
#include <hwloc.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>

#include "core/cpuset.h"
#include "core/lscpu.h"
#include "core/options.h"
#include "sys/hwloc_topology.h"
#include "sys/io.h"

namespace xeonplace {
namespace {

// A fixture far larger than any real machine's description is a mistake (or /dev/zero).
constexpr std::size_t kMaxFixtureBytes = 64U << 20;

struct TopologyDeleter {
  void operator()(hwloc_topology* topology) const { hwloc_topology_destroy(topology); }
};
using TopologyPtr = std::unique_ptr<hwloc_topology, TopologyDeleter>;

struct BitmapDeleter {
  void operator()(hwloc_bitmap_s* bitmap) const { hwloc_bitmap_free(bitmap); }
};
using BitmapPtr = std::unique_ptr<hwloc_bitmap_s, BitmapDeleter>;

Expected<std::string> read_file(const std::string& path, const std::string& source) {
  Expected<std::string> text = read_whole_file(path, kMaxFixtureBytes);
  if (!text) return make_error(source + ": " + text.error().message);
  return text;
}

// hwloc builds a synthetic machine in time that grows faster than linearly (8192 PUs take about
// a second, 65536 more than a minute), so a typo like "core:100000" must be refused up front.
// Linux itself supports at most 8192 CPUs.
constexpr unsigned long long kMaxSyntheticPus = 8192;

// The product of the level arities of a synthetic description ("pack:2 core:4 pu:2" -> 16), or
// nullopt when a token is not understood (hwloc then judges the description itself).
std::optional<unsigned long long> synthetic_pu_count(const std::string& description) {
  unsigned long long total = 1;
  std::size_t pos = 0;
  while (pos < description.size()) {
    const std::size_t start = description.find_first_not_of(' ', pos);
    if (start == std::string::npos) break;
    std::size_t end = description.find(' ', start);
    if (end == std::string::npos) end = description.size();
    const std::string token = description.substr(start, end - start);
    pos = end;
    if (token.front() == '[') continue;  // memory attached to a level: no PUs of its own
    const std::size_t colon = token.find(':');
    const std::size_t digits = colon == std::string::npos ? 0 : colon + 1;
    std::size_t stop = digits;
    unsigned long long arity = 0;
    while (stop < token.size() && token[stop] >= '0' && token[stop] <= '9') {
      arity = std::min(arity * 10 + static_cast<unsigned>(token[stop] - '0'), kMaxSyntheticPus + 1);
      ++stop;
    }
    if (stop == digits) return std::nullopt;
    total = std::min(total * arity, kMaxSyntheticPus + 1);
  }
  return total;
}

Expected<TopologyPtr> new_topology(const std::string& source) {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) {
    return make_error(source + ": hwloc cannot initialise: " + std::strerror(errno));
  }
  return TopologyPtr(raw);
}

// Fixtures carry their own allowed sets; this process's affinity has nothing to do with them.
Expected<Topology> convert_fixture(hwloc_topology_t topology, const std::string& source) {
  return topology_from_hwloc(topology, hwloc_topology_get_allowed_cpuset(topology),
                             hwloc_topology_get_allowed_nodeset(topology), source);
}

// The preloaded engine loads hwloc RTLD_LOCAL, where hwloc refuses its libxml2 plugin; its
// built-in parser then reads only what lstopo writes, and stops at a comment or at the blank line
// one leaves. Fixtures carry comments that say what they describe: drop them, and the whitespace
// after them, before parsing.
std::string without_xml_comments(const std::string& text) {
  std::string out;
  std::size_t at = 0;
  while (true) {
    const std::size_t open = text.find("<!--", at);
    if (open == std::string::npos) break;
    const std::size_t close = text.find("-->", open + 4);
    if (close == std::string::npos) break;  // malformed: left for the parser to refuse
    out.append(text, at, open - at);
    at = text.find_first_not_of(" \t\r\n", close + 3);
    if (at == std::string::npos) at = text.size();
  }
  out.append(text, at, std::string::npos);
  return out;
}

}  // namespace

Expected<Topology> load_live_topology(LiveScope scope) {
  const std::string source = "this machine (hwloc)";
  Expected<TopologyPtr> topology = new_topology(source);
  if (!topology) return topology.error();
  hwloc_topology_t topo = topology->get();
  configure_lean_discovery(topo, true);
  if (hwloc_topology_load(topo) != 0) {
    return make_error(source + ": hwloc cannot discover the machine: " + std::strerror(errno));
  }
  // With INCLUDE_DISALLOWED the tree holds every PU, and the allowed cpuset is the cgroup's.
  BitmapPtr allowed(hwloc_bitmap_dup(hwloc_topology_get_allowed_cpuset(topo)));
  if (scope == LiveScope::CgroupAndAffinity) {
    BitmapPtr affinity(hwloc_bitmap_alloc());
    // The calling thread's mask is what a child or a re-exec inherits.
    if (hwloc_get_cpubind(topo, affinity.get(), HWLOC_CPUBIND_THREAD) != 0) {
      return make_error(source +
                        ": cannot read this thread's CPU affinity: " + std::strerror(errno));
    }
    hwloc_bitmap_and(allowed.get(), allowed.get(), affinity.get());
  }
  return topology_from_hwloc(topo, allowed.get(), hwloc_topology_get_allowed_nodeset(topo), source);
}

namespace {

// hwloc 2.9 dereferences NULL inside hwloc_topology_load() on some malformed XML (found by
// tests/fuzz/fuzz_hwloc_xml; tests/fuzz/corpus/hwloc_xml/regress_hwloc_segv_on_bad_xml crashes a
// plain C program using only hwloc). The file is the user's and the library runs inside their
// program, so hwloc reads it first in a child: a crash there becomes an error here, never a
// signal in the program. Only XEONRUN_TOPOLOGY=xml: pays for the fork.
Status survives_hwloc(const std::string& text, const std::string& source) {
  const pid_t child = ::fork();
  if (child < 0) return Unit{};  // cannot check: load in-process, as without the check
  if (child == 0) {
    // A crash here must end this child quietly, not run the program's crash handler (a crash
    // reporter, python's faulthandler, a sanitizer) as if the program itself had crashed.
    for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) ::signal(sig, SIG_DFL);
    hwloc_topology_t topo = nullptr;
    bool loaded = hwloc_topology_init(&topo) == 0;
    if (loaded) {
      configure_lean_discovery(topo, false);
      loaded = hwloc_topology_set_xmlbuffer(topo, text.c_str(),
                                            static_cast<int>(text.size() + 1)) == 0 &&
               hwloc_topology_load(topo) == 0;
    }
    ::_exit(loaded ? 0 : 1);  // no atexit handlers of the program, no stdio flush
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return Unit{};  // SIGCHLD ignored by the program: reaped already
  }
  if (WIFSIGNALED(status)) {
    return make_error(source + ": hwloc crashed reading it (signal " +
                      std::to_string(WTERMSIG(status)) +
                      "); not a valid hwloc XML topology (write one with lstopo --of xml FILE)");
  }
  return Unit{};
}

// hwloc 2 refuses a file that lstopo of hwloc 3 writes by default ("cannot import XML version
// 3.0"), and lstopo's plain --of xml there writes the same again. HWLOC_TOPOLOGY_EXPORT_XML_FLAG_V2
// is 2 in hwloc 3's export.h; hwloc's own tests convert with these options
// (tests/hwloc/xml/cxlmem+dax.v3tov2.options in open-mpi/hwloc).
Status check_xml_version(const std::string& text, const std::string& source) {
  const std::string marker = "<topology version=\"";
  const std::size_t at = text.find(marker);
  if (at == std::string::npos) return Unit{};
  const std::size_t start = at + marker.size();
  const std::size_t end = text.find('"', start);
  if (end == std::string::npos || end - start > 16) return Unit{};
  const std::string version = text.substr(start, end - start);
  if (version.empty() || version[0] < '3' || version[0] > '9') return Unit{};
  return make_error(
      source + ": hwloc XML version " + version + " (written by hwloc " + version.substr(0, 1) +
      "), but this hwloc reads versions 1 and 2 only; " +
      "accepted: a v2 file, written on that machine with hwloc 3's " +
      "'lstopo --of xml --export-xml-flags 2 FILE' (HWLOC_TOPOLOGY_EXPORT_XML_FLAG_V2)");
}

// The value of attribute `name` in one tag's text (quoted either way), or nullopt.
std::optional<std::string> xml_attribute(const std::string& tag, const std::string& name) {
  for (std::size_t at = tag.find(name + "="); at != std::string::npos;
       at = tag.find(name + "=", at + 1)) {
    const std::size_t quote = at + name.size() + 1;
    if (at == 0 || std::isspace(static_cast<unsigned char>(tag[at - 1])) == 0 ||
        quote >= tag.size() || (tag[quote] != '"' && tag[quote] != '\'')) {
      continue;
    }
    const std::size_t end = tag.find(tag[quote], quote + 1);
    if (end == std::string::npos) return std::nullopt;
    return tag.substr(quote + 1, end - quote - 1);
  }
  return std::nullopt;
}

// hwloc sets bit os_index of a bitmap for every PU and NUMA node it imports, before this library
// can refuse an index above kMaxSetId. A NUMA node without os_index gets index 2^32-1, and hwloc
// allocated and ORed 512 MiB nodesets for it (1-4 s and 600 MB per load, found by
// tests/fuzz/fuzz_hwloc_xml). So both are refused on the text, before hwloc reads it. hwloc reads
// the value with strtoul and keeps an unsigned, and so does this.
Status check_xml_indexes(const std::string& text, const std::string& source) {
  for (std::size_t at = text.find("<object"); at != std::string::npos;
       at = text.find("<object", at + 1)) {
    const std::size_t end = text.find('>', at);
    const std::string tag = text.substr(at, end == std::string::npos ? end : end - at);
    const std::optional<std::string> type = xml_attribute(tag, "type");
    if (!type || (*type != "PU" && *type != "NUMANode")) continue;
    const char* what = *type == "PU" ? "PU" : "NUMA node";
    const std::optional<std::string> value = xml_attribute(tag, "os_index");
    if (!value) {
      return make_error(source + ": a " + what + " has no os_index; not a valid topology");
    }
    const auto index = static_cast<unsigned>(std::strtoul(value->c_str(), nullptr, 10));
    if (index > kMaxSetId) {
      return make_error(source + ": " + what + " OS index " + std::to_string(index) +
                        " is larger than " + std::to_string(kMaxSetId) + ", the largest supported");
    }
  }
  return Unit{};
}

}  // namespace

Expected<Topology> load_hwloc_xml(const std::string& path) {
  const std::string source = "xml:" + path;
  Expected<std::string> read = read_file(path, source);
  if (!read) return read.error();
  const Expected<std::string> text = without_xml_comments(*read);
  if (Status version = check_xml_version(*text, source); !version) return version.error();
  if (Status indexes = check_xml_indexes(*text, source); !indexes) return indexes.error();
  if (Status sane = survives_hwloc(*text, source); !sane) return sane.error();
  Expected<TopologyPtr> topology = new_topology(source);
  if (!topology) return topology.error();
  hwloc_topology_t topo = topology->get();
  configure_lean_discovery(topo, false);
  // The buffer length must count the terminating NUL.
  if (hwloc_topology_set_xmlbuffer(topo, text->c_str(), static_cast<int>(text->size() + 1)) != 0 ||
      hwloc_topology_load(topo) != 0) {
    return make_error(source +
                      ": not a valid hwloc XML topology (write one with lstopo --of xml FILE)");
  }
  return convert_fixture(topo, source);
}

Expected<Topology> load_hwloc_synthetic(const std::string& description) {
  const std::string source = "synthetic:" + description;
  const std::optional<unsigned long long> pus = synthetic_pu_count(description);
  if (pus && *pus > kMaxSyntheticPus) {
    return make_error(source + ": describes more than " + std::to_string(kMaxSyntheticPus) +
                      " PUs; accepted: at most " + std::to_string(kMaxSyntheticPus) +
                      ", Linux's CPU limit");
  }
  Expected<TopologyPtr> topology = new_topology(source);
  if (!topology) return topology.error();
  hwloc_topology_t topo = topology->get();
  configure_lean_discovery(topo, false);
  if (description.empty() || hwloc_topology_set_synthetic(topo, description.c_str()) != 0 ||
      hwloc_topology_load(topo) != 0) {
    return make_error(source +
                      ": not a valid hwloc synthetic description; accepted: levels like "
                      "\"pack:2 core:4 pu:2\" or \"pack:2 numa:2 core:4 pu:2\"");
  }
  return convert_fixture(topo, source);
}

Expected<Topology> load_lscpu_file(const std::string& path) {
  const std::string source = "lscpu:" + path;
  Expected<std::string> text = read_file(path, source);
  if (!text) return text.error();
  return parse_lscpu(*text, source);
}

Expected<Topology> load_topology(const std::string& source, LiveScope scope) {
  Expected<TopologySource> parsed = parse_topology_source(source);
  if (!parsed) return parsed.error();
  Expected<Topology> loaded = make_error(std::string());
  switch (parsed->kind) {
    case TopologySource::Kind::Machine:
      return load_live_topology(scope);
    case TopologySource::Kind::Lscpu:
      loaded = load_lscpu_file(parsed->argument);
      break;
    case TopologySource::Kind::Xml:
      loaded = load_hwloc_xml(parsed->argument);
      break;
    case TopologySource::Kind::Synthetic:
      loaded = load_hwloc_synthetic(parsed->argument);
      break;
  }
  // The loaders' messages start with the source, which is the variable's value.
  if (!loaded) return make_error("XEONRUN_TOPOLOGY=" + loaded.error().message);
  return loaded;
}

}  // namespace xeonplace
