// topology_facts xml:FILE: the machine facts of a fixture as JSON, loaded by the project's own
// loader, for tools/golden.py's invariant checks (which never trust hand-written expectations):
// {"pus": [{"cpu", "core", "package", "node", "l3" (null: no cache information), "link",
// "efficient", "usable"}], "nodes": [{"id", "allowed",
// "cpus"}], "allowed_mems": [...]}.
#include <cstdio>
#include <string>

#include "core/topology.h"
#include "sys/topology_source.h"

namespace {

const char* link_name(xeonplace::NodeLink link) {
  switch (link) {
    case xeonplace::NodeLink::Own:
      return "own";
    case xeonplace::NodeLink::Nearest:
      return "nearest";
    case xeonplace::NodeLink::None:
      break;
  }
  return "none";
}

std::string ids_json(const xeonplace::CpuSet& set) {
  std::string out = "[";
  for (unsigned id : set.ids()) out += (out.size() > 1 ? "," : "") + std::to_string(id);
  return out + "]";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: topology_facts xml:FILE|lscpu:FILE|synthetic:DESC\n");
    return 2;
  }
  auto topology = xeonplace::load_topology(argv[1]);
  if (!topology) {
    std::fprintf(stderr, "topology_facts: %s\n", topology.error().message.c_str());
    return 2;
  }
  std::string out = "{\"pus\": [";
  bool first = true;
  for (const xeonplace::Pu& pu : topology->pus) {
    out += std::string(first ? "" : ", ") + "{\"cpu\": " + std::to_string(pu.cpu) +
           ", \"core\": " + std::to_string(pu.core) +
           ", \"package\": " + std::to_string(pu.package) +
           ", \"node\": " + std::to_string(pu.node) +
           ", \"l3\": " + (pu.l3 ? std::to_string(*pu.l3) : std::string("null")) +
           ", \"link\": \"" + link_name(pu.node_link) +
           "\", \"efficient\": " + (pu.kind == xeonplace::CpuKind::Efficient ? "true" : "false") +
           ", \"usable\": " + (topology->usable(pu) ? "true" : "false") + "}";
    first = false;
  }
  out += "], \"nodes\": [";
  first = true;
  for (const xeonplace::NumaNode& node : topology->nodes) {
    out += std::string(first ? "" : ", ") + "{\"id\": " + std::to_string(node.id) +
           ", \"allowed\": " + (node.allowed ? "true" : "false") +
           ", \"cpus\": " + ids_json(node.cpus) + "}";
    first = false;
  }
  out += "], \"allowed_mems\": " + ids_json(topology->allowed_mems) + "}\n";
  std::fputs(out.c_str(), stdout);
  return 0;
}
