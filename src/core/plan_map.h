// A picture of a plan on its machine (docs/design.md §10): packages, NUMA nodes and the
// cores of each with their SMT siblings, every CPU marked by the rank that gets it, or as free,
// reserved, offline or not allowed. As text for a terminal (80 columns, ANSI colour optional) and
// as SVG for a browser. Pure: the topology and the plan in, text out.
#pragma once

#include <string>
#include <vector>

#include "core/cpuset.h"
#include "core/topology.h"

namespace xeonplace {

struct MapRank {
  unsigned rank = 0;
  CpuSet cpus;
  CpuSet mems;
};

// What the map shows on the machine: each rank's CPUs, and the CPUs the plan keeps back (the
// ranks' helper cores, XEONRUN_HELPER_CORES: in a rank's affinity, shown as reserved).
struct MapPlan {
  unsigned nranks = 0;
  std::vector<MapRank> ranks;
  CpuSet reserved;
};

struct MapStyle {
  unsigned width = 80;  // columns the text may use
  bool colour = false;  // ANSI colours (a terminal without NO_COLOR)
};

// How one CPU is shown.
enum class CpuMarkKind { Rank, Free, Reserved, Offline, NotAllowed };
struct CpuMark {
  CpuMarkKind kind = CpuMarkKind::Free;
  unsigned rank = 0;  // for Rank
};
CpuMark mark_of(const Topology& topology, const MapPlan& plan, const Pu& pu);

// The one character of a rank: 0-9, then a-z, then A-Z, then '#' for rank 62 and beyond.
char rank_glyph(unsigned rank);

// The text map, ending with a newline; no line is wider than style.width (down to 40 columns).
std::string map_text(const Topology& topology, const MapPlan& plan, const MapStyle& style);

// A standalone SVG document of the same map.
std::string map_svg(const Topology& topology, const MapPlan& plan);

}  // namespace xeonplace
