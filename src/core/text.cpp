#include "core/text.h"

#include <algorithm>

namespace xeonplace {

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::optional<std::size_t> closest(std::string_view word,
                                   const std::vector<std::string_view>& candidates,
                                   std::size_t below) {
  constexpr std::size_t kCompared = 64;
  word = word.substr(0, kCompared);
  std::optional<std::size_t> best;
  std::size_t best_distance = below;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    std::size_t distance = edit_distance(word, candidates[i]);
    if (distance < best_distance) {
      best = i;
      best_distance = distance;
    }
  }
  return best;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

namespace {

std::string respelt(std::string_view flag, char from, char to) {
  std::string out(flag);
  if (!starts_with(out, "--")) return out;
  std::replace(out.begin() + 2, out.end(), from, to);
  return out;
}

}  // namespace

std::string dash_spelling(std::string_view flag) { return respelt(flag, '_', '-'); }
std::string underscore_spelling(std::string_view flag) { return respelt(flag, '-', '_'); }

std::string help_entry(std::string_view name, std::string_view text) {
  std::string out(2, ' ');
  out += name;
  if (out.size() < kHelpTextColumn) {
    out.append(kHelpTextColumn - out.size(), ' ');
  } else {
    out += '\n';
    out.append(kHelpTextColumn, ' ');
  }
  // Greedy: as many words as fit in the line; a word longer than a line stands alone.
  std::size_t column = kHelpTextColumn;
  while (!text.empty()) {
    const std::size_t space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (column > kHelpTextColumn && column + 1 + word.size() > kHelpWidth) {
      out += '\n';
      out.append(kHelpTextColumn, ' ');
      column = kHelpTextColumn;
    } else if (column > kHelpTextColumn) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
  }
  out += '\n';
  return out;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

}  // namespace xeonplace
