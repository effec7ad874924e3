#include "tools/docgen/man.h"

#include <string_view>
#include <vector>

#include "core/launcher.h"
#include "core/options.h"
#include "core/text.h"
#include "tools/docgen/help_doc.h"
#include "tools/spawn/cli.h"
#include "tools/spawn/ipexrun_cli.h"
#include "xeonplace/xeonplace.h"

namespace xeonplace::docgen {
namespace {

// Text as roff reads it: a backslash is \e, a hyphen that starts a word (a flag) or continues
// one is a minus sign \-, and a line never starts with a control character.
std::string roff(std::string_view text) {
  std::string out;
  bool in_flag = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool word_start = i == 0 || text[i - 1] == ' ' || text[i - 1] == '[';
    if (word_start) in_flag = c == '-';
    if (c == ' ') in_flag = false;
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;  // help's two-space gaps
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-' && in_flag) {
      out += "\\-";
    } else {
      out += c;
    }
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

std::string title(const char* name, int section, const char* manual) {
  return std::string(".TH ") + roff(name) + " " + std::to_string(section) + " \"\" \"xeonplace " +
         XEONPLACE_VERSION + "\" \"" + manual + "\"\n";
}

// One tagged paragraph: `tag` in bold, then the lines of `text` (separate lines with .br).
std::string tagged(std::string_view tag, const std::vector<std::string>& lines) {
  std::string out = ".TP\n.B " + roff(tag) + "\n";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i) out += ".br\n";
    out += roff(lines[i]) + "\n";
  }
  return out;
}

// "--log-path, --log_path DIR": the spellings in bold, the value's name in italics, on the tag
// line (.TP takes one line as its tag).
std::string flag_tag(const HelpEntry& entry) {
  const FlagNames names = flag_names(entry.name);
  std::vector<std::string> spellings;
  for (const std::string& spelling : names.spellings)
    spellings.push_back("\\fB" + roff(spelling) + "\\fR");
  std::string tag = join(spellings, ", ");
  if (!names.metavar.empty()) tag += " \\fI" + roff(names.metavar) + "\\fR";
  return ".TP\n" + tag + "\n" + roff(entry.text) + "\n";
}

bool is_flag_section(const HelpSection& section) {
  return !section.title.empty() && !section.entries.empty() &&
         starts_with(section.entries.front().name, "-");
}

// The paragraphs before the first table: the usage line becomes SYNOPSIS, the sentence that
// starts with "Exit status:" becomes EXIT STATUS, the rest DESCRIPTION.
struct Prose {
  std::string usage;
  std::vector<std::string> description;
  std::string exit_status;
};

Prose split_prose(const HelpSection& intro) {
  Prose prose;
  constexpr std::string_view kUsage = "usage: ", kExit = "Exit status: ";
  for (const std::string& paragraph : intro.paragraphs) {
    if (starts_with(paragraph, kUsage)) {
      prose.usage = paragraph.substr(kUsage.size());
      continue;
    }
    const std::size_t exit = paragraph.find(kExit);
    const std::size_t end = exit == std::string::npos ? exit : paragraph.find(". ", exit);
    if (exit != std::string::npos) {
      prose.exit_status = paragraph.substr(exit + kExit.size(), end - exit - kExit.size() + 1);
    }
    std::string rest = paragraph.substr(0, exit);
    if (end != std::string::npos) rest += paragraph.substr(end + 2);
    prose.description.push_back(rest);
  }
  return prose;
}

std::string paragraphs(const std::vector<std::string>& texts) {
  std::string out;
  for (std::size_t i = 0; i < texts.size(); ++i) out += (i ? ".PP\n" : "") + roff(texts[i]) + "\n";
  return out;
}

std::string flags_setting(const char* variable) {
  std::vector<std::string> flags;
  for (const auto& flag : flag_table()) {
    if (std::string_view(flag.variable) != variable) continue;
    flags.push_back(std::string(flag.flag) +
                    (flag.value ? std::string(" (") + flag.value + ")" : ""));
  }
  return flags.empty() ? "" : "xeonrun-spawn: " + join(flags, ", ");
}

std::string environment_section() {
  std::string out = ".SH ENVIRONMENT\n";
  for (const auto& spec : option_table()) {
    std::vector<std::string> lines = {spec.help, "Accepted: " + spec.accepted + ".",
                                      "Default: " + spec.default_text + "."};
    const std::string flags = flags_setting(spec.variable);
    if (!flags.empty()) lines.push_back(flags + ".");
    out += tagged(spec.variable, lines);
  }
  out += ".SS Set by the library after placing (outputs, never read as inputs)\n";
  for (const auto& output : output_table()) out += tagged(output.variable, {output.help});
  return out;
}

std::string launchers_section() {
  std::string out =
      ".SH LAUNCHERS\n"
      "When XEONRUN_RANK and XEONRUN_NINSTANCES are not set, the local rank and size come from the "
      "launcher, the first found in this order (a global rank is never used):\n";
  for (const auto& launcher : kLaunchers) {
    out += tagged(launcher.name, {std::string("local rank: ") + launcher.rank_variable,
                                  std::string("local size: ") + launcher.size_variables,
                                  std::string("binds ranks by default: ") +
                                      (launcher.binds_by_default ? "yes" : "no")});
  }
  return out;
}

}  // namespace

std::string man_page_spawn() {
  const std::vector<HelpSection> sections = parse_help(spawn::help_text());
  const Prose prose = split_prose(sections.front());
  std::string out = title("XEONRUN-SPAWN", 1, "User Commands");
  out += ".SH NAME\nxeonrun\\-spawn \\- run ranks of a program, each placed by libxeonplace.so\n";
  out += ".SH SYNOPSIS\n" + roff(prose.usage) + "\n";
  out += ".SH DESCRIPTION\n" + paragraphs(prose.description);
  out += ".SH OPTIONS\n";
  for (const HelpSection& section : sections) {
    if (!is_flag_section(section)) continue;
    out += ".SS " + roff(section.title) + "\n";
    for (const HelpEntry& entry : section.entries) out += flag_tag(entry);
  }
  out +=
      ".SH ENVIRONMENT\nEvery placement flag sets one XEONRUN_* variable; the variables, what "
      "they accept and their defaults are in\n.BR xeonplace (7).\n";
  out += ".SH EXIT STATUS\n" + roff(prose.exit_status) + "\n";
  out +=
      ".SH SEE ALSO\n.BR ipexrun (1),\n.BR xeonrun\\-tune (1),\n.BR xeonplace (7),\n"
      ".BR numactl (8),\n.BR taskset (1)\n";
  return out;
}

// A page of its own rather than a .so link to xeonrun-spawn(1): under this name the tool reads
// ipexrun's flags, spellings and defaults, which that page does not list.
std::string man_page_ipexrun() {
  const std::vector<HelpSection> sections = parse_help(spawn::ipexrun_help_text());
  const Prose prose = split_prose(sections.front());
  const Prose spawn_prose = split_prose(parse_help(spawn::help_text()).front());
  std::string out = title("IPEXRUN", 1, "User Commands");
  out +=
      ".SH NAME\nipexrun \\- run instances of a program with ipexrun's command line, each "
      "placed by libxeonplace.so\n";
  out += ".SH SYNOPSIS\n" + roff(prose.usage) + "\n";
  out += ".SH DESCRIPTION\n" + paragraphs(prose.description);
  out +=
      ".PP\nipexrun is installed as a link to\n.BR xeonrun\\-spawn (1);\nthe same tool reads "
      "ipexrun's command line when invoked by this name or when its first argument is cpu.\n";
  out += ".SH OPTIONS\n";
  for (const HelpSection& section : sections) {
    if (!is_flag_section(section)) continue;
    out += ".SS " + roff(section.title) + "\n";
    for (const HelpEntry& entry : section.entries) {
      // The refused flags: one line of names, no help of their own.
      out += entry.text.empty() ? roff(entry.name) + "\n" : flag_tag(entry);
    }
  }
  out +=
      ".SH ENVIRONMENT\nEvery flag sets XEONRUN_* variables, and XEONRUN_COMPAT=ipexrun; the "
      "variables, what they accept and their defaults are in\n.BR xeonplace (7).\n";
  out += ".SH EXIT STATUS\n" + roff(spawn_prose.exit_status) + "\n";
  out += ".SH SEE ALSO\n.BR xeonrun\\-spawn (1),\n.BR xeonrun\\-tune (1),\n.BR xeonplace (7)\n";
  return out;
}

std::string man_page_xeonplace() {
  std::string out = title("XEONPLACE", 7, "Miscellaneous Information Manual");
  out +=
      ".SH NAME\nxeonplace \\- place a process on CPUs and NUMA nodes from inside it\n"
      ".SH SYNOPSIS\nLD_PRELOAD=libxeonplace.so XEONRUN_RANK=1 XEONRUN_NINSTANCES=2 "
      "\\fIPROGRAM\\fR\n"
      ".SH DESCRIPTION\n"
      "Preloaded, libxeonplace.so places the process before main() when any XEONRUN_* input or a "
      "launcher's local rank asks for it: a slice of the machine's cores per rank, their NUMA "
      "memory nodes, OpenMP variables and an allocator, as run_cpu does, without a wrapper "
      "process. It exports the result in XEONRUN_PLACED_* variables, which children inherit and "
      "the C API of <xeonplace/xeonplace.h> reads (pkg\\-config xeonplace).\n"
      ".BR xeonrun\\-spawn (1)\nstarts ranks with the library preloaded.\n";
  out += environment_section();
  out += launchers_section();
  out +=
      ".SH EXIT STATUS\nA bad XEONRUN_* value, or a topology or planning error, makes the "
      "library print one line \"xeonplace: error: MESSAGE\" on stderr and end the process "
      "with status " +
      std::to_string(XEONPLACE_EXIT_CONFIG_ERROR) +
      " (XEONPLACE_EXIT_CONFIG_ERROR), unless XEONRUN_ON_ERROR=warn, which prints the same "
      "line as a warning and runs the program unplaced.\n";
  out += ".SH SEE ALSO\n.BR xeonrun\\-spawn (1),\n.BR numactl (8),\n.BR taskset (1)\n";
  return out;
}

}  // namespace xeonplace::docgen
