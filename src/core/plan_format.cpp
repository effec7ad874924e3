#include "core/plan_format.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "core/text.h"

namespace xeonplace {
namespace {

// JSON string escaping (RFC 8259 §7): quotes, backslashes and every control character; other bytes,
// including UTF-8 sequences, pass through unchanged.
void append_json_string(std::string& out, const std::string& text) {
  out += '"';
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void append_ids(std::string& out, const CpuSet& set) {
  out += '[';
  bool first = true;
  for (unsigned id : set.ids()) {
    if (!first) out += ',';
    first = false;
    out += std::to_string(id);
  }
  out += ']';
}

void append_strings(std::string& out, const std::vector<std::string>& items) {
  out += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    append_json_string(out, items[i]);
  }
  out += ']';
}

std::string pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

}  // namespace

std::string format_plan_table(const Plan& plan) {
  // The helpers column only when some rank keeps helper cores (XEONRUN_HELPER_CORES).
  const bool helpers = std::any_of(plan.ranks.begin(), plan.ranks.end(),
                                   [](const RankPlacement& r) { return !r.helper_cpus.empty(); });
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"rank", "cpus", "mems", "omp", "domain"});
  if (helpers) rows.back().push_back("helpers");
  rows.back().push_back("warnings");
  for (const RankPlacement& r : plan.ranks) {
    rows.push_back({std::to_string(r.rank), r.cpus.format(), r.mems.format(),
                    std::to_string(r.omp_threads), r.domain});
    if (helpers) rows.back().push_back(r.helper_cpus.format());
    rows.back().push_back(join(r.warnings, "; "));
  }
  std::vector<std::size_t> widths(rows.front().size() - 1, 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < widths.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  if (plan.ranks.size() != plan.nranks) {
    out += std::to_string(plan.nranks) + (plan.nranks == 1 ? " rank" : " ranks") +
           " planned; showing " + std::to_string(plan.ranks.size()) + "\n";
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < widths.size(); ++i) line += pad(row[i], widths[i]) + "  ";
    line += row.back();
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  for (const std::string& warning : plan.warnings) out += "warning: " + warning + "\n";
  return out;
}

std::string format_plan_json(const Plan& plan) {
  std::string out = "{\"nranks\": " + std::to_string(plan.nranks) + ", \"ranks\": [";
  for (std::size_t i = 0; i < plan.ranks.size(); ++i) {
    const RankPlacement& r = plan.ranks[i];
    if (i) out += ", ";
    out += "{\"rank\": " + std::to_string(r.rank) + ", \"cpus\": ";
    append_ids(out, r.cpus);
    if (!r.helper_cpus.empty()) {
      out += ", \"helper_cpus\": ";
      append_ids(out, r.helper_cpus);
    }
    out += ", \"mems\": ";
    append_ids(out, r.mems);
    out += ", \"omp_threads\": " + std::to_string(r.omp_threads) + ", \"domain\": ";
    append_json_string(out, r.domain);
    out += ", \"env\": {";
    for (std::size_t j = 0; j < r.env.size(); ++j) {
      if (j) out += ", ";
      append_json_string(out, r.env[j].name);
      out += ": ";
      append_json_string(out, r.env[j].value);
    }
    out += "}, \"warnings\": ";
    append_strings(out, r.warnings);
    out += '}';
  }
  out += "], \"warnings\": ";
  append_strings(out, plan.warnings);
  out += "}\n";
  return out;
}

}  // namespace xeonplace
