// --help text and README tables, generated from option_table(), flag_table(), output_table() and
// kLaunchers so that the documentation cannot drift from what the parser accepts.
#include <string>
#include <string_view>

#include "core/launcher.h"
#include "core/options.h"
#include "core/text.h"

namespace xeonplace {
namespace {

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
    out += help_entry(spec.variable, spec.help);
    out += help_entry(
        "", std::string("accepted: ") + spec.accepted + "; default: " + spec.default_text);
  }
  out += "\nSet by the library after placing (outputs, never read as inputs):\n";
  for (const auto& output : output_table()) out += help_entry(output.variable, output.help);
  out +=
      "\nLocal rank and size when XEONRUN_RANK/XEONRUN_NINSTANCES are not set, first found wins:\n";
  for (const auto& launcher : kLaunchers) {
    out += help_entry(launcher.name,
                      std::string(launcher.rank_variable) + "; size: " + launcher.size_variables);
  }
  return out;
}

std::string flags_help_text() {
  std::string out = "Placement flags (--dash-case or --under_score; each sets one variable):\n";
  for (const auto& flag : flag_table()) {
    std::string usage = std::string(flag.flag) + (flag.value ? "" : " VALUE");
    out += help_entry(usage, std::string(flag.help) + " (" + flag.variable +
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
