#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace govjobd::model {

// Steps a reason names one by one at most (refused by the config, outside a contract's capabilities).
inline constexpr std::size_t kMaxStepsNamed = 10;

// A "; "-joined list for a reason or a log line that names at most `shown` items, then says how many more
// ("...; and 990 more steps refused"): a job of 1,000 steps must not make a megabyte of text.
class BoundedList {
 public:
  explicit BoundedList(std::size_t shown) : shown_(shown) {}
  // Counts an item; true when it is among those named (the caller then names it with add()).
  bool count() { return ++counted_ <= shown_; }
  void add(std::string_view item) {
    if (!text_.empty()) text_ += "; ";
    text_ += item;
  }
  // The named items, then "; and N more <what>" when some were counted and not named; "" when none were.
  std::string text(std::string_view what) const {
    return counted_ <= shown_ ? text_ : text_ + fmt::format("; and {} more {}", counted_ - shown_, what);
  }

 private:
  std::size_t shown_;
  std::size_t counted_ = 0;
  std::string text_;
};

}  // namespace govjobd::model
