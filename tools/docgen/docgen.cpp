// xeonplace-docgen: prints the documentation generated from the XEONRUN_* table, and keeps the
// README's copy of it honest.
//   --markdown          the README variable tables
//   --help-text         the --help block (flags, then variables)
//   --check README.md   exit 1 when the text between the variables markers is not --markdown
//   --update README.md  rewrite the text between the markers
//   --man1              xeonrun-spawn(1), roff (man.h)
//   --man1-ipexrun      ipexrun(1), roff
//   --man7              xeonplace(7), roff
//   --bash-completion   xeonrun-spawn's bash completion (completion.h)
//   --bash-completion-ipexrun  ipexrun's
#include <cstdio>
#include <sstream>
#include <string>
#include <utility>

#include "core/options.h"
#include "sys/io.h"
#include "tools/docgen/completion.h"
#include "tools/docgen/man.h"

namespace {

constexpr const char* kBegin = "<!-- variables:begin -->\n";
constexpr const char* kEnd = "<!-- variables:end -->";

// Offsets of the generated region: after the begin marker's line, up to the end marker.
bool find_region(const std::string& text, std::size_t& begin, std::size_t& end) {
  begin = text.find(kBegin);
  if (begin == std::string::npos) return false;
  begin += std::string(kBegin).size();
  end = text.find(kEnd, begin);
  return end != std::string::npos;
}

// The first differing line, so a failing check says what to look at.
std::string first_difference(const std::string& have, const std::string& want) {
  std::istringstream a(have), b(want);
  std::string la, lb;
  for (int line = 1;; ++line) {
    bool more_a = static_cast<bool>(std::getline(a, la));
    bool more_b = static_cast<bool>(std::getline(b, lb));
    if (!more_a && !more_b) return "";
    if (!more_a || !more_b || la != lb) {
      return "line " + std::to_string(line) +
             " of the table:\n  README:    " + (more_a ? la : "(missing)") +
             "\n  generated: " + (more_b ? lb : "(missing)");
    }
  }
}

int usage(std::FILE* out, int status) {
  std::fputs(
      "usage: xeonplace-docgen --markdown | --help-text | --check README.md | --update README.md\n"
      "                        | --man1 | --man1-ipexrun | --man7 | --bash-completion\n"
      "                        | --bash-completion-ipexrun\n",
      out);
  return status;
}

int check_or_update(const std::string& mode, const std::string& path) {
  xeonplace::Expected<std::string> read = xeonplace::read_whole_file(path);
  if (!read) {
    std::fprintf(stderr, "xeonplace-docgen: %s: %s\n", path.c_str(), read.error().message.c_str());
    return 2;
  }
  std::string text = *read;
  std::size_t begin = 0, end = 0;
  if (!find_region(text, begin, end)) {
    std::fprintf(stderr, "xeonplace-docgen: %s has no '%s' ... '%s' markers\n", path.c_str(),
                 "<!-- variables:begin -->", kEnd);
    return 2;
  }
  const std::string generated = xeonplace::variables_markdown_table();
  const std::string current = text.substr(begin, end - begin);
  if (mode == "--check") {
    if (current == generated) return 0;
    std::fprintf(stderr,
                 "xeonplace-docgen: the variable table in %s is out of date; run "
                 "xeonplace-docgen --update %s\n%s\n",
                 path.c_str(), path.c_str(), first_difference(current, generated).c_str());
    return 1;
  }
  if (current == generated) return 0;
  text.replace(begin, end - begin, generated);
  xeonplace::Status written = xeonplace::write_whole_file(path, text);
  if (!written) {
    std::fprintf(stderr, "xeonplace-docgen: %s: %s\n", path.c_str(),
                 written.error().message.c_str());
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--markdown") {
    std::fputs(xeonplace::variables_markdown_table().c_str(), stdout);
    return 0;
  }
  if (argc == 2 && std::string(argv[1]) == "--help-text") {
    std::fputs(xeonplace::flags_help_text().c_str(), stdout);
    std::fputs("\n", stdout);
    std::fputs(xeonplace::variables_help_text().c_str(), stdout);
    return 0;
  }
  using Generator = std::string (*)();
  const std::pair<const char*, Generator> generated[] = {
      {"--man1", xeonplace::docgen::man_page_spawn},
      {"--man1-ipexrun", xeonplace::docgen::man_page_ipexrun},
      {"--man7", xeonplace::docgen::man_page_xeonplace},
      {"--bash-completion", xeonplace::docgen::bash_completion},
      {"--bash-completion-ipexrun", xeonplace::docgen::bash_completion_ipexrun},
  };
  for (const auto& [mode, generate] : generated) {
    if (argc != 2 || std::string(argv[1]) != mode) continue;
    std::fputs(generate().c_str(), stdout);
    return 0;
  }
  if (argc == 3 && (std::string(argv[1]) == "--check" || std::string(argv[1]) == "--update")) {
    return check_or_update(argv[1], argv[2]);
  }
  if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    return usage(stdout, 0);
  }
  return usage(stderr, 2);
}
