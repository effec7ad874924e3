// The placement report (report.h, docs/design.md §10).
#include "core/report.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/options.h"
#include "core/text.h"

namespace xeonplace {
namespace {

// A decimal number at the start of `text`; nullopt when there is none.
std::optional<std::uint64_t> leading_number(std::string_view text) {
  std::uint64_t value = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9' && i < 19; ++i) {
    value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
  }
  if (i == 0) return std::nullopt;
  return value;
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string size_text(std::uint64_t bytes) {
  if (bytes >= (1ull << 30)) return fixed(static_cast<double>(bytes) / (1ull << 30), 1) + " GiB";
  if (bytes >= (1ull << 20)) return fixed(static_cast<double>(bytes) / (1ull << 20), 1) + " MiB";
  return fixed(static_cast<double>(bytes) / 1024, 0) + " KiB";
}

std::string nodes_text(const CpuSet& mems) {
  return (mems.count() == 1 ? "node " : "nodes ") + (mems.empty() ? "-" : mems.format());
}

std::string ids_json(const CpuSet& set) {
  std::vector<std::string> ids;
  for (unsigned id : set.ids()) ids.push_back(std::to_string(id));
  return "[" + join(ids, ",") + "]";
}

// The value after `"key": ` in a report_json line, up to the next ',' or '}' outside brackets.
std::optional<std::string_view> json_field(std::string_view line, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\": ";
  const auto at = line.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(at + needle.size());
  int depth = 0;
  std::size_t end = 0;
  for (; end < rest.size(); ++end) {
    const char c = rest[end];
    if (c == '[' || c == '{') ++depth;
    if ((c == ']' || c == '}') && depth-- == 0) break;
    if (c == ',' && depth == 0) break;
  }
  return rest.substr(0, end);
}

std::optional<std::uint64_t> json_number(std::string_view line, std::string_view key) {
  const auto field = json_field(line, key);
  if (!field) return std::nullopt;
  return leading_number(*field);
}

}  // namespace

ReportWanted report_wanted(const EnvMap& env) {
  ReportWanted wanted;
  for (const char* name : {"XEONRUN_REPORT", "XEONRUN_REPORT_FILE"}) {
    const OptionSpec* spec = find_option(name);
    const auto value = lookup(env, name);
    Config config;
    if (spec == nullptr || !value || !spec->parse(*spec, *value, config)) continue;
    if (config.report) wanted.line = true;
    if (!config.report_file.empty()) wanted.file = config.report_file;
  }
  return wanted;
}

std::map<unsigned, std::uint64_t> node_bytes_of_numa_maps(std::string_view text) {
  std::map<unsigned, std::uint64_t> bytes;
  for (std::string_view line : split(text, '\n')) {
    if (line.find(" file=") != std::string_view::npos) continue;
    std::uint64_t page_kb = 4;
    std::map<unsigned, std::uint64_t> pages;
    for (std::string_view word : split(line, ' ')) {
      if (starts_with(word, "kernelpagesize_kB=")) {
        page_kb = leading_number(word.substr(18)).value_or(4);
      } else if (word.size() > 3 && word[0] == 'N' && word.find('=') != std::string_view::npos) {
        const auto node = leading_number(word.substr(1));
        const auto count = leading_number(word.substr(word.find('=') + 1));
        if (node && count && *node < (1u << 20)) pages[static_cast<unsigned>(*node)] += *count;
      }
    }
    for (const auto& [node, count] : pages) bytes[node] += count * page_kb * 1024;
  }
  return bytes;
}

std::optional<std::uint64_t> migrations_of_sched(std::string_view text) {
  std::optional<std::uint64_t> total;
  for (std::string_view line : split(text, '\n')) {
    if (!starts_with(line, "se.nr_migrations")) continue;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (const auto n = leading_number(value)) total = total.value_or(0) + *n;
  }
  return total;
}

std::optional<double> local_share(const RankReport& report) {
  if (!report.pages_known) return std::nullopt;
  std::uint64_t total = 0;
  std::uint64_t local = 0;
  for (const auto& [node, bytes] : report.node_bytes) {
    total += bytes;
    if (report.mems.contains(node)) local += bytes;
  }
  if (total == 0) return std::nullopt;
  return static_cast<double>(local) / static_cast<double>(total);
}

std::string report_line(const RankReport& r) {
  std::string line = "rank " + std::to_string(r.rank) + ": cpu " +
                     (r.cpu_seconds ? fixed(*r.cpu_seconds, 3) + "s" : std::string("?"));
  line += ", " + (r.involuntary_switches ? std::to_string(*r.involuntary_switches) : "?") +
          " involuntary switches";
  line += ", " + (r.migrations ? std::to_string(*r.migrations) : "?") + " migrations";
  const auto share = local_share(r);
  if (!share) return line + ", pages on " + nodes_text(r.mems) + ": unknown";
  std::uint64_t total = 0;
  for (const auto& entry : r.node_bytes) total += entry.second;
  return line + ", " + fixed(*share * 100, 1) + "% of " + size_text(total) + " on " +
         nodes_text(r.mems);
}

std::string report_warning(const RankReport& r) {
  const auto share = local_share(r);
  if (!share || *share >= kLocalShareWarning) return {};
  std::vector<std::string> where;
  for (const auto& [node, bytes] : r.node_bytes) {
    if (bytes > 0) where.push_back("node " + std::to_string(node) + " " + size_text(bytes));
  }
  return "rank " + std::to_string(r.rank) + ": only " + fixed(*share * 100, 1) +
         "% of its pages are on its " + nodes_text(r.mems) + " (" + join(where, ", ") + ")";
}

std::string report_json(const RankReport& r) {
  std::vector<std::string> nodes;
  for (const auto& [node, bytes] : r.node_bytes) {
    nodes.push_back("\"" + std::to_string(node) + "\": " + std::to_string(bytes));
  }
  const auto share = local_share(r);
  return "{\"rank\": " + std::to_string(r.rank) + ", \"pid\": " + std::to_string(r.pid) +
         ", \"cpus\": " + ids_json(r.cpus) + ", \"mems\": " + ids_json(r.mems) +
         ", \"cpu_seconds\": " + (r.cpu_seconds ? fixed(*r.cpu_seconds, 6) : "null") +
         ", \"involuntary_switches\": " +
         (r.involuntary_switches ? std::to_string(*r.involuntary_switches) : "null") +
         ", \"migrations\": " + (r.migrations ? std::to_string(*r.migrations) : "null") +
         ", \"node_bytes\": " + (r.pages_known ? "{" + join(nodes, ", ") + "}" : "null") +
         ", \"local_share\": " + (share ? fixed(*share, 4) : "null") + "}\n";
}

std::optional<RankReport> parse_report_json(std::string_view line) {
  RankReport r;
  const auto rank = json_number(line, "rank");
  const auto pid = json_number(line, "pid");
  const auto cpus = json_field(line, "cpus");
  const auto mems = json_field(line, "mems");
  if (!rank || !pid || !cpus || !mems || !starts_with(line, "{")) return std::nullopt;
  r.rank = static_cast<unsigned>(*rank);
  r.pid = static_cast<long>(*pid);
  for (auto [text, set] : {std::pair{*cpus, &r.cpus}, std::pair{*mems, &r.mems}}) {
    if (text.size() < 2) return std::nullopt;
    for (std::string_view id : split(text.substr(1, text.size() - 2), ',')) {
      if (const auto n = leading_number(id); n && *n <= kMaxSetId) set->add(unsigned(*n));
    }
  }
  if (const auto field = json_field(line, "cpu_seconds"); field && *field != "null") {
    r.cpu_seconds = std::strtod(std::string(*field).c_str(), nullptr);
  }
  if (const auto n = json_number(line, "involuntary_switches")) r.involuntary_switches = long(*n);
  r.migrations = json_number(line, "migrations");
  const auto nodes = json_field(line, "node_bytes");
  r.pages_known = nodes && starts_with(*nodes, "{");
  if (r.pages_known) {
    const std::string_view inner = nodes->substr(1, nodes->size() - 2);
    for (std::string_view entry : split(inner, ',')) {
      while (!entry.empty() && (entry.front() == ' ' || entry.front() == '"'))
        entry.remove_prefix(1);
      const auto node = leading_number(entry);
      const auto colon = entry.find(':');
      if (!node || colon == std::string_view::npos) continue;
      std::string_view value = entry.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (const auto bytes = leading_number(value)) r.node_bytes[unsigned(*node)] = *bytes;
    }
  }
  return r;
}

}  // namespace xeonplace
