#include "daemon/model/timestamp.hpp"

#include <cctype>

#include <fmt/format.h>

namespace govjobd::model {

Timestamp now_utc() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

std::string format_timestamp(Timestamp t) {
  using namespace std::chrono;
  const auto days = floor<std::chrono::days>(t);
  const year_month_day ymd{days};
  const hh_mm_ss hms{t - days};
  const int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {  // outside what the fixed layout below holds
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", year, static_cast<unsigned>(ymd.month()),
                       static_cast<unsigned>(ymd.day()), hms.hours().count(), hms.minutes().count(),
                       hms.seconds().count(), hms.subseconds().count());
  }
  // Digits into a fixed layout: a job formats several timestamps, and with snprintf or fmt (which parses the
  // format string each time) they were a tenth of the daemon's instructions per job (callgrind).
  std::string out = "0000-00-00T00:00:00.000000Z";
  const auto put = [&out](std::size_t end, long long value, int width) {
    for (int i = 1; i <= width; ++i, value /= 10) out[end - i] = static_cast<char>('0' + value % 10);
  };
  put(4, year, 4);
  put(7, static_cast<unsigned>(ymd.month()), 2);
  put(10, static_cast<unsigned>(ymd.day()), 2);
  put(13, hms.hours().count(), 2);
  put(16, hms.minutes().count(), 2);
  put(19, hms.seconds().count(), 2);
  put(26, hms.subseconds().count(), 6);
  return out;
}

namespace {

bool read_digits(std::string_view text, std::size_t& pos, std::size_t count, int& out) {
  if (pos + count > text.size()) return false;
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = text[pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    value = value * 10 + (c - '0');
  }
  pos += count;
  out = value;
  return true;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

std::optional<Timestamp> parse_timestamp(std::string_view text) {
  using namespace std::chrono;
  std::size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!read_digits(text, pos, 4, y) || !expect(text, pos, '-') || !read_digits(text, pos, 2, mo) ||
      !expect(text, pos, '-') || !read_digits(text, pos, 2, d))
    return std::nullopt;
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != ' ')) return std::nullopt;
  ++pos;
  if (!read_digits(text, pos, 2, h) || !expect(text, pos, ':') || !read_digits(text, pos, 2, mi) ||
      !expect(text, pos, ':') || !read_digits(text, pos, 2, s))
    return std::nullopt;
  long long micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (digits < 6) micros = micros * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 6; ++i) micros *= 10;
  }
  const std::string_view zone = text.substr(pos);
  if (!(zone.empty() || zone == "Z" || zone == "+00:00" || zone == "+00")) return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  return time_point_cast<microseconds>(sys_days{ymd}) + hours{h} + minutes{mi} + seconds{s} +
         microseconds{micros};
}

Timestamp first_instant() {
  static const Timestamp first = *parse_timestamp("0001-01-01 00:00:00");
  return first;
}

Timestamp last_instant() {
  static const Timestamp last = *parse_timestamp("9999-12-31 23:59:59.999999");
  return last;
}

std::optional<Timestamp> parse_bound(std::string_view text) {
  if (auto t = parse_timestamp(text)) return t;
  if (text == "infinity") return last_instant();
  if (text == "-infinity" || text.ends_with(" BC")) return first_instant();
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits > 4 && digits < text.size() && text[digits] == '-') return last_instant();  // "10000-01-01 00:00:00"
  return std::nullopt;
}

}  // namespace govjobd::model
