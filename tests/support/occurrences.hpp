#pragma once

// How many times `needle` occurs in `text` (a daemon's log, a captured logger's output), overlaps counted.
#include <cstddef>
#include <string>

namespace govjobd::testing {

inline std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace govjobd::testing
