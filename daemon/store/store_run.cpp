// The store's methods for the run loop: claim, fenced writes, heartbeat, cancel requests, reaping.
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "daemon/store/pg_errors.hpp"
#include "daemon/store/rows.hpp"
#include "daemon/store/store_contract.hpp"
#include "daemon/store/store_impl.hpp"

namespace govjobd::store {

using detail::translate_errors;

namespace {

using detail::or_default;
using detail::or_null;
using detail::text_or_null;
using detail::time_or_null;

// One row of queries/job_claim.sql that holds a job; `contract_table` is set when the contract gate is on.
ClaimedJob claimed_job_of(const pqxx::row& r, const std::optional<std::string>& contract_table) {
  ClaimedJob job{r[0].c_str(), text_or_null(r[1]), text_or_null(r[2]), time_or_null(r[3]),
                 time_or_null(r[4]).value_or(model::now_utc()), or_null<int>(r[5]), or_null<long long>(r[6]), std::nullopt,
                 std::nullopt, false, std::nullopt, std::nullopt, or_null<double>(r[17])};
  if (contract_table) job.contract = detail::contract_facts_of(r, 7, *contract_table);
  return job;
}

// The rows of queries/job_claim.sql: the jobs, and the row without a job that says when a window opens.
void add_claimed(const pqxx::result& rows, const std::optional<std::string>& contract_table, ClaimResult& out) {
  for (const auto& r : rows) {
    if (!r[0].is_null()) {
      out.jobs.push_back(claimed_job_of(r, contract_table));
      continue;
    }
    out.partial_holds += r[14].is_null() ? 0 : r[14].as<long long>();
    out.left_behind = out.left_behind || (!r[15].is_null() && r[15].as<bool>());
    out.dropped += r[16].is_null() ? 0 : r[16].as<long long>();
    if (r[13].is_null()) continue;
    const double seconds = r[13].as<double>();
    out.window_opens_in = std::chrono::milliseconds(static_cast<long long>(std::clamp(seconds, 0.0, 1e9) * 1000.0));
  }
}

// One row of queries/job_claim_isolated.sql: claimed without its steps, because of `claim_error`.
ClaimedJob isolated_job_of(const pqxx::row& r, const std::string& claim_error) {
  return {r[0].c_str(), text_or_null(r[1]), std::nullopt, time_or_null(r[2]),
          time_or_null(r[3]).value_or(model::now_utc()), std::nullopt, std::nullopt, claim_error, std::nullopt, false,
          std::nullopt, std::nullopt, or_null<double>(r[4])};
}

// One row of queries/job_reap_candidates.sql.
LostJob lost_job_of(const pqxx::row& r) {
  return {r[0].c_str(), r[1].c_str(), text_or_null(r[2]), r[3].c_str(), or_default<int>(r[4]),
          time_or_null(r[5]), time_or_null(r[6]), time_or_null(r[7]), text_or_null(r[8]), text_or_null(r[9])};
}

// The writes as job_write_batch.sql's array; a field left unset stays absent (the column keeps its value).
std::string writes_json(const std::vector<const JobWrite*>& writes) {
  nlohmann::json out = nlohmann::json::array();
  for (const JobWrite* w : writes) {
    nlohmann::json o = {{"job_id", w->job_id}, {"append_results", w->append_results}};
    if (w->current_step_index) o["current_step_index"] = *w->current_step_index;
    if (w->health_before) o["health_before"] = *w->health_before;
    if (w->health_after) o["health_after"] = *w->health_after;
    if (w->terminal_status) o["terminal_status"] = *w->terminal_status;
    if (w->status_reason) o["status_reason"] = *w->status_reason;
    if (w->evidence) o["evidence"] = *w->evidence;
    if (w->transition_step_index) o["transition_step_index"] = *w->transition_step_index;
    out.push_back(std::move(o));
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// One statement for all the writes of one worker (job_ids distinct); the outcome of each, in order.
std::vector<WriteResult> write_set(pqxx::transaction_base& t, const std::string& worker_id,
                                    const std::vector<const JobWrite*>& writes) {
  std::set<std::string> applied;
  for (const auto& row : t.exec_prepared("job_write_batch", worker_id, writes_json(writes))) applied.insert(row[0].c_str());
  std::vector<WriteResult> out;
  out.reserve(writes.size());
  for (const JobWrite* w : writes) {
    // Not written: fenced, unless this very end is already recorded (a write retried after its commit was lost).
    const bool done = applied.count(w->job_id) > 0 ||
                      (w->terminal_status && t.exec_prepared1("job_end_recorded", w->job_id, worker_id,
                                                              *w->terminal_status, w->status_reason)[0].as<int>() > 0);
    out.push_back({done ? WriteOutcome::Applied : WriteOutcome::Fenced, {}});
  }
  return out;
}

// The writes grouped into statements of one worker and distinct jobs, in the order they must run: a job
// written twice in one batch has its second write in the next round.
std::vector<std::vector<std::size_t>> statements_of(const std::vector<JobWrite>& writes) {
  std::map<std::pair<std::string, std::string>, int> seen;                  // (worker, job) -> writes so far
  std::map<std::pair<int, std::string>, std::vector<std::size_t>> rounds;  // (round, worker) -> indexes
  for (std::size_t i = 0; i < writes.size(); ++i)
    rounds[{seen[{writes[i].worker_id, writes[i].job_id}]++, writes[i].worker_id}].push_back(i);
  std::vector<std::vector<std::size_t>> out;
  for (auto& [key, indexes] : rounds) out.push_back(std::move(indexes));
  return out;
}

std::vector<WriteResult> write_all(pqxx::transaction_base& t, const std::vector<JobWrite>& writes,
                                   const std::vector<std::vector<std::size_t>>& statements) {
  std::vector<WriteResult> out(writes.size());
  for (const auto& indexes : statements) {
    std::vector<const JobWrite*> set;
    for (std::size_t i : indexes) set.push_back(&writes[i]);
    const auto outcomes = write_set(t, writes[indexes.front()].worker_id, set);
    for (std::size_t k = 0; k < indexes.size(); ++k) out[indexes[k]] = outcomes[k];
  }
  return out;
}

// A list of strings as a JSON array (the queries read text[] parameters from JSON: any text is safe).
std::string json_list(const std::vector<std::string>& items) {
  return nlohmann::json(items).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A uuid[] literal of job ids ('{}' for none); ids come from the database, never from job data.
std::string uuid_array(const std::vector<std::string>& ids) {
  std::string out = "{";
  for (const auto& id : ids) out += (out.size() > 1 ? "," : "") + id;
  return out + "}";
}

}  // namespace

void Store::worker_register(const std::string& worker_id, const std::string& host, int pid, const std::string& version,
                            const WorkerServes& serves) {
  translate_errors([&] {
    pqxx::work w(impl_->conn);
    w.exec_prepared("worker_register", worker_id, host, pid, version, json_list(serves.step_types),
                    json_list(serves.targets), json_list(serves.pools), serves.concurrency);
    w.commit();
  });
}

HeartbeatResult Store::worker_heartbeat(const WorkerHeartbeatParams& p) {
  return translate_errors([&] {
    pqxx::work w(impl_->conn);
    const std::optional<std::string> blocked =
        p.blocked_targets ? std::optional<std::string>(json_list(*p.blocked_targets)) : std::nullopt;
    std::optional<std::string> types, targets, pools;
    std::optional<int> concurrency;
    if (p.serves) {
      types = json_list(p.serves->step_types);
      targets = json_list(p.serves->targets);
      pools = json_list(p.serves->pools);
      concurrency = p.serves->concurrency;
    }
    const auto row = w.exec_prepared1("worker_heartbeat", p.worker_id, nlohmann::json(p.job_ids).dump(), p.lease.count(),
                                      blocked, p.host_blocked, types, targets, pools, concurrency,
                                      nlohmann::json(p.backup_for).dump());
    w.commit();
    return HeartbeatResult{row[0].as<int>() > 0, nlohmann::json::parse(row[1].c_str()).get<std::vector<std::string>>(),
                           nlohmann::json::parse(row[2].c_str()).get<std::vector<std::string>>()};
  });
}

void Store::worker_stop(const std::string& worker_id) {
  translate_errors([&] {
    pqxx::work w(impl_->conn);
    w.exec_prepared("worker_stop", worker_id);
    w.commit();
  });
}

ClaimResult Store::job_claim(const JobClaimParams& p) {
  return translate_errors([&] {
    const std::string excluded = uuid_array(p.excluded);
    const config::ContractSettings& gate = impl_->contract;
    const auto contract_table =
        gate.enabled ? std::optional<std::string>(contract_table_name(gate, impl_->jobs_schema, false)) : std::nullopt;
    // One statement, atomic by itself: autocommit saves the BEGIN and COMMIT round trips.
    const std::string step_types = json_list(p.step_types), targets = json_list(p.targets), pools = json_list(p.pools),
                      blocked = json_list(p.blocked_targets);
    const auto claim = [&](const std::optional<std::string>& only, ClaimResult& out) {
      pqxx::nontransaction w(impl_->conn);
      add_claimed(w.exec_prepared("job_claim", p.worker_id, p.limit, p.lease.count(), p.max_steps_bytes, excluded, only,
                                  model::kMaxContractCapabilities, model::kMaxContractCapabilitiesBytes, step_types,
                                  targets, pools, p.exclusive_targets, blocked, p.host_blocked, p.force),
                  contract_table, out);
      // holds of jobs left PENDING: released at once (another claim waits for none of them). The claim has
      // committed: a failure here must not lose its jobs; the periodic sweep releases what is left.
      if (out.partial_holds > 0) {
        try {
          w.exec_prepared("target_holds_release");
        } catch (const std::exception&) {
        }
      }
    };
    try {
      ClaimResult out;
      claim(p.only, out);
      for (auto& job : out.jobs) job.forced = p.force;
      return out;
    } catch (const pqxx::sql_error& e) {
      // a statement timeout may be a row's doing (its size): isolate rather than run the same claim again
      if (detail::transient(e) && e.sqlstate() != "57014") throw;
      // the contracts table cannot be read as configured (dropped, altered, a grant revoked): no row's doing
      if (contract_table && detail::contract_statement_error(e))
        throw std::runtime_error(fmt::format("contract.table: {} cannot be read ({}); no job claimed, jobs stay PENDING",
                                             *contract_table, detail::first_line(e.what())));
      if (p.only) {  // the one job asked for broke the claim: claimed alone, failed by its worker
        ClaimResult out;
        claim_alone(p, *p.only, detail::first_line(e.what()), out);
        return out;
      }
    }
    return claim_isolating(p, excluded, [&](const std::string& id, ClaimResult& out) { claim(id, out); });
  });
}

// Some row broke the claim: claim the candidates one by one; the row that fails again is claimed alone
// without reading its steps, and failed by its worker with the database's message.
ClaimResult Store::claim_isolating(const JobClaimParams& p, const std::string& excluded,
                                   const std::function<void(const std::string&, ClaimResult&)>& claim_one) {
  ClaimResult out;
  std::vector<std::string> candidates;
  {
    pqxx::read_transaction r(impl_->conn);
    for (const auto& row : r.exec_prepared("job_claim_candidates", p.limit, excluded)) candidates.emplace_back(row[0].c_str());
  }
  for (const auto& id : candidates) {
    try {
      claim_one(id, out);
    } catch (const pqxx::sql_error& e) {
      if (detail::transient(e) && e.sqlstate() != "57014") throw;
      claim_alone(p, id, detail::first_line(e.what()), out);
    }
  }
  return out;
}

void Store::claim_alone(const JobClaimParams& p, const std::string& id, const std::string& message, ClaimResult& out) {
  try {
    pqxx::nontransaction w(impl_->conn);
    for (const auto& r : w.exec_prepared("job_claim_isolated", id, p.worker_id, p.lease.count()))
      out.jobs.push_back(isolated_job_of(r, message));
  } catch (const pqxx::sql_error& again) {
    if (detail::transient(again)) throw;
    out.unclaimable.emplace_back(id, message + "; claimed alone: " + detail::first_line(again.what()));
  }
}

std::vector<WriteResult> Store::job_write_batch(const std::vector<JobWrite>& writes) {
  return translate_errors([&] {
    if (writes.empty()) return std::vector<WriteResult>{};
    const auto refused = [](const pqxx::sql_error& e) {
      return WriteResult{WriteOutcome::Refused, detail::first_line(e.what())};
    };
    const auto statements = statements_of(writes);
    try {
      if (statements.size() == 1) {  // atomic by itself: autocommit saves the BEGIN and COMMIT round trips
        pqxx::nontransaction n(impl_->conn);
        return write_all(n, writes, statements);
      }
      pqxx::work w(impl_->conn);
      auto out = write_all(w, writes, statements);
      w.commit();
      return out;
    } catch (const pqxx::sql_error& e) {
      if (detail::transient(e)) throw;  // run again, all of it
      if (writes.size() == 1) return std::vector<WriteResult>{refused(e)};
      // One write broke the batch (the database refused it): give each its own transaction, so that the
      // others land and the broken one is reported alone, with the database's message.
    }
    std::vector<WriteResult> out;
    for (const auto& write : writes) {
      try {
        pqxx::work w(impl_->conn);
        out.push_back(write_all(w, {write}, {{0}}).front());
        w.commit();
      } catch (const pqxx::sql_error& e) {
        if (detail::transient(e)) throw;  // the writes already made are made again harmlessly
        out.push_back(refused(e));
      }
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

int Store::job_reap(const JobReapParams& p, const std::function<ReapDecision(const LostJob&)>& decide) {
  return translate_errors([&] {
    pqxx::work w(impl_->conn);
    int reaped = 0;
    const std::string reaper_id = "reaper:" + p.worker_id;
    for (const auto& row : w.exec_prepared("job_reap_candidates", p.limit, p.worker_id, p.lease.count(), p.hold.count(),
                                           p.max_steps_bytes)) {
      const LostJob lost = lost_job_of(row);
      const ReapDecision d = decide(lost);
      w.exec_prepared("job_reap", lost.job_id, reaper_id, d.append_results.dump(), d.reason, d.step_index,
                      d.evidence.dump(), d.status);
      ++reaped;
    }
    w.commit();
    return reaped;
  });
}

std::vector<JobToEnd> Store::jobs_to_end(const JobsToEndParams& p) {
  return translate_errors([&] { return detail::skipped_on_timeout("the look for jobs to end", [&] {
    pqxx::read_transaction r(impl_->conn);
    std::vector<JobToEnd> out;
    for (const auto& row : r.exec_prepared("jobs_to_end", p.worker_id, p.lease.count(), p.unroutable_after.count(), p.limit))
      out.push_back({row[0].c_str(), text_or_null(row[1]), text_or_null(row[2])});
    return out;
  }); });
}

int Store::target_holds_release() {
  return translate_errors([&] { return detail::skipped_on_timeout("the release of stale target holds", [&] {
    pqxx::nontransaction w(impl_->conn);
    return w.exec_prepared("target_holds_release")[0][0].as<int>();
  }); });
}

void Store::job_wake_pass(const std::string& job_id, const std::string& payload) {
  translate_errors([&] {
    pqxx::work w(impl_->conn);
    w.exec_prepared("job_wake_pass", job_id, payload);
    w.commit();
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
    const auto rows = w.exec_prepared("signal_record", s.job_id, s.contract_id, s.step_index, s.scope, s.signal_type,
                                      s.decision, s.reason, s.recorded_by);
    if (rows.empty())
      throw RequestRejected(fmt::format("another signal is already recorded for job {} step {}", s.job_id, s.step_index));
    w.commit();
    return rows[0][0].as<long long>();
  });
}

int Store::jobs_delete_terminal(const JobsDeleteTerminalParams& p) {
  return translate_errors([&] {
    pqxx::work w(impl_->conn);
    const auto r = w.exec_prepared("jobs_delete_terminal", p.keep.count(), p.batch_size);
    w.commit();
    return static_cast<int>(r.affected_rows());
  });
}

}  // namespace govjobd::store
