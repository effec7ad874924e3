#include "core/option_values.h"

namespace xeonplace {

std::string printable(std::string_view text) {
  // An error is one line a person reads: control characters are shown escaped, and a runaway
  // value (a whole file pasted into a variable) is cut.
  constexpr std::size_t kMaxShown = 200;
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMaxShown) out += "...";
  return out;
}

Error value_error(std::string_view name, std::string_view value, std::string_view reason,
                  std::string_view accepted) {
  std::string message;
  message.reserve(name.size() + value.size() + reason.size() + accepted.size() + 16);
  message.append(printable(name)).append("=").append(printable(value)).append(": ").append(reason);
  message.append("; accepted: ").append(accepted);
  return make_error(std::move(message));
}

Expected<unsigned> parse_decimal(std::string_view name, std::string_view text, unsigned min,
                                 unsigned max, std::string_view accepted) {
  if (text.empty()) return value_error(name, text, "empty value", accepted);
  unsigned long long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return value_error(name, text, "not a decimal integer", accepted);
    value = value * 10 + static_cast<unsigned>(c - '0');
    // Checked per digit so that twenty digits cannot wrap around into range.
    if (value > max) return value_error(name, text, "out of range", accepted);
  }
  if (value < min) return value_error(name, text, "out of range", accepted);
  return static_cast<unsigned>(value);
}

Expected<bool> parse_boolean(std::string_view name, std::string_view text) {
  for (const char* yes : {"1", "true", "yes", "on"}) {
    if (equals_ignore_case(text, yes)) return true;
  }
  for (const char* no : {"0", "false", "no", "off"}) {
    if (equals_ignore_case(text, no)) return false;
  }
  return value_error(name, text, text.empty() ? "empty value" : "not a boolean", kBooleanAccepted);
}

}  // namespace xeonplace
