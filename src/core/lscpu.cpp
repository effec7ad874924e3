#include "core/lscpu.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <vector>

#include "core/option_values.h"
#include "core/text.h"

namespace xeonplace {
namespace {

constexpr const char* kAccepted =
    "accepted: the output of lscpu --parse=CPU,Core,Socket,Node (optionally with ,Online and "
    ",Cache)";

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Strict decimal id: digits only and small enough for a CpuSet.
std::optional<unsigned> parse_id(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  unsigned long long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > kMaxSetId) return std::nullopt;
  return static_cast<unsigned>(value);
}

// Where each column we use sits in a row. lscpu names the columns in its last comment line
// ("# CPU,Core,Socket,Node" or, for plain -p, "# CPU,Core,Socket,Node,,L1d,L1i,L2,L3").
struct Columns {
  std::size_t count = 4;
  std::size_t cpu = 0;
  std::size_t core = 1;
  std::size_t socket = 2;
  std::optional<std::size_t> node = 3;
  std::optional<std::size_t> online;
  // The L3 cache id: its own column ("L3", what lscpu -p and --parse=...,Cache print), or one part
  // of a column like "L1d:L1i:L2:L3" (older util-linux).
  std::optional<std::size_t> l3;
  std::optional<std::size_t> l3_part;
  std::string names = "CPU,Core,Socket,Node";
};

void find_l3(std::size_t column, const std::string& name, Columns& columns) {
  const std::vector<std::string_view> parts = split(name, ':');
  for (std::size_t part = 0; part < parts.size(); ++part) {
    if (parts[part] != "L3") continue;
    columns.l3 = column;
    if (parts.size() > 1) columns.l3_part = part;
  }
}

// A header is a comment whose text is a comma list starting with CPU; prose comments have spaces.
std::optional<Columns> header_columns(std::string_view comment) {
  std::string_view body = trim(comment.substr(1));
  if (body.empty() || body.find_first_of(" \t") != std::string_view::npos) return std::nullopt;
  const std::vector<std::string_view> names = split(body, ',');
  if (upper(names.front()) != "CPU") return std::nullopt;
  Columns columns;
  columns.count = names.size();
  columns.names = printable(body);  // quoted in errors: one line, cut
  columns.node.reset();
  std::optional<std::size_t> core;
  std::optional<std::size_t> socket;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string name = upper(names[i]);
    if (name == "CORE") core = i;
    if (name == "SOCKET") socket = i;
    if (name == "NODE") columns.node = i;
    if (name == "ONLINE") columns.online = i;
    find_l3(i, name, columns);
  }
  // Without Core or Socket the dump cannot describe the machine; report it with the data lines.
  columns.core = core.value_or(names.size());
  columns.socket = socket.value_or(names.size());
  return columns;
}

struct Row {
  Pu pu;
  bool core_known = true;
  std::size_t line = 0;
};

}  // namespace

Expected<Topology> parse_lscpu(std::string_view text, const std::string& source) {
  Columns columns;
  std::vector<Row> rows;
  std::map<unsigned, std::size_t> line_of_cpu;
  std::map<unsigned, std::pair<unsigned, std::size_t>> socket_of_core;  // core -> socket, line

  const std::vector<std::string_view> lines = split(text, '\n');
  for (std::size_t index = 0; index < lines.size(); ++index) {
    const std::size_t line_no = index + 1;
    const std::string_view line = trim(lines[index]);
    const std::string where = source + ":" + std::to_string(line_no) + ": ";
    if (line.empty()) continue;
    if (line.front() == '#') {
      if (std::optional<Columns> found = header_columns(line)) {
        if (!rows.empty()) {
          return make_error(where + "column header '" + printable(line) + "' after CPU lines; " +
                            kAccepted);
        }
        columns = *found;
        if (columns.core >= columns.count || columns.socket >= columns.count) {
          return make_error(where + "column header '" + printable(line) +
                            "' lacks Core or Socket; " + kAccepted);
        }
      }
      continue;
    }

    const std::vector<std::string_view> fields = split(line, ',');
    if (fields.size() != columns.count) {
      return make_error(where + "expected " + std::to_string(columns.count) + " fields (" +
                        columns.names + "), got " + std::to_string(fields.size()) + " in '" +
                        printable(line) + "'; " + kAccepted);
    }
    auto number = [&](std::size_t column, const char* name) -> Expected<unsigned> {
      if (std::optional<unsigned> id = parse_id(fields[column])) return *id;
      return make_error(where + name + " '" + printable(fields[column]) +
                        "' is not an id (a decimal number up to " + std::to_string(kMaxSetId) +
                        ") in '" + printable(line) + "'; " + kAccepted);
    };
    // lscpu --all prints offline CPUs with empty topology columns; some versions print "-".
    auto blank = [&](std::size_t column) {
      return fields[column].empty() || fields[column] == "-";
    };

    Row row;
    row.line = line_no;
    Expected<unsigned> cpu = number(columns.cpu, "CPU");
    if (!cpu) return cpu.error();
    row.pu.cpu = *cpu;

    if (columns.online) {
      const std::string flag = upper(fields[*columns.online]);
      if (flag == "Y" || flag == "YES") {
        row.pu.online = true;
      } else if (flag == "N" || flag == "NO") {
        row.pu.online = false;
      } else {
        return make_error(where + "Online '" + printable(fields[*columns.online]) +
                          "' is not Y or N in '" + printable(line) + "'; " + kAccepted);
      }
    } else {
      row.pu.online = !(blank(columns.core) && blank(columns.socket));
    }

    if (blank(columns.core) && !row.pu.online) {
      row.core_known = false;
    } else {
      Expected<unsigned> core = number(columns.core, "Core");
      if (!core) return core.error();
      row.pu.core = *core;
    }
    if (!(blank(columns.socket) && !row.pu.online)) {
      Expected<unsigned> socket = number(columns.socket, "Socket");
      if (!socket) return socket.error();
      row.pu.package = *socket;
    }
    // An empty Node column is a machine (often a VM) without NUMA: everything is node 0.
    if (columns.node && !blank(*columns.node)) {
      Expected<unsigned> node = number(*columns.node, "Node");
      if (!node) return node.error();
      row.pu.node = *node;
    }

    if (columns.l3 && !blank(*columns.l3)) {
      std::string_view field = fields[*columns.l3];
      if (columns.l3_part) {
        const std::vector<std::string_view> parts = split(field, ':');
        field = *columns.l3_part < parts.size() ? parts[*columns.l3_part] : std::string_view();
      }
      // A CPU without an L3 (some VMs print an empty field) has no cache domain.
      if (!field.empty()) {
        std::optional<unsigned> l3 = parse_id(field);
        if (!l3) {
          return make_error(where + "L3 '" + printable(field) + "' is not an id in '" +
                            printable(line) + "'; " + kAccepted);
        }
        row.pu.l3 = *l3;
      }
    }

    auto [seen, inserted] = line_of_cpu.try_emplace(row.pu.cpu, line_no);
    if (!inserted) {
      return make_error(where + "CPU " + std::to_string(row.pu.cpu) +
                        " is listed again (first at " + source + ":" +
                        std::to_string(seen->second) + "); " + kAccepted);
    }
    if (row.core_known) {
      auto [core_seen, first] =
          socket_of_core.try_emplace(row.pu.core, std::make_pair(row.pu.package, line_no));
      if (!first && core_seen->second.first != row.pu.package) {
        return make_error(where + "core " + std::to_string(row.pu.core) + " is in socket " +
                          std::to_string(row.pu.package) + " here but in socket " +
                          std::to_string(core_seen->second.first) + " at " + source + ":" +
                          std::to_string(core_seen->second.second) +
                          "; core ids must be machine-wide (do not use lscpu -y); " + kAccepted);
      }
    }
    rows.push_back(row);
  }

  if (rows.empty()) return make_error(source + ": no CPU lines; " + kAccepted);

  // Offline CPUs whose core is unknown get core ids of their own, so no code that groups PUs by
  // core can mistake them for a sibling of a real core.
  unsigned next_core = 0;
  for (const Row& row : rows) {
    if (row.core_known) next_core = std::max(next_core, row.pu.core + 1);
  }
  Topology topology;
  topology.source = source;
  topology.pus.reserve(rows.size());
  for (Row& row : rows) {
    if (!row.core_known) row.pu.core = next_core++;
    topology.pus.push_back(row.pu);
  }
  topology.finalize();
  return topology;
}

}  // namespace xeonplace
