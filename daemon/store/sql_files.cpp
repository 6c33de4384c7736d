#include "daemon/store/sql_files.hpp"

#include "config/settings_loader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace govjobd::store {

std::vector<Migration> migrations() {
  constexpr std::string_view prefix = "migrations/";
  std::vector<Migration> out;
  for (const auto& [path, sql] : embedded_sql()) {
    if (!path.starts_with(prefix)) continue;
    const std::string_view name = path.substr(prefix.size());
    int version = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), version);
    if (ec != std::errc() || end == name.data() || *end != '_')
      throw std::logic_error("migration file without a numeric prefix: " + std::string(name));
    out.push_back({version, name, sql});
  }
  std::sort(out.begin(), out.end(), [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i].version != static_cast<int>(i) + 1)
      throw std::logic_error("migrations must be numbered 1, 2, 3, ... without gaps: " + std::string(out[i].name));
  return out;
}

std::string_view query(std::string_view name) {
  const std::string wanted = "queries/" + std::string(name) + ".sql";
  for (const auto& [path, sql] : embedded_sql())
    if (path == wanted) return sql;
  throw std::logic_error("no embedded query " + std::string(name));
}

namespace {

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

void replace_all(std::string& text, std::string_view token, std::string_view value) {
  for (auto at = text.find(token); at != std::string::npos; at = text.find(token, at + value.size()))
    text.replace(at, token.size(), value);
}

}  // namespace

std::string for_jobs_schema(std::string_view sql, std::string_view schema) {
  if (!config::valid_schema_name(schema)) throw std::invalid_argument("invalid schema name for the jobs table: " + std::string(schema));
  constexpr std::string_view table = "governance_jobs";
  std::string out;
  out.reserve(sql.size() + 64);
  std::size_t from = 0;
  for (auto at = sql.find(table); at != std::string_view::npos; at = sql.find(table, at + table.size())) {
    const char before = at > 0 ? sql[at - 1] : ' ';
    const std::size_t end = at + table.size();
    const char after = end < sql.size() ? sql[end] : ' ';
    if (name_char(before) || before == '.' || before == '\'' || before == '"' || name_char(after) || after == '\'' ||
        after == '"')
      continue;
    out.append(sql.substr(from, at - from)).append(schema).append(".").append(table);
    from = end;
  }
  out.append(sql.substr(from));
  replace_all(out, "@jobs_schema_literal@", "'" + std::string(schema) + "'");
  replace_all(out, "@jobs_schema@", schema);
  return out;
}

std::string quoted_identifier(std::string_view name) {
  std::string out = "\"";
  for (const char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string contract_table_name(const config::ContractSettings& contract, std::string_view jobs_schema, bool quoted) {
  const std::string_view table = contract.table;
  const auto dot = table.find('.');
  const std::string_view schema = dot == std::string_view::npos ? jobs_schema : table.substr(0, dot);
  const std::string_view name = dot == std::string_view::npos ? table : table.substr(dot + 1);
  if (!quoted) return std::string(schema) + "." + std::string(name);
  return quoted_identifier(schema) + "." + quoted_identifier(name);
}

std::string for_contracts(std::string_view sql, const config::ContractSettings& contract, std::string_view jobs_schema) {
  const auto& c = contract.columns;
  const std::pair<const char*, const std::string*> columns[] = {
      {"id", &c.id}, {"status", &c.status}, {"affected_capabilities", &c.affected_capabilities},
      {"window_start", &c.window_start}, {"window_end", &c.window_end}};
  std::string out(sql);
  // the gate off: the same columns, no row, no table
  const std::string empty = "(SELECT NULL::uuid AS " + quoted_identifier(c.id) + ", NULL::text AS " +
                            quoted_identifier(c.status) + ", NULL::text[] AS " + quoted_identifier(c.affected_capabilities) +
                            ", NULL::timestamp AS " + quoted_identifier(c.window_start) + ", NULL::timestamp AS " +
                            quoted_identifier(c.window_end) + " WHERE false) AS gate_off";
  replace_all(out, "@contract_table@", contract.enabled ? contract_table_name(contract, jobs_schema, true) : empty);
  replace_all(out, "@contract_enabled@", contract.enabled ? "true" : "false");
  // a window's edge as a timestamp: past what one holds (a date column runs to 5874897 AD), infinity
  for (const char* key : {"window_start", "window_end"}) {
    const std::string column = std::string("@contract.") + key + "@";
    replace_all(out, std::string("@contract.") + key + "_at@",
                "(CASE WHEN " + column + " > '294276-12-31' THEN 'infinity' ELSE " + column + "::timestamp END)");
  }
  for (const auto& [key, name] : columns) replace_all(out, std::string("@contract.") + key + "@", quoted_identifier(*name));
  return out;
}

std::string for_claim(std::string_view sql, bool by_id, bool contract_enabled) {
  std::string out(sql);
  replace_all(out, "@claim.ready@", by_id ? "true" : "j.window_opens_at IS NULL");
  // the gate off: no UPDATE in the claim's plan at all (one more result relation, its indexes opened by every
  // claim, cost about 3 % of a job at concurrency 1)
  replace_all(out, "@claim.unpark@",
              contract_enabled ? std::string(query("job_claim_unpark")) : "SELECT NULL::uuid AS job_id WHERE false");
  return out;
}

}  // namespace govjobd::store
