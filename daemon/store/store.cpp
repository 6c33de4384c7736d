#include "daemon/store/store.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <vector>

#include <pqxx/pqxx>

#include "config/settings_loader.hpp"
#include "daemon/store/pg_errors.hpp"
#include "daemon/store/rows.hpp"
#include "daemon/store/sql_files.hpp"
#include "daemon/store/store_impl.hpp"

namespace govjobd::store {

using detail::translate_errors;

namespace detail {
std::string first_line(const std::string& message) {
  std::string s = message;
  for (const char* prefix : {"ERROR:  ", "FATAL:  "})
    if (s.starts_with(prefix)) s.erase(0, std::string_view(prefix).size());
  const auto nl = s.find('\n');
  if (nl != std::string::npos) s.erase(nl);
  return s;
}
}  // namespace detail

namespace {

constexpr const char* kPreparedQueries[] = {
    "job_enqueue",       "job_find_by_contract", "job_list",            "job_get",
    "job_cancel",  "worker_register",     "worker_heartbeat", "worker_stop",
    "job_write_batch",      "job_cancel_requests", "job_reap_candidates", "job_reap",
    "jobs_pending_count", "signal_record",  "jobs_delete_terminal", "workers_delete_gone", "jobs_verify",
    "job_claim_candidates", "job_claim_isolated", "contract_columns", "jobs_to_end", "target_holds_release",
    "pause_insert", "pause_resume", "pause_list", "job_waiting", "jobs_pending_age", "jobs_count_by_status",
    "target_holds_list", "worker_list", "job_wake_pass", "job_transitions_after", "transition_last_id", "job_status",
    "job_ids_between", "jobs_window_pass", "notify_queue_usage"};

// One row of queries/job_list.sql.
JobSummary job_summary_of(const pqxx::row& row) {
  using namespace detail;
  return {row[0].as<std::string>(), or_default<std::string>(row[1]), or_default<std::string>(row[2]),
          text_or_null(row[3]),     or_default<int>(row[4]),          or_default<int>(row[5]),
          time_or_null(row[6]),     time_or_null(row[7]),             time_or_null(row[8]),
          time_or_null(row[9]),     text_or_null(row[10]),            or_default<double>(row[11]),
          or_null<double>(row[12])};
}

// PostgreSQL writes `timestamp` columns as "2026-11-28T16:19:50.123456" in JSON; every time is UTC, so
// say so: "...Z".
void mark_utc(nlohmann::json& object) {
  for (auto& [key, value] : object.items()) {
    if (!value.is_string() || !key.ends_with("_at")) continue;
    if (auto t = model::parse_timestamp(value.get_ref<const std::string&>())) value = model::format_timestamp(*t);
  }
}

}  // namespace

Store::Impl::Impl(const std::string& url, std::string schema, config::ContractSettings contract_settings)
    : conn(with_connection_bounds(url)), jobs_schema(std::move(schema)), contract(std::move(contract_settings)) {
  stay_down_when_cut(conn);
  pqxx::nontransaction setup(conn);
  // Values this session writes that PostgreSQL compresses (a job row past about 2 kB: its results, evidence)
  // use lz4 where the server has it, a fifth of pglz's cost (the 3-step bench: +17 % jobs/s). Read back by the
  // same server whoever reads them; a column the creator gave a method of its own keeps it.
  // No JIT: compiling a statement costs about a second, which only a long analytic query earns back. The claim's
  // estimated cost passes `jit_above_cost` with a large queue (the contract gate's window scan alone, with
  // 1,000,000 PENDING jobs), and every claim then took 1.1 s instead of 1.1 ms (docs/benchmarks.md).
  setup.exec0(std::string("SELECT set_config('default_toast_compression', 'lz4', false) FROM pg_settings "
                          "WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals); "
                          "SET application_name = 'govjobd'; SET DateStyle = 'ISO'; SET TimeZone = 'UTC'; SET jit = off; "
                          // a policy the owner of a table puts on it fails a read instead of running its code
                          "SET row_security = off; "
                          "SET search_path = ") +
              kSearchPath);
  for (const char* name : kPreparedQueries) conn.prepare(name, sql(query(name)));
  // the claim twice: of the oldest jobs, walking those not parked; of one job by its id, parked or not
  conn.prepare("job_claim", sql(for_claim(query("job_claim"), false, contract.enabled)));
  conn.prepare(kClaimById, sql(for_claim(query("job_claim"), true, contract.enabled)));
}

const char* Store::Impl::claim_statement(const std::optional<std::string>& only) {
  return only ? kClaimById : "job_claim";
}

std::string Store::Impl::sql(std::string_view text) const {
  return for_contracts(for_jobs_schema(text, jobs_schema), contract, jobs_schema);
}

std::string Store::Impl::execute_text(const char* name, const Params& params) {
  conn.prepare_now(name);
  std::string out = std::string("EXECUTE ") + name + "(";
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (i > 0) out += ", ";
    out += params[i] ? conn.quote(*params[i]) : std::string("NULL");
  }
  return out + ")";
}

std::unique_ptr<Store> Store::connect(const std::string& url, const std::string& jobs_schema,
                                      const config::ContractSettings& contract) {
  if (!config::valid_schema_name(jobs_schema))
    throw std::invalid_argument("database.jobs_schema: not a schema name govjobd accepts: " + jobs_schema);
  return detail::redacting_connect_errors(url, [&] {
    return translate_errors(
        [&] { return std::unique_ptr<Store>(new Store(std::make_unique<Impl>(url, jobs_schema, contract))); });
  });
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

int latest_schema_version() { return static_cast<int>(migrations().size()); }

// libpqxx 6.4 may reactivate a connection on its next use (after it deactivated it), silently, without the
// session's settings (its search_path among them: the queries' bare names would then resolve in whatever
// schema a writer planted them; its timeouts). A cut connection must fail instead: its owner connects anew
// and sets the session up. (A connection cut under a query already stays down, tested; this rules out the rest.)
void stay_down_when_cut(pqxx::connection_base& conn) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  conn.inhibit_reactivation(true);
#pragma GCC diagnostic pop
}

std::string with_connection_bounds(const std::string& url) {
  std::vector<std::pair<std::string, std::string>> bounds{
      {"keepalives", "1"}, {"keepalives_idle", "10"}, {"keepalives_interval", "5"}, {"keepalives_count", "3"},
      {"tcp_user_timeout", "30000"}};
  if (std::getenv("PGCONNECT_TIMEOUT") == nullptr) bounds.insert(bounds.begin(), {"connect_timeout", "10"});
  const bool uri = url.starts_with("postgresql://") || url.starts_with("postgres://");
  std::string lower = url;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string out = url;
  for (const auto& [key, value] : bounds) {
    if (lower.find(key + "=") != std::string::npos || lower.find(key + " =") != std::string::npos) continue;
    if (uri) out += (out.find('?') == std::string::npos ? "?" : "&") + key + "=" + value;
    else out += (out.empty() ? "" : " ") + key + "=" + value;
  }
  return out;
}

void Store::set_timeouts(const ConnectionTimeouts& t) {
  translate_errors([&] {
    pqxx::nontransaction n(impl_->conn);
    n.exec0("SET statement_timeout = " + std::to_string(t.statement.count()) +
            "; SET lock_timeout = " + std::to_string(t.lock.count()));
  });
}

std::string Store::job_enqueue(const JobEnqueueParams& p) {
  return translate_errors([&] {
    try {
      pqxx::work w(impl_->conn);
      const auto row = w.exec_prepared1("job_enqueue", p.contract_id, p.steps.dump(), p.timeout_minutes,
                                        p.created_by, "enqueued by " + p.created_by);
      w.commit();
      return row[0].as<std::string>();
    } catch (const pqxx::unique_violation&) {
      pqxx::read_transaction r(impl_->conn);
      const auto existing = r.exec_prepared("job_find_by_contract", p.contract_id);
      throw RequestRejected("contract " + p.contract_id + " already has a job" +
                            (existing.empty() ? std::string() : " (" + existing[0][0].as<std::string>() + ")") +
                            "; one job per contract");
    }
  });
}

std::vector<JobSummary> Store::job_list(const JobListParams& p) {
  return translate_errors([&] {
    pqxx::read_transaction r(impl_->conn);
    const auto since = p.since ? std::optional<std::string>(model::format_timestamp(*p.since)) : std::nullopt;
    const auto within = p.within ? std::optional<long long>(p.within->count()) : std::nullopt;
    const auto rows =
        r.exec_prepared("job_list", p.status, p.limit, p.contract_id, since, within, p.target_glob, p.step_type);
    std::vector<JobSummary> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back(job_summary_of(row));
    return out;
  });
}

std::optional<nlohmann::json> Store::job_get(const std::string& job_id, long long max_value_bytes) {
  return translate_errors([&]() -> std::optional<nlohmann::json> {
    pqxx::read_transaction r(impl_->conn);
    const auto rows = r.exec_prepared("job_get", job_id, max_value_bytes);
    if (rows.empty()) return std::nullopt;
    auto job = nlohmann::json::parse(rows[0][0].c_str());
    mark_utc(job);
    for (auto& t : job["transitions"]) mark_utc(t);
    return job;
  });
}

std::vector<std::pair<std::string, std::string>> Store::jobs_verify(const std::optional<std::string>& since) {
  return translate_errors([&] {
    std::vector<std::pair<std::string, std::string>> out;
    try {
      pqxx::read_transaction r(impl_->conn);
      for (const auto& row : r.exec_prepared("jobs_verify", since)) out.emplace_back(row[0].c_str(), row[1].c_str());
    } catch (const pqxx::sql_error& e) {
      // sessions run with row_security off: a policy the table's owner put on a table verify reads fails the
      // read rather than running its code (or hiding rows), and is itself the finding
      if (detail::sqlstate_of(e) != "42501" || std::string_view(e.what()).find("row-level security") == std::string_view::npos)
        throw;
      out.emplace_back("governance_jobs", "not read: " + detail::first_line(e.what()) +
                                              " (its policies are not govjobd's; nothing else was checked)");
    }
    return out;
  });
}

CancelOutcome Store::job_cancel(const JobCancelParams& p) {
  return translate_errors([&] {
    pqxx::work w(impl_->conn);
    const std::string outcome = w.exec_prepared1("job_cancel", p.job_id, p.requested_by, p.reason)[0].c_str();
    w.commit();
    if (outcome == "CANCELLED") return CancelOutcome::Cancelled;
    if (outcome == "REQUESTED") return CancelOutcome::Requested;
    throw RequestRejected("job " + p.job_id + (outcome == "not found" || outcome.starts_with("refused") ? " " : " is ") + outcome);
  });
}

}  // namespace govjobd::store
