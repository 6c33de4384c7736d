// The store's methods for the run loop: claim, fenced writes, heartbeat, cancel requests, reaping.
#include <pqxx/pqxx>

#include "daemon/store/pg_errors.hpp"
#include "daemon/store/store_impl.hpp"

namespace govjobd::store {

using detail::translate_errors;

namespace {

std::optional<std::string> text_or_null(const pqxx::field& f) {
  return f.is_null() ? std::nullopt : std::optional<std::string>(f.c_str());
}

std::optional<model::Timestamp> time_or_null(const pqxx::field& f) {
  return f.is_null() ? std::nullopt : model::parse_timestamp(f.c_str());
}

std::optional<std::string> json_or_null(const std::optional<nlohmann::json>& j) {
  return j ? std::optional<std::string>(j->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
           : std::nullopt;
}

WriteOutcome write_one(pqxx::transaction_base& t, const JobWrite& w) {
  const auto row = t.exec_prepared1(
      "job_write", w.job_id, w.worker_id, w.current_step_index,
      w.append_results.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), json_or_null(w.health_before),
      json_or_null(w.health_after), w.terminal_status, w.status_reason, json_or_null(w.evidence),
      w.transition_step_index);
  if (row[0].as<int>() > 0) return WriteOutcome::Applied;
  if (w.terminal_status &&
      t.exec_prepared1("job_end_recorded", w.job_id, w.worker_id, *w.terminal_status, w.status_reason)[0].as<int>() > 0)
    return WriteOutcome::Applied;
  return WriteOutcome::Fenced;
}

}  // namespace

void Store::worker_register(const std::string& worker_id, const std::string& host, int pid, const std::string& version) {
  translate_errors([&] {
    pqxx::work w(impl_->conn);
    w.exec_prepared("worker_register", worker_id, host, pid, version);
    w.commit();
  });
}

HeartbeatResult Store::worker_heartbeat(const std::string& worker_id, const std::vector<std::string>& job_ids,
                                        long long lease_ms) {
  return translate_errors([&] {
    pqxx::work w(impl_->conn);
    const auto row = w.exec_prepared1("worker_heartbeat", worker_id, nlohmann::json(job_ids).dump(), lease_ms);
    w.commit();
    return HeartbeatResult{row[0].as<int>() > 0, row[1].as<int>()};
  });
}

void Store::worker_stop(const std::string& worker_id) {
  translate_errors([&] {
    pqxx::work w(impl_->conn);
    w.exec_prepared("worker_stop", worker_id);
    w.commit();
  });
}

std::vector<ClaimedJob> Store::job_claim(const std::string& worker_id, int limit, long long lease_ms) {
  return translate_errors([&] {
    // One statement, atomic by itself: autocommit saves the BEGIN and COMMIT round trips.
    pqxx::nontransaction w(impl_->conn);
    const auto rows = w.exec_prepared("job_claim", worker_id, limit, lease_ms);
    std::vector<ClaimedJob> out;
    out.reserve(rows.size());
    for (const auto& r : rows)
      out.push_back({r[0].c_str(), text_or_null(r[1]), text_or_null(r[2]), time_or_null(r[3]),
                     time_or_null(r[4]).value_or(model::now_utc()),
                     r[5].is_null() ? std::nullopt : std::optional<int>(r[5].as<int>())});
    return out;
  });
}

std::vector<WriteOutcome> Store::job_write_batch(const std::vector<JobWrite>& writes) {
  return translate_errors([&] {
    std::vector<WriteOutcome> out;
    if (writes.size() == 1) {  // one statement, atomic by itself
      pqxx::nontransaction n(impl_->conn);
      out.push_back(write_one(n, writes.front()));
      return out;
    }
    try {
      pqxx::work w(impl_->conn);
      for (const auto& write : writes) out.push_back(write_one(w, write));
      w.commit();
      return out;
    } catch (const pqxx::sql_error&) {
      // One write broke the batch (a rule of the database refused it): give each its own transaction,
      // so that the others land and the broken one is reported alone.
    }
    out.clear();
    for (const auto& write : writes) {
      pqxx::work w(impl_->conn);
      out.push_back(write_one(w, write));
      w.commit();
    }
    return out;
  });
}

std::vector<CancelRequest> Store::job_cancel_requests(const std::string& worker_id) {
  return translate_errors([&] {
    pqxx::read_transaction r(impl_->conn);
    std::vector<CancelRequest> out;
    for (const auto& row : r.exec_prepared("job_cancel_requests", worker_id))
      out.push_back({row[0].c_str(), row[1].c_str(), row[2].c_str()});
    return out;
  });
}

int Store::job_reap(const std::string& worker_id, long long lease_ms, long long hold_ms, int limit,
                    const std::function<ReapDecision(const LostJob&)>& decide) {
  return translate_errors([&] {
    pqxx::work w(impl_->conn);
    int reaped = 0;
    const std::string reaper_id = "reaper:" + worker_id;
    for (const auto& row : w.exec_prepared("job_reap_candidates", limit, worker_id, lease_ms, hold_ms)) {
      LostJob lost{row[0].c_str(), row[1].c_str(),       text_or_null(row[2]), row[3].c_str(),
                   row[4].is_null() ? 0 : row[4].as<int>(), time_or_null(row[5]), time_or_null(row[6])};
      const ReapDecision d = decide(lost);
      w.exec_prepared("job_reap", lost.job_id, reaper_id, d.append_results.dump(), d.reason, d.step_index,
                      d.evidence.dump());
      ++reaped;
    }
    w.commit();
    return reaped;
  });
}

long long Store::jobs_pending_count() {
  return translate_errors([&] {
    pqxx::read_transaction r(impl_->conn);
    return r.exec_prepared1("jobs_pending_count")[0].as<long long>();
  });
}

long long Store::signal_record(const SignalRow& s) {
  return translate_errors([&] {
    pqxx::work w(impl_->conn);
    const auto row = w.exec_prepared1("signal_record", s.job_id, s.contract_id, s.step_index, s.scope, s.signal_type,
                                      s.decision, s.reason, s.recorded_by);
    w.commit();
    return row[0].as<long long>();
  });
}

int Store::jobs_delete_terminal(long long keep_ms, int batch_size) {
  return translate_errors([&] {
    pqxx::work w(impl_->conn);
    const auto r = w.exec_prepared("jobs_delete_terminal", keep_ms, batch_size);
    w.commit();
    return static_cast<int>(r.affected_rows());
  });
}

}  // namespace govjobd::store
