// --help text and README tables, generated from option_table(), flag_table(), output_table() and
// kLaunchers so that the documentation cannot drift from what the parser accepts.
#include <string>
#include <string_view>

#include "core/launcher.h"
#include "core/options.h"

namespace xeonplace {
namespace {

constexpr std::size_t kNameColumn = 32;
constexpr std::size_t kHelpWidth = 100;

// Appends `text` from column 2 + kNameColumn, wrapped at word boundaries to kHelpWidth.
void append_wrapped(std::string& out, std::string_view text) {
  const std::size_t indent = 2 + kNameColumn;
  std::size_t column = indent;
  while (!text.empty()) {
    std::size_t space = text.find(' ');
    std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (column > indent && column + 1 + word.size() > kHelpWidth) {
      out += '\n';
      out.append(indent, ' ');
      column = indent;
    } else if (column > indent) {
      out += ' ';
      ++column;
    }
    out.append(word);
    column += word.size();
  }
  out += '\n';
}

void append_padded(std::string& out, std::string_view text, std::size_t width) {
  out.append(text);
  out.append(text.size() < width ? width - text.size() : 1, ' ');
}

// A table cell: `|` would end the cell early.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string code(std::string_view text) { return "`" + std::string(text) + "`"; }

std::string flags_setting(const char* variable) {
  std::string flags;
  for (const auto& flag : flag_table()) {
    if (std::string_view(flag.variable) != variable) continue;
    if (!flags.empty()) flags += ", ";
    flags += code(flag.flag);
    if (flag.value) flags += std::string(" (") + flag.value + ")";
  }
  return flags;
}

}  // namespace

std::string variables_help_text() {
  std::string out = "Environment variables (read by libxeonplace.so in every process):\n";
  for (const auto& spec : option_table()) {
    out += "  ";
    append_padded(out, spec.variable, kNameColumn);
    append_wrapped(out, spec.help);
    out.append(2 + kNameColumn, ' ');
    append_wrapped(out,
                   std::string("accepted: ") + spec.accepted + "; default: " + spec.default_text);
  }
  out += "\nSet by the library after placing (outputs, never read as inputs):\n";
  for (const auto& output : output_table()) {
    out += "  ";
    append_padded(out, output.variable, kNameColumn);
    out += std::string(output.help) + "\n";
  }
  out +=
      "\nLocal rank and size when XEONRUN_RANK/XEONRUN_NINSTANCES are not set, first found wins:\n";
  for (const auto& launcher : kLaunchers) {
    out += "  ";
    append_padded(out, launcher.name, kNameColumn);
    append_wrapped(out, std::string(launcher.rank_variable) + "; size: " + launcher.size_variables);
  }
  return out;
}

std::string flags_help_text() {
  std::string out = "Placement flags (--dash-case or --under_score; each sets one variable):\n";
  for (const auto& flag : flag_table()) {
    std::string usage = std::string(flag.flag) + (flag.value ? "" : " VALUE");
    out += "  ";
    append_padded(out, usage, kNameColumn);
    append_wrapped(out, std::string(flag.help) + " (" + flag.variable +
                            (flag.value ? std::string("=") + flag.value : "") + ")");
  }
  return out;
}

std::string variables_markdown_table() {
  std::string out =
      "| variable | default | accepted | meaning | xeonrun-spawn flag |\n"
      "|---|---|---|---|---|\n";
  for (const auto& spec : option_table()) {
    out += "| " + code(spec.variable) + " | " + cell(spec.default_text) + " | " +
           cell(spec.accepted) + " | " + cell(spec.help) + " | " + flags_setting(spec.variable) +
           " |\n";
  }
  out +=
      "\nSet by the library after placing (outputs, never read as inputs):\n\n"
      "| variable | meaning |\n"
      "|---|---|\n";
  for (const auto& output : output_table()) {
    out += "| " + code(output.variable) + " | " + cell(output.help) + " |\n";
  }
  out +=
      "\nLocal rank and size when `XEONRUN_RANK`/`XEONRUN_NINSTANCES` are not set, first found "
      "wins (a global rank is never used):\n\n"
      "| launcher | local rank | local size | binds ranks by default |\n"
      "|---|---|---|---|\n";
  for (const auto& launcher : kLaunchers) {
    out += std::string("| ") + launcher.name + " | " + code(launcher.rank_variable) + " | " +
           cell(launcher.size_variables) + " | " + (launcher.binds_by_default ? "yes" : "no") +
           " |\n";
  }
  return out;
}

}  // namespace xeonplace
