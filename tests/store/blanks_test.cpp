// Two lists of one character set: the log's escape (daemon/log/logging.cpp, invisible()) and the blanks a cancel's
// requester may not hide "govjobd" or a worker id behind (migration 23's `blank` in govjobd.job_cancel). Each
// says the other keeps them in step; this test holds them to it, over every Unicode code point.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "daemon/log/logging.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;

namespace {

std::string utf8(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xc0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    s += static_cast<char>(0xe0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    s += static_cast<char>(0xf0 | (c >> 18));
    s += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (c & 0x3f));
  }
  return s;
}

// The value of `blank constant text := '...' '...';` in a function's source: SQL string literals that a
// newline joins, each with its quotes doubled.
std::string blank_constant(const std::string& source) {
  const std::string marker = "blank constant text :=";
  std::size_t at = source.find(marker);
  REQUIRE(at != std::string::npos);
  at += marker.size();
  std::string value;
  while (true) {
    while (at < source.size() && (source[at] == ' ' || source[at] == '\n')) ++at;
    if (at >= source.size() || source[at] != '\'') break;
    for (++at; at < source.size(); ++at) {
      if (source[at] == '\'' && at + 1 < source.size() && source[at + 1] == '\'') {
        value += '\'';
        ++at;
      } else if (source[at] == '\'') {
        ++at;
        break;
      } else {
        value += source[at];
      }
    }
  }
  REQUIRE(source.compare(at, 1, ";") == 0);
  return value;
}

}  // namespace

TEST_CASE("the blanks a cancel's requester may not sign behind are the characters the log escapes, every code "
          "point but the ASCII space", "[store]") {
  TestDatabase db;
  const std::string blank = blank_constant(
      db.scalar("SELECT prosrc FROM pg_proc WHERE oid = 'govjobd.job_cancel(uuid, text, text)'::regprocedure"));
  // the database's own verdict on every code point (a UTF-8 database; surrogates are no characters)
  pqxx::work tx(db.sql());
  // ~* as job_cancel matches (case-insensitively). The test database's collation is C: another locale could
  // only add members of [:space:], and each of those is in the class's explicit list already.
  const auto rows = tx.exec_params("SELECT cp FROM generate_series(1, 1114111) cp "
                                   "WHERE (cp < 55296 OR cp > 57343) AND chr(cp) ~* $1 ORDER BY cp",
                                   blank);
  std::vector<char32_t> in_sql;
  for (const auto& row : rows) in_sql.push_back(static_cast<char32_t>(row[0].as<long>()));
  tx.commit();
  REQUIRE(in_sql.size() > 100);  // the pattern was read, not an empty class

  std::size_t next = 0;
  int differ = 0;
  for (char32_t c = 1; c <= 0x10ffff; ++c) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const bool sql = next < in_sql.size() && in_sql[next] == c;
    if (sql) ++next;
    const std::string text = utf8(c);
    const bool escaped = govjobd::log::escape_line(text) != text && c != '\\';
    if (c == ' ') {  // a blank to the cancel, shown as itself by the log: a plain space reads as one
      CHECK(sql);
      CHECK_FALSE(escaped);
      continue;
    }
    if (sql != escaped && ++differ <= 20) {
      INFO("U+" << std::hex << static_cast<unsigned>(c) << ": a blank to the cancel " << sql << ", escaped by the log "
                << escaped);
      CHECK(sql == escaped);
    }
  }
  CHECK(differ == 0);
}
