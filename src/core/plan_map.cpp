// The map of a plan (plan_map.h). One layout, two renderings: the PUs are grouped level by level
// (package, NUMA node; an L3 level is one more row of kLevels), each leaf holds cores, and each
// core its PUs in CPU order. docs/design.md §10.
#include "core/plan_map.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "core/text.h"

namespace xeonplace {
namespace {

// ---- the layout ----

// One grouping level of the picture. `key` orders and separates the groups; `label` names one.
// Levels nest in this order; a PU whose node is borrowed (NodeLink) forms a group of its own.
struct Level {
  std::uint64_t (*key)(const Pu&);
  std::string (*label)(const Pu&);
};

std::uint64_t package_key(const Pu& pu) { return pu.package; }
std::string package_label(const Pu& pu) { return "package " + std::to_string(pu.package); }
std::uint64_t node_key(const Pu& pu) {
  return (static_cast<std::uint64_t>(pu.node_link == NodeLink::None ? ~0u : pu.node) << 2) |
         static_cast<std::uint64_t>(pu.node_link);
}
std::string node_label(const Pu& pu) {
  if (pu.node_link == NodeLink::None) return "no NUMA node";
  std::string label = "node " + std::to_string(pu.node);
  return pu.node_link == NodeLink::Nearest ? label + " (nearest)" : label;
}

// A PU's L3 (last-level cache) domain, once the topology model carries one (`Pu::l3`, an
// optional id): detected at compile time, so that this file needs no change when it lands. Until
// then, and for sources that do not describe caches, every PU is in the unnamed domain, which the
// text folds away.
template <class P>
auto l3_of(const P& pu, int) -> decltype(std::optional<unsigned>(pu.l3)) {
  return pu.l3;
}
template <class P>
std::optional<unsigned> l3_of(const P&, long) {
  return std::nullopt;
}
std::uint64_t l3_key(const Pu& pu) { return l3_of(pu, 0).value_or(~0u); }
std::string l3_label(const Pu& pu) {
  const std::optional<unsigned> l3 = l3_of(pu, 0);
  return l3 ? "L3 " + std::to_string(*l3) : std::string();
}

const Level kLevels[] = {{package_key, package_label}, {node_key, node_label}, {l3_key, l3_label}};
constexpr std::size_t kLevelCount = sizeof kLevels / sizeof *kLevels;

using MapCore = std::vector<const Pu*>;  // the PUs of one core, ascending CPU ids

struct Domain {
  std::string label;
  std::vector<Domain> children;  // empty at the last level
  std::vector<MapCore> cores;    // only at the last level
};

std::size_t count_cores(const Domain& d) {
  std::size_t n = d.cores.size();
  for (const Domain& c : d.children) n += count_cores(c);
  return n;
}

std::size_t count_pus(const Domain& d) {
  std::size_t n = 0;
  for (const MapCore& core : d.cores) n += core.size();
  for (const Domain& c : d.children) n += count_pus(c);
  return n;
}

// `pus` are sorted by every level's key, then core, then CPU: each group is one run.
Domain group(std::vector<const Pu*>::const_iterator begin,
             std::vector<const Pu*>::const_iterator end, std::size_t level, std::string label) {
  Domain domain;
  domain.label = std::move(label);
  if (level == kLevelCount) {
    for (auto it = begin; it != end; ++it) {
      if (domain.cores.empty() || domain.cores.back().front()->core != (*it)->core) {
        domain.cores.emplace_back();
      }
      domain.cores.back().push_back(*it);
    }
    return domain;
  }
  const Level& l = kLevels[level];
  for (auto first = begin; first != end;) {
    auto last = std::find_if(first, end, [&](const Pu* p) { return l.key(*p) != l.key(**first); });
    domain.children.push_back(group(first, last, level + 1, l.label(**first)));
    first = last;
  }
  // A level the source did not describe (no L3 ids): its one unnamed group is no level at all.
  if (domain.children.size() == 1 && domain.children.front().label.empty()) {
    Domain only = std::move(domain.children.front());
    domain.children = std::move(only.children);
    domain.cores = std::move(only.cores);
  }
  for (Domain& child : domain.children) {
    if (child.label.empty()) child.label = "no L3 domain";  // beside named ones: say so
  }
  return domain;
}

Domain layout(const Topology& topology) {
  std::vector<const Pu*> pus;
  for (const Pu& pu : topology.pus) pus.push_back(&pu);
  auto order = [](const Pu* p) {
    std::vector<std::uint64_t> keys;
    for (const Level& l : kLevels) keys.push_back(l.key(*p));
    keys.push_back(p->core);
    keys.push_back(p->cpu);
    return keys;
  };
  std::stable_sort(pus.begin(), pus.end(),
                   [&](const Pu* a, const Pu* b) { return order(a) < order(b); });
  return group(pus.begin(), pus.end(), 0, topology.source);
}

std::size_t max_threads(const Domain& d) {
  std::size_t n = 1;
  for (const MapCore& core : d.cores) n = std::max(n, core.size());
  for (const Domain& c : d.children) n = std::max(n, max_threads(c));
  return n;
}

// ---- marks ----

const char* kind_name(CpuMarkKind kind) {
  switch (kind) {
    case CpuMarkKind::Rank:
      return "rank";
    case CpuMarkKind::Free:
      return "free";
    case CpuMarkKind::Reserved:
      return "reserved";
    case CpuMarkKind::Offline:
      return "offline";
    case CpuMarkKind::NotAllowed:
      break;
  }
  return "not allowed";
}

char glyph(const CpuMark& mark) {
  switch (mark.kind) {
    case CpuMarkKind::Rank:
      return rank_glyph(mark.rank);
    case CpuMarkKind::Free:
      return '.';
    case CpuMarkKind::Reserved:
      return 'r';
    case CpuMarkKind::Offline:
      return 'x';
    case CpuMarkKind::NotAllowed:
      break;
  }
  return '-';
}

std::string describe(const CpuMark& mark) {
  if (mark.kind == CpuMarkKind::Rank) return "rank " + std::to_string(mark.rank);
  return kind_name(mark.kind);
}

// ---- text ----

// Six background colours, then the same six bright: neighbouring ranks never share one.
const char* rank_colour(unsigned rank) {
  static const char* const kColours[] = {"30;42",  "30;46",  "30;43",  "30;45",
                                         "30;44",  "30;41",  "30;102", "30;106",
                                         "30;103", "30;105", "30;104", "30;101"};
  return kColours[rank % (sizeof kColours / sizeof *kColours)];
}

const char* mark_colour(const CpuMark& mark) {
  switch (mark.kind) {
    case CpuMarkKind::Rank:
      return rank_colour(mark.rank);
    case CpuMarkKind::Free:
      return "2";
    case CpuMarkKind::Reserved:
      return "1;33";
    case CpuMarkKind::Offline:
      return "31";
    case CpuMarkKind::NotAllowed:
      break;
  }
  return "2";
}

std::string painted(const std::string& text, const char* colour, bool on) {
  if (!on) return text;
  return std::string("\x1b[") + colour + "m" + text + "\x1b[0m";
}

struct TextContext {
  const Topology& topology;
  const MapPlan& plan;
  const MapStyle& style;
  std::size_t cell;       // columns of one core: its marks and a space
  std::size_t cpu_width;  // digits of the largest CPU id
};

std::string padded_left(const std::string& text, std::size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

// Rows of cores: "    12 │ 00 00 11 11 ..", the number being the first CPU of the row.
void text_cores(const TextContext& c, const std::vector<MapCore>& cores, std::size_t indent,
                std::string& out) {
  const std::size_t prefix = indent + c.cpu_width + 3;
  const std::size_t room = c.style.width > prefix ? c.style.width - prefix : c.cell;
  std::size_t per_row = std::max<std::size_t>(1, room / c.cell);
  if (per_row >= 10) per_row -= per_row % 5;  // rows of 5s read like a ruler
  for (std::size_t i = 0; i < cores.size(); i += per_row) {
    out += std::string(indent, ' ') +
           padded_left(std::to_string(cores[i].front()->cpu), c.cpu_width) + " | ";
    const std::size_t end = std::min(cores.size(), i + per_row);
    for (std::size_t k = i; k < end; ++k) {
      for (const Pu* pu : cores[k]) {
        const CpuMark mark = mark_of(c.topology, c.plan, *pu);
        out += painted(std::string(1, glyph(mark)), mark_colour(mark), c.style.colour);
      }
      if (k + 1 < end) out += std::string(c.cell - cores[k].size(), ' ');
    }
    out += "\n";
  }
}

std::string counts(const Domain& d) {
  const std::size_t cores = count_cores(d);
  const std::size_t pus = count_pus(d);
  return std::to_string(cores) + (cores == 1 ? " core" : " cores") +
         (pus == cores ? std::string() : ", " + std::to_string(pus) + " CPUs");
}

// A level with a single group is folded into its parent's heading ("package 0 / node 0").
void text_domain(const TextContext& c, const Domain& d, std::size_t indent, std::string label,
                 std::string& out) {
  if (d.children.size() == 1) {
    const Domain& only = d.children.front();
    const bool unnamed = only.label.empty() || label.empty();
    text_domain(c, only, indent, unnamed ? label + only.label : label + " / " + only.label, out);
    return;
  }
  out += std::string(indent, ' ') + label + "  (" + counts(d) + ")\n";
  for (const Domain& child : d.children) text_domain(c, child, indent + 2, child.label, out);
  if (!d.cores.empty()) text_cores(c, d.cores, indent + 2, out);
}

// `head` + `list` + `tail`, the list broken after a comma where the line would pass `width`;
// continuation lines are indented to the list's column. `hidden` bytes of `head` take no column
// (colour codes).
std::string wrapped(const std::string& head, std::size_t hidden, const std::string& list,
                    const std::string& tail, std::size_t width) {
  const std::size_t indent = head.size() - hidden;
  std::string out = head;
  std::size_t column = indent;
  for (std::string_view piece : split(list, ',')) {
    const bool last = piece.data() + piece.size() == list.data() + list.size();
    const std::string item = std::string(piece) + (last ? tail : ",");
    if (column > indent && column + item.size() > width) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
    }
    out += item;
    column += item.size();
  }
  return out + "\n";
}

std::string legend_text(const MapPlan& plan, const MapStyle& style) {
  const bool colour = style.colour;
  std::string out = "marks: ";
  out += painted("0", rank_colour(0), colour) + "-9 a-z A-Z rank   ";
  for (CpuMarkKind kind :
       {CpuMarkKind::Free, CpuMarkKind::Reserved, CpuMarkKind::Offline, CpuMarkKind::NotAllowed}) {
    const CpuMark mark{kind, 0};
    out += painted(std::string(1, glyph(mark)), mark_colour(mark), colour) + " " + kind_name(kind) +
           (kind == CpuMarkKind::NotAllowed ? "\n" : "   ");
  }
  for (const MapRank& r : plan.ranks) {
    const CpuMark mark{CpuMarkKind::Rank, r.rank};
    const std::string glyph_text = painted(std::string(1, glyph(mark)), mark_colour(mark), colour);
    out +=
        wrapped(glyph_text + " rank " + std::to_string(r.rank) + "  CPUs ", glyph_text.size() - 1,
                r.cpus.format(),
                "  memory " + (r.mems.empty() ? std::string("-") : r.mems.format()), style.width);
  }
  if (!plan.reserved.empty())
    out += wrapped("reserved CPUs ", 0, plan.reserved.format(), "", style.width);
  return out;
}

// ---- SVG ----

constexpr int kPad = 6;
constexpr int kHeading = 18;
constexpr int kPuSize = 16;
constexpr int kCoresPerRow = 16;

struct Box {
  int w = 0;
  int h = 0;
};

int core_width(std::size_t threads) { return 4 + static_cast<int>(threads) * (kPuSize + 2); }
constexpr int kCoreHeight = kPuSize + 6;

// A heading's width at 12px sans-serif: about 7px a character.
int heading_width(const Domain& d) {
  return static_cast<int>(d.label.size() + counts(d).size() + 3) * 7 + 2 * kPad;
}

Box measure(const Domain& d, std::size_t threads) {
  Box box{std::max(160, heading_width(d)), kHeading};
  for (const Domain& child : d.children) {
    const Box inner = measure(child, threads);
    box.w = std::max(box.w, inner.w + 2 * kPad);
    box.h += inner.h + kPad;
  }
  if (!d.cores.empty()) {
    const int per_row = std::min<int>(kCoresPerRow, static_cast<int>(d.cores.size()));
    const int rows = (static_cast<int>(d.cores.size()) + kCoresPerRow - 1) / kCoresPerRow;
    box.w = std::max(box.w, per_row * (core_width(threads) + 2) + 2 * kPad);
    box.h += rows * (kCoreHeight + 2) + kPad;
  }
  return box;
}

std::string escaped(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '<')
      out += "&lt;";
    else if (ch == '>')
      out += "&gt;";
    else if (ch == '&')
      out += "&amp;";
    else if (ch == '"')
      out += "&quot;";
    else
      out += ch;
  }
  return out;
}

// Hues spread by the golden angle: any two ranks near each other differ clearly.
std::string fill_of(const CpuMark& mark) {
  switch (mark.kind) {
    case CpuMarkKind::Rank:
      return "hsl(" + std::to_string((mark.rank * 137 + 120) % 360) + ",70%,62%)";
    case CpuMarkKind::Free:
      return "#ffffff";
    case CpuMarkKind::Reserved:
      return "#ffd54f";
    case CpuMarkKind::Offline:
      return "#9e9e9e";
    case CpuMarkKind::NotAllowed:
      break;
  }
  return "#e0e0e0";
}

std::string num(int v) { return std::to_string(v); }

struct SvgContext {
  const Topology& topology;
  const MapPlan& plan;
  std::size_t threads;
};

void svg_pu(const SvgContext& c, const Pu& pu, int x, int y, std::string& out) {
  const CpuMark mark = mark_of(c.topology, c.plan, pu);
  out += "<g><title>CPU " + std::to_string(pu.cpu) + ": " + describe(mark) + "</title>";
  out += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(kPuSize) +
         "\" height=\"" + num(kPuSize) + "\" fill=\"" + fill_of(mark) + "\" stroke=\"#555\"/>";
  out += "<text x=\"" + num(x + kPuSize / 2) + "\" y=\"" + num(y + kPuSize - 4) +
         "\" text-anchor=\"middle\" font-size=\"10\">" + glyph(mark) + "</text></g>\n";
}

void svg_domain(const SvgContext& c, const Domain& d, int x, int y, int depth, std::string& out) {
  const Box box = measure(d, c.threads);
  static const char* const kFills[] = {"#f3f6fb", "#e8eef7", "#dde6f2", "#d2deee"};
  out += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(box.w) + "\" height=\"" +
         num(box.h) + "\" rx=\"4\" fill=\"" + kFills[depth % 4] + "\" stroke=\"#7a8ca8\"/>\n";
  out += "<text x=\"" + num(x + kPad) + "\" y=\"" + num(y + 13) + "\" font-size=\"12\">" +
         escaped(d.label) + " (" + escaped(counts(d)) + ")</text>\n";
  int cy = y + kHeading;
  for (const Domain& child : d.children) {
    svg_domain(c, child, x + kPad, cy, depth + 1, out);
    cy += measure(child, c.threads).h + kPad;
  }
  for (std::size_t i = 0; i < d.cores.size(); ++i) {
    const int cx = x + kPad + static_cast<int>(i % kCoresPerRow) * (core_width(c.threads) + 2);
    const int ry = cy + static_cast<int>(i / kCoresPerRow) * (kCoreHeight + 2);
    out += "<rect x=\"" + num(cx) + "\" y=\"" + num(ry) + "\" width=\"" +
           num(core_width(d.cores[i].size())) + "\" height=\"" + num(kCoreHeight) +
           "\" fill=\"#fafafa\" stroke=\"#9aa\"/>\n";
    for (std::size_t t = 0; t < d.cores[i].size(); ++t) {
      svg_pu(c, *d.cores[i][t], cx + 3 + static_cast<int>(t) * (kPuSize + 2), ry + 3, out);
    }
  }
}

void svg_legend(const MapPlan& plan, int x, int y, std::string& out) {
  std::vector<std::pair<CpuMark, std::string>> entries;
  for (const MapRank& r : plan.ranks) {
    entries.push_back({{CpuMarkKind::Rank, r.rank},
                       "rank " + std::to_string(r.rank) + ": CPUs " + r.cpus.format() +
                           ", memory " + (r.mems.empty() ? "-" : r.mems.format())});
  }
  for (CpuMarkKind kind :
       {CpuMarkKind::Free, CpuMarkKind::Reserved, CpuMarkKind::Offline, CpuMarkKind::NotAllowed}) {
    entries.push_back({{kind, 0}, kind_name(kind)});
  }
  for (const auto& [mark, text] : entries) {
    out += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(kPuSize) +
           "\" height=\"" + num(kPuSize) + "\" fill=\"" + fill_of(mark) + "\" stroke=\"#555\"/>";
    out += "<text x=\"" + num(x + kPuSize / 2) + "\" y=\"" + num(y + kPuSize - 4) +
           "\" text-anchor=\"middle\" font-size=\"10\">" + glyph(mark) + "</text>";
    out += "<text x=\"" + num(x + kPuSize + 6) + "\" y=\"" + num(y + kPuSize - 4) +
           "\" font-size=\"12\">" + escaped(text) + "</text>\n";
    y += kPuSize + 4;
  }
}

}  // namespace

char rank_glyph(unsigned rank) {
  if (rank < 10) return static_cast<char>('0' + rank);
  if (rank < 36) return static_cast<char>('a' + (rank - 10));
  if (rank < 62) return static_cast<char>('A' + (rank - 36));
  return '#';
}

CpuMark mark_of(const Topology& topology, const MapPlan& plan, const Pu& pu) {
  // A rank's helper cores are in its affinity but reserved: they show as reserved.
  if (plan.reserved.contains(pu.cpu)) return {CpuMarkKind::Reserved, 0};
  for (const MapRank& r : plan.ranks) {
    if (r.cpus.contains(pu.cpu)) return {CpuMarkKind::Rank, r.rank};
  }
  if (!pu.online) return {CpuMarkKind::Offline, 0};
  if (!topology.usable(pu)) return {CpuMarkKind::NotAllowed, 0};
  return {CpuMarkKind::Free, 0};
}

std::string map_text(const Topology& topology, const MapPlan& plan, const MapStyle& style) {
  const Domain machine = layout(topology);
  const unsigned largest = topology.pus.empty() ? 0 : topology.pus.back().cpu;
  MapStyle fitted = style;
  fitted.width = std::max(40u, style.width);
  const TextContext c{topology, plan, fitted, max_threads(machine) + 1,
                      std::to_string(largest).size()};
  const std::string ranks =
      ", " + std::to_string(plan.nranks) + (plan.nranks == 1 ? " rank" : " ranks");
  std::string source = topology.source;
  const std::size_t room = fitted.width - std::min<std::size_t>(fitted.width, 9 + ranks.size());
  if (source.size() > room) source = source.substr(0, room > 3 ? room - 3 : 0) + "...";
  std::string out = "machine: " + source + ranks + "\n";
  out += "each group of marks is a core, each mark a CPU; a row starts at the CPU shown\n";
  text_domain(c, machine, 0, "machine", out);
  out += legend_text(plan, fitted);
  return out;
}

std::string map_svg(const Topology& topology, const MapPlan& plan) {
  const Domain machine = layout(topology);
  const SvgContext c{topology, plan, max_threads(machine)};
  const Box box = measure(machine, c.threads);
  const int legend_h = static_cast<int>(plan.ranks.size() + 4) * (kPuSize + 4) + 2 * kPad;
  const int width = std::max(box.w, 420) + 2 * kPad;
  const int height = box.h + legend_h + 2 * kPad;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" +
         num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
         "\" font-family=\"sans-serif\">\n";
  out +=
      "<title>" +
      escaped("xeonplace map: " + topology.source + ", " + std::to_string(plan.nranks) + " ranks") +
      "</title>\n";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  svg_domain(c, machine, kPad, kPad, 0, out);
  svg_legend(plan, kPad, box.h + 2 * kPad, out);
  out += "</svg>\n";
  return out;
}

}  // namespace xeonplace
