#include "tools/docgen/help_doc.h"

#include <sstream>

#include "core/text.h"

namespace xeonplace::docgen {
namespace {

std::string trimmed(const std::string& text) {
  const std::size_t first = text.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(' ') - first + 1);
}

void append_words(std::string& to, const std::string& words) {
  if (words.empty()) return;
  if (!to.empty()) to += ' ';
  to += words;
}

// A title is a line from column 0 ending with ':' whose next line is an entry (a paragraph may end
// with a colon too, but is followed by a blank line or more paragraph).
bool is_title(const std::string& line, const std::string& next) {
  return !line.empty() && line[0] != ' ' && line.back() == ':' && starts_with(next, "  ");
}

// One entry as help_entry laid it out: its first line and the continuation lines indented to
// kHelpTextColumn. The name either ends before the text column or, too long for it, fills the first
// line alone; the reading that help_entry lays out back into the same lines is the right one.
HelpEntry read_entry(const std::vector<std::string>& lines) {
  std::string rest;
  for (std::size_t i = 1; i < lines.size(); ++i) append_words(rest, trimmed(lines[i]));
  const std::string& first = lines.front();
  std::string block;
  for (const std::string& line : lines) block += line + "\n";
  if (first.size() > kHelpTextColumn) {
    HelpEntry beside{trimmed(first.substr(0, kHelpTextColumn)),
                     trimmed(first.substr(kHelpTextColumn))};
    append_words(beside.text, rest);
    if (help_entry(beside.name, beside.text) == block) return beside;
  }
  return {trimmed(first), rest};
}

bool is_continuation(const std::string& line) {
  return line.size() > kHelpTextColumn && line.find_first_not_of(' ') == kHelpTextColumn;
}

}  // namespace

std::vector<HelpSection> parse_help(const std::string& help) {
  std::vector<std::string> lines;
  std::istringstream in(help);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::vector<HelpSection> sections(1);
  bool new_paragraph = true;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const std::string next = i + 1 < lines.size() ? lines[i + 1] : "";
    if (line.empty()) {
      new_paragraph = true;
    } else if (is_title(line, next)) {
      sections.push_back({line.substr(0, line.size() - 1), {}, {}});
    } else if (starts_with(line, "  ")) {
      std::vector<std::string> entry = {line};
      while (i + 1 < lines.size() && is_continuation(lines[i + 1])) entry.push_back(lines[++i]);
      sections.back().entries.push_back(read_entry(entry));
    } else {
      if (new_paragraph) sections.back().paragraphs.emplace_back();
      append_words(sections.back().paragraphs.back(), line);
      new_paragraph = false;
    }
  }
  return sections;
}

FlagNames flag_names(const std::string& entry_name) {
  FlagNames names;
  std::istringstream in(entry_name);
  for (std::string word; in >> word;) {
    if (word.back() == ',') word.pop_back();
    if (starts_with(word, "-")) {
      names.spellings.push_back(word);
    } else {
      names.metavar = word;
    }
  }
  return names;
}

}  // namespace xeonplace::docgen
