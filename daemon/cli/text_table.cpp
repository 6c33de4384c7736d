#include "daemon/cli/text_table.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "daemon/log/logging.hpp"
#include "daemon/model/timestamp.hpp"

namespace govjobd::cli {

namespace {

// Characters of valid UTF-8 (one_line's output): the bytes that start one.
std::size_t characters(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// At most `width` characters of one line already escaped, cut with "…".
std::string cut(std::string_view escaped, std::size_t width) {
  if (characters(escaped) <= width) return std::string(escaped);
  std::string out;
  std::size_t kept = 0;
  for (const char c : escaped) {
    if ((c & 0xC0) != 0x80 && ++kept > width - 1) break;
    out += c;
  }
  return out + "…";
}

}  // namespace

std::string one_line(std::string_view text, std::size_t width) { return cut(log::escape_line(text), width); }

TextTable::TextTable(std::vector<Column> columns, std::size_t indent) : columns_(std::move(columns)), indent_(indent) {}

void TextTable::add(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  for (auto& cell : cells) cell = log::escape_line(cell);
  rows_.push_back(std::move(cells));
  notes_.emplace_back();
}

void TextTable::add_note(std::string text) {
  if (!notes_.empty()) notes_.back().push_back(std::move(text));
}

std::vector<std::size_t> TextTable::widths() const {
  std::vector<std::size_t> out;
  std::size_t used = indent_;
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    std::size_t w = characters(columns_[i].title);
    for (const auto& row : rows_) w = std::max(w, characters(row[i]));
    out.push_back(std::max(characters(columns_[i].title), std::min(w, columns_[i].max_width)));
    used += out.back() + (i > 0 ? 2 : 0);
  }
  if (used > kTextWidth && !out.empty()) {
    const std::size_t others = used - out.back();
    out.back() = std::max<std::size_t>(characters(columns_.back().title), others < kTextWidth ? kTextWidth - others : 0);
  }
  return out;
}

std::string TextTable::line(const std::vector<std::string>& cells, const std::vector<std::size_t>& widths) const {
  std::string out(indent_, ' ');
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const std::string cell = cut(cells[i], widths[i]);
    out += cell;
    if (i + 1 < cells.size()) out += std::string(widths[i] - characters(cell) + 2, ' ');
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out + "\n";
}

std::string TextTable::render() const {
  const auto w = widths();
  std::vector<std::string> titles;
  for (const auto& c : columns_) titles.push_back(c.title);
  std::string out = line(titles, w);
  for (std::size_t r = 0; r < rows_.size(); ++r) {
    out += line(rows_[r], w);
    for (const auto& note : notes_[r]) out += one_line(std::string(indent_ + 4, ' ') + note) + "\n";
  }
  return out;
}

std::string age_text(double seconds) {
  const auto s = static_cast<long long>(std::max(0.0, std::floor(seconds)));
  if (s < 120) return fmt::format("{}s", s);
  if (s < 7200) return fmt::format("{}m", s / 60);
  if (s < 172800) return fmt::format("{}h", s / 3600);
  return fmt::format("{}d", s / 86400);
}

std::string short_time(const std::string& iso) {
  if (iso.size() < 16) return "-";
  std::string out = iso.substr(0, 16);
  out[10] = ' ';
  return out;
}

std::string second_time(const std::string& iso) {
  if (iso.empty()) return "-";
  const auto t = model::parse_timestamp(iso);
  if (!t) return one_line(iso, 30);
  std::string out = model::format_timestamp(*t).substr(0, 19);
  out[10] = ' ';
  return out;
}

std::string duration_text(double seconds) {
  if (!(seconds >= 0)) return "-";  // negative or NaN: clocks or rows that disagree
  const auto ms = static_cast<long long>(std::llround(std::min(seconds, 1e12) * 1000));
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 60'000) return fmt::format("{}.{}s", ms / 1000, ms % 1000 / 100);
  const long long s = ms / 1000;
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
}

}  // namespace govjobd::cli
