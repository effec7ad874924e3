// Errors are values in the core: every fallible pure function returns Expected<T>,
// and the imperative shell decides whether to print, abort or warn.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace xeonplace {

// One line a person can act on: names the input, the bad value and what is accepted.
struct Error {
  std::string message;
};

struct Unit {};

template <class T>
class Expected {
 public:
  Expected(T value) : state_(std::move(value)) {}          // NOLINT: implicit by design
  Expected(Error error) : state_(std::move(error)) {}      // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  const T& value() const& { return std::get<T>(state_); }
  T& value() & { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  const Error& error() const { return std::get<Error>(state_); }

 private:
  std::variant<T, Error> state_;
};

using Status = Expected<Unit>;

inline Error make_error(std::string message) { return Error{std::move(message)}; }

}  // namespace xeonplace
