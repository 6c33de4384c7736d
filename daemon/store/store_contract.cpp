// The store's side of the contract gate (docs/contract.md): the facts a claim read from a job's contract
// row, and the check at daemon start that the contracts table can be read as configured.
#include "daemon/store/store_contract.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "daemon/store/pg_errors.hpp"
#include "daemon/store/rows.hpp"
#include "daemon/store/store_impl.hpp"

namespace govjobd::store {

namespace detail {

model::ContractFacts contract_facts_of(const pqxx::row& r, int first, const std::string& table) {
  model::ContractFacts f;
  f.table = table;
  const auto rows = r[first].as<long long>();  // rows with the job's contract_id: 0, 1, or 2 for two or more
  f.found = rows > 0;
  f.duplicated = rows > 1;
  f.status = text_or_null(r[first + 1]);
  f.capabilities_count = or_null<long long>(r[first + 3]);
  // written by to_jsonb: an array of strings and nulls; text that does not parse (bytes of a non-UTF-8
  // database) leaves the capabilities unread, and the gate refuses the job
  f.capabilities = texts_or_null(r[first + 2]);
  f.window_start = bound_or_null(r[first + 4]);  // infinity: never opens; -infinity: closed for good
  f.window_end = bound_or_null(r[first + 5]);
  return f;
}

bool contract_statement_error(const pqxx::sql_error& e) { return sqlstate_of(e).starts_with("42"); }

}  // namespace detail

using detail::translate_errors;

std::optional<std::string> contract_type_problem(std::string_view key, const std::string& type) {
  if (key == "id" && type != "uuid") return "uuid (governance_jobs.contract_id is uuid)";
  // built-in types only: a type of the creator's own could bring casts of its own, run with the daemon's rights
  if (key == "status" && type != "text" && type != "character varying" && type != "character")
    return "text or character varying";
  if (key == "affected_capabilities" && type != "text[]" && type != "character varying[]" && type != "character[]")
    return "an array of text or character varying";
  if ((key == "window_start" || key == "window_end") && type != "timestamp without time zone" &&
      type != "timestamp with time zone" && type != "date")
    return "timestamp without time zone (or with time zone, or date)";
  return std::nullopt;
}

std::vector<std::string> Store::contract_table_problems() {
  const config::ContractSettings& c = impl_->contract;
  const std::string table = contract_table_name(c, impl_->jobs_schema, false);
  const std::pair<std::string_view, const std::string*> columns[] = {
      {"id", &c.columns.id}, {"status", &c.columns.status}, {"affected_capabilities", &c.columns.affected_capabilities},
      {"window_start", &c.columns.window_start}, {"window_end", &c.columns.window_end}};
  std::string names = "{";
  for (const auto& [key, name] : columns) names += (names.size() > 1 ? "," : "") + *name;  // identifiers: no quoting needed
  names += "}";
  return translate_errors([&] {
    pqxx::result rows;
    try {
      pqxx::read_transaction r(impl_->conn);
      rows = r.exec_prepared("contract_columns", contract_table_name(c, impl_->jobs_schema, true), names);
    } catch (const pqxx::sql_error& e) {
      if (detail::transient(e)) throw;
      return std::vector<std::string>{fmt::format("contract.table: {} cannot be read: {}", table, detail::first_line(e.what()))};
    }
    std::vector<std::string> out;
    const std::string role = rows[0][5].c_str();
    if (!rows[0][1].as<bool>()) return std::vector<std::string>{fmt::format("contract.table: table {} does not exist", table)};
    if (!rows[0][2].as<bool>())
      return std::vector<std::string>{fmt::format("contract.table: role {} may not use the schema of {} (GRANT USAGE ON SCHEMA)", role, table)};
    if (!rows[0][6].is_null())
      return std::vector<std::string>{fmt::format("contract.table: {} is {}: a daemon runs no code of its owner's (docs/contract.md)",
                                                  table, rows[0][6].c_str())};
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& [key, name] = columns[i];
      const std::string where = fmt::format("contract.columns.{}: column \"{}\" of {}", key, *name, table);
      if (rows[i][3].is_null()) {
        out.push_back(where + " does not exist");
      } else if (!rows[i][4].as<bool>()) {
        out.push_back(fmt::format("{} may not be read by role {}: GRANT SELECT ON {} TO {}", where, role, table, role));
      } else if (auto expected = contract_type_problem(key, rows[i][3].c_str())) {
        out.push_back(fmt::format("{} is {}; expected {}", where, rows[i][3].c_str(), *expected));
      }
    }
    return out;
  });
}

WindowPassResult Store::jobs_window_pass(const WindowPassParams& p) {
  return translate_errors([&] { return detail::skipped_round("the window pass", [&] {
    pqxx::work w(impl_->conn);  // one statement, after the contracts table's lock with the gate on
    impl_->lock_contracts(w);
    const pqxx::row r = w.exec_prepared1("jobs_window_pass", p.ready_limit, p.ready.after_at, p.ready.after_id,
                                         p.parked_limit, p.parked.after_at, p.parked.after_id, p.head_limit);
    w.commit();
    WindowPassResult out;
    out.parked = r[0].as<long long>();
    out.unparked = r[1].as<long long>();
    out.ready_full = p.ready_limit > 0 && r[4].as<long long>() >= p.ready_limit;
    // a list read to its end starts over; so does a place PostgreSQL cannot go on from (a NULL created_at)
    if (out.ready_full && !r[2].is_null()) out.ready = {r[2].c_str(), r[3].c_str()};
    if (r[7].as<long long>() >= p.parked_limit && !r[5].is_null()) out.parked_next = {r[5].c_str(), r[6].c_str()};
    return out;
  }); });
}

}  // namespace govjobd::store
