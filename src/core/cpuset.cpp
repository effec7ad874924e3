#include "core/cpuset.h"

#include <algorithm>

#include "core/option_values.h"

namespace xeonplace {
namespace {

constexpr unsigned kBits = 64;

std::string accepted_text(unsigned limit) {
  std::string text = "accepted: a list of ids";
  if (limit <= kMaxSetId) {
    text += limit == 0 ? " (none exist)" : " in 0-" + std::to_string(limit - 1);
  }
  return text + " like 0-3,8,10-11";
}

Error list_error(std::string_view what, std::string_view text, const std::string& problem,
                 unsigned limit) {
  std::string message(what);
  message += '=';
  message += printable(text);  // one line, however hostile the value
  message += ": ";
  message += problem;
  message += "; ";
  message += accepted_text(limit);
  return make_error(std::move(message));
}

// Reads one decimal id at `pos`. Returns nullopt with `problem` set when there is no digit, or the
// number is larger than any id a set may hold (so "99999999999999999999" cannot wrap around).
std::optional<unsigned> read_id(std::string_view text, std::size_t& pos, std::string& problem) {
  const std::size_t start = pos;
  unsigned long long value = 0;
  bool too_large = false;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    if (!too_large) {
      value = value * 10 + static_cast<unsigned>(text[pos] - '0');
      too_large = value > kMaxSetId;
    }
    ++pos;
  }
  if (pos == start) {
    if (pos == text.size()) {
      problem = "missing id at the end";
    } else if (text[pos] == ',') {
      problem = "empty item at offset " + std::to_string(pos);
    } else if (text[pos] == '-') {
      problem = "unexpected '-' at offset " + std::to_string(pos) + " (negative or missing id)";
    } else {
      problem = "unexpected character '" + printable(text.substr(pos, 1)) + "' at offset " +
                std::to_string(pos);
    }
    return std::nullopt;
  }
  if (too_large) {
    problem = "id " + printable(text.substr(start, pos - start)) + " is larger than " +
              std::to_string(kMaxSetId);
    return std::nullopt;
  }
  return static_cast<unsigned>(value);
}

}  // namespace

CpuSet::CpuSet(std::initializer_list<unsigned> ids) {
  for (unsigned id : ids) add(id);
}

CpuSet CpuSet::from_ids(const std::vector<unsigned>& ids) {
  CpuSet set;
  for (unsigned id : ids) set.add(id);
  return set;
}

Expected<CpuSet> CpuSet::parse(std::string_view text, std::string_view what, unsigned limit) {
  limit = std::min(limit, kMaxSetId + 1);
  CpuSet set;
  if (text.empty()) return set;
  std::size_t pos = 0;
  std::string problem;
  while (true) {
    const std::size_t item_start = pos;
    std::optional<unsigned> low = read_id(text, pos, problem);
    if (!low) return list_error(what, text, problem, limit);
    unsigned high = *low;
    if (pos < text.size() && text[pos] == '-') {
      ++pos;
      if (pos == text.size() || text[pos] == ',') {
        return list_error(
            what, text,
            "range " + std::string(text.substr(item_start, pos - item_start)) + " has no end",
            limit);
      }
      std::optional<unsigned> end = read_id(text, pos, problem);
      if (!end) return list_error(what, text, problem, limit);
      high = *end;
      if (high < *low) {
        return list_error(
            what, text, "reversed range " + std::string(text.substr(item_start, pos - item_start)),
            limit);
      }
    }
    if (high >= limit) {
      return list_error(what, text, "id " + std::to_string(high) + " is out of range", limit);
    }
    for (unsigned id = *low; id <= high; ++id) set.add(id);
    if (pos == text.size()) return set;
    if (text[pos] != ',') {
      return list_error(what, text,
                        "unexpected character '" + printable(text.substr(pos, 1)) + "' at offset " +
                            std::to_string(pos),
                        limit);
    }
    ++pos;
    if (pos == text.size()) return list_error(what, text, "dangling ',' at the end", limit);
  }
}

std::string CpuSet::format() const {
  std::string out;
  const std::vector<unsigned> all = ids();
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j + 1 < all.size() && all[j + 1] == all[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(all[i]);
    if (j > i) {
      out += '-';
      out += std::to_string(all[j]);
    }
    i = j + 1;
  }
  return out;
}

void CpuSet::add(unsigned id) {
  const std::size_t word = id / kBits;
  if (word >= words_.size()) words_.resize(word + 1, 0);
  words_[word] |= std::uint64_t{1} << (id % kBits);
}

void CpuSet::remove(unsigned id) {
  const std::size_t word = id / kBits;
  if (word >= words_.size()) return;
  words_[word] &= ~(std::uint64_t{1} << (id % kBits));
  trim();
}

bool CpuSet::contains(unsigned id) const {
  const std::size_t word = id / kBits;
  return word < words_.size() && ((words_[word] >> (id % kBits)) & 1U) != 0;
}

std::size_t CpuSet::count() const {
  std::size_t total = 0;
  for (std::uint64_t w : words_) total += static_cast<std::size_t>(__builtin_popcountll(w));
  return total;
}

std::vector<unsigned> CpuSet::ids() const {
  std::vector<unsigned> out;
  for (std::size_t word = 0; word < words_.size(); ++word) {
    std::uint64_t w = words_[word];
    while (w != 0) {
      const unsigned bit = static_cast<unsigned>(__builtin_ctzll(w));
      out.push_back(static_cast<unsigned>(word * kBits + bit));
      w &= w - 1;
    }
  }
  return out;
}

std::optional<unsigned> CpuSet::first() const {
  for (std::size_t word = 0; word < words_.size(); ++word) {
    if (words_[word] != 0) {
      return static_cast<unsigned>(word * kBits +
                                   static_cast<unsigned>(__builtin_ctzll(words_[word])));
    }
  }
  return std::nullopt;
}

std::optional<unsigned> CpuSet::last() const {
  // trim() keeps the last word non-zero, so the highest id is in it.
  if (words_.empty()) return std::nullopt;
  const std::uint64_t w = words_.back();
  return static_cast<unsigned>((words_.size() - 1) * kBits + (kBits - 1) -
                               static_cast<unsigned>(__builtin_clzll(w)));
}

CpuSet CpuSet::operator&(const CpuSet& other) const {
  CpuSet out;
  out.words_.resize(std::min(words_.size(), other.words_.size()));
  for (std::size_t i = 0; i < out.words_.size(); ++i) out.words_[i] = words_[i] & other.words_[i];
  out.trim();
  return out;
}

CpuSet CpuSet::operator|(const CpuSet& other) const {
  CpuSet out;
  out.words_.resize(std::max(words_.size(), other.words_.size()), 0);
  for (std::size_t i = 0; i < out.words_.size(); ++i) {
    const std::uint64_t a = i < words_.size() ? words_[i] : 0;
    const std::uint64_t b = i < other.words_.size() ? other.words_[i] : 0;
    out.words_[i] = a | b;
  }
  return out;
}

CpuSet CpuSet::minus(const CpuSet& other) const {
  CpuSet out = *this;
  for (std::size_t i = 0; i < out.words_.size() && i < other.words_.size(); ++i) {
    out.words_[i] &= ~other.words_[i];
  }
  out.trim();
  return out;
}

bool CpuSet::is_subset_of(const CpuSet& other) const {
  for (std::size_t i = 0; i < words_.size(); ++i) {
    const std::uint64_t b = i < other.words_.size() ? other.words_[i] : 0;
    if ((words_[i] & ~b) != 0) return false;
  }
  return true;
}

bool CpuSet::operator==(const CpuSet& other) const { return words_ == other.words_; }

void CpuSet::trim() {
  while (!words_.empty() && words_.back() == 0) words_.pop_back();
}

}  // namespace xeonplace
