// A --help text (core/text.h's help_entry layout) read back as sections of paragraphs and entries,
// so the man page and the bash completion are generated from the very text --help prints, which
// the options table and xeonrun-spawn's own flag list generate (help2man's idea, no copy of it).
#pragma once

#include <string>
#include <vector>

namespace xeonplace::docgen {

struct HelpEntry {
  std::string name;  // "--log-path, --log_path DIR"
  std::string text;  // the wrapped text joined back into one line
};

// A title line ("Launcher flags:") and what follows it up to the next title; the first section
// has an empty title and holds the text before any title.
struct HelpSection {
  std::string title;                    // without the colon
  std::vector<std::string> paragraphs;  // each joined into one line
  std::vector<HelpEntry> entries;
};

std::vector<HelpSection> parse_help(const std::string& help);

// The spellings of an entry's flags and its value's name: "-m, --module" -> {"-m", "--module"},
// ""; "--log-path, --log_path DIR" -> {"--log-path", "--log_path"}, "DIR".
struct FlagNames {
  std::vector<std::string> spellings;
  std::string metavar;  // "" for a switch
};
FlagNames flag_names(const std::string& entry_name);

}  // namespace xeonplace::docgen
