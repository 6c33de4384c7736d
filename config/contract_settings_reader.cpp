#include "config/contract_settings_reader.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace govjobd::config {

namespace {

constexpr const char* kIdentifierRule =
    "ASCII letters, digits, '_' and '$', not starting with a digit or '$', at most 63 bytes";

// Reads `key` into `out` and reports it at its own position unless it is an identifier (or, for the table,
// `schema.table` of two).
void identifier(MapReader& m, const char* key, std::string& out, bool qualified = false) {
  m.text(key, out, false);
  const std::string_view name = out;
  const auto dot = qualified ? name.find('.') : std::string_view::npos;
  const bool ok = dot == std::string_view::npos
                      ? valid_sql_identifier(name)
                      : valid_sql_identifier(name.substr(0, dot)) && valid_sql_identifier(name.substr(dot + 1));
  if (ok) return;
  const YAML::Node value = m.node()[key];
  m.sink().add(value.IsDefined() ? value.Mark() : m.node().Mark(), m.path() + "." + key,
               fmt::format("'{}' is not {} govjobd accepts ({}{})", out, qualified ? "a table name" : "a column name",
                           kIdentifierRule, qualified ? "; optionally schema.table" : ""));
}

}  // namespace

bool valid_sql_identifier(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!letter(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return letter(c) || (c >= '0' && c <= '9') || c == '$'; });
}

void read_contract(MapReader& m, ContractSettings& s) {
  m.boolean("enabled", s.enabled);
  identifier(m, "table", s.table, true);
  if (auto c = m.map("columns")) {
    identifier(*c, "id", s.columns.id);
    identifier(*c, "status", s.columns.status);
    identifier(*c, "affected_capabilities", s.columns.affected_capabilities);
    identifier(*c, "window_start", s.columns.window_start);
    identifier(*c, "window_end", s.columns.window_end);
    c->finish();
  }
  m.finish();
}

}  // namespace govjobd::config
