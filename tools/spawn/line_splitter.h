// Cuts a byte stream into whole lines so that two ranks writing at once never splice each other's
// output on the console: bytes are held until their newline arrives.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace xeonplace::spawn {

class LineSplitter {
 public:
  // A rank printing megabytes without a newline (a progress bar with \r, binary data) must not
  // grow the launcher without bound: past this size the held text goes out as a line of its own.
  static constexpr size_t kMaxLine = size_t{1} << 22;

  // Appends `data` and calls `emit(line)` for every completed line, newline included.
  template <class Emit>
  void feed(std::string_view data, Emit&& emit) {
    for (;;) {
      auto newline = data.find('\n');
      if (newline == std::string_view::npos) break;
      if (pending_.empty()) {
        emit(data.substr(0, newline + 1));
      } else {
        pending_.append(data.substr(0, newline + 1));
        emit(std::string_view(pending_));
        pending_.clear();
      }
      data.remove_prefix(newline + 1);
    }
    pending_.append(data);
    if (pending_.size() >= kMaxLine) finish(emit);
  }

  // At end of stream: a last line without its newline is still a line; it gets one added.
  template <class Emit>
  void finish(Emit&& emit) {
    if (pending_.empty()) return;
    pending_.push_back('\n');
    emit(std::string_view(pending_));
    pending_.clear();
  }

  bool has_partial_line() const { return !pending_.empty(); }

 private:
  std::string pending_;
};

}  // namespace xeonplace::spawn
