#include "core/plan_format.h"

#include "core/text.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

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
  struct Row {
    std::string rank, cpus, mems, omp, warnings;
  };
  std::vector<Row> rows;
  rows.push_back({"rank", "cpus", "mems", "omp", "warnings"});
  for (const RankPlacement& r : plan.ranks) {
    rows.push_back({std::to_string(r.rank), r.cpus.format(), r.mems.format(),
                    std::to_string(r.omp_threads), join(r.warnings, "; ")});
  }
  std::size_t w_rank = 0, w_cpus = 0, w_mems = 0, w_omp = 0;
  for (const Row& row : rows) {
    w_rank = std::max(w_rank, row.rank.size());
    w_cpus = std::max(w_cpus, row.cpus.size());
    w_mems = std::max(w_mems, row.mems.size());
    w_omp = std::max(w_omp, row.omp.size());
  }
  std::string out;
  if (plan.ranks.size() != plan.nranks) {
    out += std::to_string(plan.nranks) + (plan.nranks == 1 ? " rank" : " ranks") +
           " planned; showing " + std::to_string(plan.ranks.size()) + "\n";
  }
  for (const Row& row : rows) {
    std::string line = pad(row.rank, w_rank) + "  " + pad(row.cpus, w_cpus) + "  " +
                       pad(row.mems, w_mems) + "  " + pad(row.omp, w_omp) + "  " + row.warnings;
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
    out += ", \"mems\": ";
    append_ids(out, r.mems);
    out += ", \"omp_threads\": " + std::to_string(r.omp_threads) + ", \"env\": {";
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
