#pragma once

// The text output of the operator commands: aligned columns within kTextWidth columns, every text on one line.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace govjobd::cli {

inline constexpr std::size_t kTextWidth = 100;

// `text` as one line (log::escape_line: a database text cannot add a line or a terminal control) of at most
// `width` characters, cut with "…".
std::string one_line(std::string_view text, std::size_t width = kTextWidth);

// Rows under titles; each column as wide as its widest cell up to its limit, the last one shrunk to fit the
// line in kTextWidth. Cells are escaped and cut by one_line.
class TextTable {
 public:
  struct Column {
    std::string title;
    std::size_t max_width;
  };
  explicit TextTable(std::vector<Column> columns, std::size_t indent = 0);
  void add(std::vector<std::string> cells);
  // The titles then the rows, each line ending in '\n'; below a row, its notes (`add_note`) indented.
  std::string render() const;
  // A line under the last row (the rest of what does not fit its columns), indented by 4, cut to the width.
  void add_note(std::string text);

 private:
  std::vector<std::size_t> widths() const;
  std::string line(const std::vector<std::string>& cells, const std::vector<std::size_t>& widths) const;
  std::vector<Column> columns_;
  std::size_t indent_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::vector<std::string>> notes_;  // per row
};

// "42s", "5m", "3h", "2d": the largest whole unit.
std::string age_text(double seconds);

// "2026-11-28 16:19" (UTC), or "-".
std::string short_time(const std::string& iso_or_empty);

// "2026-11-28 16:19:50" (UTC, to the second); "-" for empty; a text that is not a time, as one short line.
std::string second_time(const std::string& iso_or_empty);

// A duration in at most 8 characters: "250ms", "12.3s", "4m05s", "2h05m", "3d04h"; "-" when negative.
std::string duration_text(double seconds);

}  // namespace govjobd::cli
