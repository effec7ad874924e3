// Strict parsers for the scalar values of environment variables (ours and the launchers'), and the
// one error shape they all share: `NAME=VALUE: reason; accepted: what`.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/expected.h"
#include "core/text.h"

namespace xeonplace {

// `text` fit for a one-line message: control characters escaped (\n, \t, \xHH), at most 200
// characters shown.
std::string printable(std::string_view text);

// `XEONRUN_PIN=threads: unknown value; accepted: process, thread, none`
Error value_error(std::string_view name, std::string_view value, std::string_view reason,
                  std::string_view accepted);

// Decimal digits only: no sign, space, hex, float or leading "+"; overflow checked. The result must
// lie in [min, max]. `accepted` is quoted in the error ("an integer 1..65535").
Expected<unsigned> parse_decimal(std::string_view name, std::string_view text, unsigned min,
                                 unsigned max, std::string_view accepted);

inline constexpr const char* kBooleanAccepted = "1, 0, true, false, yes, no, on, off";
// 1/0/true/false/yes/no/on/off, case-insensitive.
Expected<bool> parse_boolean(std::string_view name, std::string_view text);

}  // namespace xeonplace
