// Small text helpers with one home each (libcamera's base/utils is the model): comparing names,
// suggesting the closest one, the spellings of a flag, and the layout of --help entries. Pure.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xeonplace {

// ASCII case-insensitive equality ("Latency" == "latency").
bool equals_ignore_case(std::string_view a, std::string_view b);

bool starts_with(std::string_view text, std::string_view prefix);

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The index of the candidate closest to `word` (the first one on a tie), nullopt when none is
// closer than `below`. Only the first 64 characters of `word` are compared: no candidate is that
// long, and the distance is quadratic in a length an environment can make as large as it likes.
std::optional<std::size_t> closest(std::string_view word,
                                   const std::vector<std::string_view>& candidates,
                                   std::size_t below = static_cast<std::size_t>(-1));

// `items` joined by `separator`.
std::string join(const std::vector<std::string>& items, std::string_view separator);

// `text` cut at every `separator`, as views into `text`; empty pieces kept ("a,,b" gives "a", "",
// "b"; "" gives one empty piece).
std::vector<std::string_view> split(std::string_view text, char separator);

// A long flag in its two spellings: "--ncores_per_instance" <-> "--ncores-per-instance". Only the
// name after the leading "--" changes; anything else comes back as it was.
std::string dash_spelling(std::string_view flag);
std::string underscore_spelling(std::string_view flag);

// One entry of a --help listing: `name` from column 2, `text` from column 34 wrapped at word
// boundaries to 100 columns (a name too long for its column puts the text on the next line),
// ending with a newline. An empty `name` continues the previous entry's text column.
inline constexpr std::size_t kHelpTextColumn = 34;
inline constexpr std::size_t kHelpWidth = 100;
std::string help_entry(std::string_view name, std::string_view text);

}  // namespace xeonplace
