#include "tools/docgen/completion.h"

#include <string_view>
#include <vector>

#include "core/options.h"
#include "core/text.h"
#include "tools/docgen/help_doc.h"
#include "tools/spawn/cli.h"
#include "tools/spawn/ipexrun_cli.h"

namespace xeonplace::docgen {
namespace {

struct CompletedFlag {
  std::vector<std::string> spellings;
  std::string values;  // a `case` body completing the value; "" for a switch
};

std::string words_completion(const std::vector<std::string>& words) {
  return "COMPREPLY=($(compgen -W '" + join(words, " ") + "' -- \"$cur\"))";
}

// What a value flag's value completes to by the value's name in --help (DIR, PATH, SOURCE);
// nothing for numbers and CPU lists.
std::string metavar_completion(const std::string& metavar) {
  if (metavar == "DIR") return "COMPREPLY=($(compgen -d -- \"$cur\"))";
  if (metavar == "PATH") return "COMPREPLY=($(compgen -f -- \"$cur\"))";
  // XEONRUN_TOPOLOGY's sources (core/options.h, TopologySource), then the file after the prefix.
  if (metavar == "SOURCE") {
    return "case $cur in\n"
           "        lscpu:* | xml:*) COMPREPLY=($(compgen -P \"${cur%%:*}:\" -f -- \"${cur#*:}\")) "
           ";;\n"
           "        *) COMPREPLY=($(compgen -W 'lscpu: xml: synthetic:' -- \"$cur\")); compopt -o "
           "nospace 2>/dev/null ;;\n"
           "      esac";
  }
  return "COMPREPLY=()";
}

// xeonrun-spawn: a Choice variable's names, else by the value's name.
std::string spawn_value_completion(const FlagNames& names) {
  if (const FlagSpec* flag = flag_for(names.spellings.back())) {
    const OptionSpec* spec = find_option(flag->variable);
    if (spec && spec->type == OptionType::Choice) {
      std::vector<std::string> words;
      for (const auto& choice : spec->choices) words.push_back(choice.text);
      return words_completion(words);
    }
  }
  return metavar_completion(names.metavar);
}

// ipexrun: the words its choice flags accept (ipexrun_cli.h), a directory for --log-dir (its
// --help names every ipexrun value VALUE), else by the value's name (the launcher's own flags).
std::string ipexrun_value_completion(const FlagNames& names) {
  const std::vector<std::string> words = spawn::ipexrun_flag_choices(names.spellings.front());
  if (!words.empty()) return words_completion(words);
  if (names.spellings.front() == "--log-dir") return metavar_completion("DIR");
  return metavar_completion(names.metavar);
}

// The flags an entry of --help offers; a refused flag (ipexrun's, listed without help) is not.
std::vector<CompletedFlag> completed_flags(const std::string& help,
                                           std::string (*values)(const FlagNames&)) {
  std::vector<CompletedFlag> flags;
  for (const HelpSection& section : parse_help(help)) {
    for (const HelpEntry& entry : section.entries) {
      if (!starts_with(entry.name, "-") || entry.text.empty()) continue;
      const FlagNames names = flag_names(entry.name);
      CompletedFlag flag{names.spellings, ""};
      if (!names.metavar.empty()) flag.values = values(names);
      flags.push_back(flag);
    }
  }
  return flags;
}

struct Command {
  const char* name;      // xeonrun-spawn
  const char* function;  // _xeonrun_spawn
  const char* source;    // where the flags come from, for the header comment
  const char* mode;      // docgen's flag that prints the script
  const char* first;     // a word accepted first, before any flag ("cpu"), or ""
};

// The loop that finds the program; it starts past Command::first when that is given.
std::string program_scan(const Command& command, const std::vector<std::string>& with_value) {
  std::string start = "  # Once the program is named, its own arguments: files.\n";
  if (*command.first) {
    start += std::string("  i=1\n  [[ ${COMP_WORDS[1]} == ") + command.first +
             " ]] && ((COMP_CWORD > 1)) && i=2\n  for (( ; i < COMP_CWORD; i++)); do\n";
  } else {
    start += "  for ((i = 1; i < COMP_CWORD; i++)); do\n";
  }
  return start +
         "    word=${COMP_WORDS[i]}\n"
         "    case $word in\n"
         "      " +
         join(with_value, " | ") +
         ") [[ ${COMP_WORDS[i+1]} == = ]] && ((i++)); ((i++)) ;;\n"
         "      --) break ;;\n"
         "      -*) ;;\n"
         "      *) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
         "    esac\n"
         "  done\n";
}

std::string completion_script(const Command& command, const std::vector<CompletedFlag>& flags) {
  std::vector<std::string> all, with_value, cases;
  for (const CompletedFlag& flag : flags) {
    all.insert(all.end(), flag.spellings.begin(), flag.spellings.end());
    if (flag.values.empty()) continue;
    with_value.insert(with_value.end(), flag.spellings.begin(), flag.spellings.end());
    cases.push_back("    " + join(flag.spellings, " | ") + ")\n      " + flag.values +
                    "\n      return ;;\n");
  }
  // Command::first is offered as the first word.
  const std::string first =
      *command.first ? std::string("    ((COMP_CWORD == 1)) && COMPREPLY+=($(compgen -W '") +
                           command.first + "' -- \"$cur\"))\n"
                     : "";
  std::string out =
      std::string("# bash completion for ") + command.name + ", generated by xeonplace-docgen " +
      command.mode + " from\n# the flags of " + command.source + ".\n" + command.function +
      "() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} flag=${COMP_WORDS[COMP_CWORD-1]} i word\n"
      "  # --flag=VALUE: bash splits it at '=' (COMP_WORDBREAKS)\n"
      "  if [[ $cur == = ]]; then\n"
      "    cur=''\n"
      "  elif [[ $flag == = ]] && ((COMP_CWORD > 1)); then\n"
      "    flag=${COMP_WORDS[COMP_CWORD-2]}\n"
      "  fi\n" +
      program_scan(command, with_value) +
      "  # After --: the program (a command or a file), then its arguments.\n"
      "  if [[ ${COMP_WORDS[i]} == -- ]] && ((i < COMP_CWORD)); then\n"
      "    if ((i + 1 < COMP_CWORD)); then\n"
      "      COMPREPLY=($(compgen -f -- \"$cur\"))\n"
      "    else\n"
      "      COMPREPLY=($(compgen -c -- \"$cur\") $(compgen -f -- \"$cur\"))\n"
      "    fi\n"
      "    return\n"
      "  fi\n"
      "  case $flag in\n";
  for (const std::string& c : cases) out += c;
  out +=
      "  esac\n"
      "  if [[ $cur == -* ]]; then\n"
      "    COMPREPLY=($(compgen -W '" +
      join(all, " ") +
      "' -- \"$cur\"))\n"
      "  else\n"
      "    COMPREPLY=($(compgen -c -- \"$cur\") $(compgen -f -- \"$cur\"))\n" +
      first +
      "  fi\n"
      "}\n"
      "complete -F " +
      command.function + " " + command.name + "\n";
  return out;
}

}  // namespace

std::string bash_completion() {
  const Command spawn = {"xeonrun-spawn", "_xeonrun_spawn", "xeonrun-spawn --help",
                         "--bash-completion", ""};
  return completion_script(spawn, completed_flags(spawn::help_text(), spawn_value_completion));
}

std::string bash_completion_ipexrun() {
  const Command ipexrun = {"ipexrun", "_ipexrun", "ipexrun --help (tools/spawn/ipexrun_cli.cpp)",
                           "--bash-completion-ipexrun", "cpu"};
  return completion_script(ipexrun,
                           completed_flags(spawn::ipexrun_help_text(), ipexrun_value_completion));
}

}  // namespace xeonplace::docgen
