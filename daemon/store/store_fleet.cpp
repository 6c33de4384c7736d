// The store's methods for operating the fleet (fleet.hpp): pauses, why jobs wait, status and workers.
#include <fmt/format.h>
#include <pqxx/pqxx>

#include "daemon/store/pg_errors.hpp"
#include "daemon/store/rows.hpp"
#include "daemon/store/store_impl.hpp"

namespace govjobd::store {

using namespace detail;  // the row readers and translate_errors

namespace {

// One row of queries/pause_list.sql.
Pause pause_of(const pqxx::row& r) {
  return {r[0].as<long long>(), text_or_null(r[1]), text_or_null(r[2]),       text_or_null(r[3]),
          time_or_null(r[4]),   r[5].c_str(),       r[6].c_str(),             time_or_null(r[7]),
          text_or_null(r[8]),   time_or_null(r[9]), or_default<bool>(r[10])};
}

// One row of queries/worker_list.sql.
WorkerRow worker_of(const pqxx::row& r) {
  return {r[0].c_str(),          r[1].c_str(),          r[2].c_str(),          or_default<double>(r[3]),
          r[4].c_str(),          or_default<long long>(r[5]), or_null<int>(r[6]), texts_or_null(r[7]),
          texts_or_null(r[8]),   texts_or_null(r[9]),   texts_or_null(r[10]),  or_null<bool>(r[11])};
}

std::optional<std::string> time_param(const std::optional<model::Timestamp>& t) {
  return t ? std::optional<std::string>(model::format_timestamp(*t)) : std::nullopt;
}

}  // namespace

std::optional<long long> Store::pause_create(const PauseParams& p) {
  return translate_errors([&]() -> std::optional<long long> {
    pqxx::work w(impl_->conn);
    const auto rows = w.exec_prepared("pause_insert", p.step_type, p.target_glob, p.pool, time_param(p.until),
                                      p.until_in ? std::optional<long long>(p.until_in->count()) : std::nullopt,
                                      p.reason, p.paused_by);
    w.commit();
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<long long>();
  });
}

std::vector<long long> Store::pause_resume(const PauseResumeParams& p) {
  return translate_errors([&] {
    pqxx::work w(impl_->conn);
    const auto rows = w.exec_prepared("pause_resume", p.pause_id, p.resumed_by);
    w.commit();
    std::vector<long long> resumed;
    for (const auto& r : rows) {
      if (r[2].is_null()) {
        resumed.push_back(r[0].as<long long>());
        continue;
      }
      const auto at = time_or_null(r[2]);
      throw RequestRejected(fmt::format("pause {} was already resumed by {} at {}", r[0].c_str(),
                                        or_default<std::string>(r[1]), at ? model::format_timestamp(*at) : r[2].c_str()));
    }
    if (p.pause_id && resumed.empty()) throw RequestRejected(fmt::format("pause {} not found", *p.pause_id));
    return resumed;
  });
}

std::vector<Pause> Store::pause_list(bool all, int limit) {
  return translate_errors([&] {
    pqxx::read_transaction r(impl_->conn);
    std::vector<Pause> out;
    for (const auto& row : r.exec_prepared("pause_list", all, limit)) out.push_back(pause_of(row));
    return out;
  });
}

std::vector<nlohmann::json> Store::job_waiting(const std::string& job_id, std::chrono::milliseconds lease) {
  return translate_errors([&] {
    pqxx::read_transaction r(impl_->conn);
    std::vector<nlohmann::json> out;
    for (const auto& row : r.exec_prepared("job_waiting", nlohmann::json::array({job_id}).dump(), 1,
                                           static_cast<long long>(lease.count()), true))
      out.push_back(nlohmann::json::parse(row[2].c_str()));
    return out;
  });
}

FleetStatus Store::fleet_status(const FleetStatusParams& p) {
  return translate_errors([&] { return detail::skipped_round("the queue's status", [&] {
    // one snapshot for both statements: a job unparked between them would count twice, one parked in neither
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> r(impl_->conn);
    impl_->lock_contracts(r);  // job_waiting.sql reads it with the gate on
    FleetStatus out;
    const auto age = r.exec_prepared1("jobs_pending_age");
    out.pending = age[0].as<long long>();
    out.oldest_pending_age_seconds = or_null<double>(age[1]);
    for (const auto reason : kWaitingReasons) out.pending_by_reason[std::string(reason)] = 0;
    // jobs parked for windows still to open: all counted as waiting for them, none among the jobs classified below
    out.parked = age[2].as<long long>();
    out.classified = out.pending_by_reason["contract_window"] = out.parked;
    // a row per reason, a job's in order: its first row classifies it
    std::string last;
    for (const auto& row : r.exec_prepared("job_waiting", std::optional<std::string>(), p.classify_limit,
                                           static_cast<long long>(p.lease.count()), false)) {
      if (last == row[0].c_str()) continue;
      last = row[0].c_str();
      ++out.classified;
      ++out.pending_by_reason[row[1].c_str()];
    }
    out.notify_queue_usage = r.exec_prepared1("notify_queue_usage")[0].as<double>();
    return out;
  }); });
}

std::map<std::string, long long> Store::jobs_count_by_status() {
  return translate_errors([&] {
    pqxx::read_transaction r(impl_->conn);
    std::map<std::string, long long> out;
    for (const auto& row : r.exec_prepared("jobs_count_by_status"))
      out[or_default<std::string>(row[0])] = row[1].as<long long>();
    return out;
  });
}

std::vector<TargetHold> Store::target_holds_list(int limit) {
  return translate_errors([&] {
    pqxx::read_transaction r(impl_->conn);
    std::vector<TargetHold> out;
    for (const auto& row : r.exec_prepared("target_holds_list", limit))
      out.push_back({row[0].c_str(), row[1].c_str(), row[2].c_str(), time_or_null(row[3])});
    return out;
  });
}

WorkerList Store::worker_list(std::chrono::milliseconds lease, int limit) {
  return translate_errors([&] {
    pqxx::read_transaction r(impl_->conn);
    WorkerList out;
    for (const auto& row : r.exec_prepared("worker_list", static_cast<long long>(lease.count()), limit)) {
      out.rows.push_back(worker_of(row));
      out.live = row[12].as<long long>();
      out.lost = row[13].as<long long>();
      out.stopped = row[14].as<long long>();
    }
    return out;
  });
}

}  // namespace govjobd::store
