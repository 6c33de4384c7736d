// The store's methods for the run loop: claim, fenced writes, heartbeat, cancel requests, reaping.
#include <algorithm>
#include <map>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
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
using detail::texts_or_null;
using detail::time_or_null;
using detail::json_list;

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

// The outcome of each write of one statement from the (job_id, applied | locked) rows it returned. Not
// returned: fenced (a write retried after its commit was lost is returned: queries/job_write_batch.sql).
std::vector<WriteResult> write_outcomes(const pqxx::result& rows, const std::vector<const JobWrite*>& writes) {
  std::map<std::string, WriteOutcome> returned;
  for (const auto& row : rows)
    returned[row[0].c_str()] = std::string_view(row[1].c_str()) == "locked" ? WriteOutcome::Locked : WriteOutcome::Applied;
  std::vector<WriteResult> out;
  out.reserve(writes.size());
  for (const JobWrite* w : writes) {
    const auto found = returned.find(w->job_id);
    out.push_back({found == returned.end() ? WriteOutcome::Fenced : found->second, {}});
  }
  return out;
}

// The writes of one statement (an entry of statements_of).
std::vector<const JobWrite*> write_set(const std::vector<JobWrite>& writes, const std::vector<std::size_t>& indexes) {
  std::vector<const JobWrite*> set;
  for (std::size_t i : indexes) set.push_back(&writes[i]);
  return set;
}

// One statement's parameters: the writes of one worker, of distinct jobs (an entry of statements_of).
std::vector<std::optional<std::string>> statement_params(const std::vector<JobWrite>& writes,
                                                         const std::vector<std::size_t>& indexes) {
  return {writes[indexes.front()].worker_id, writes_json(write_set(writes, indexes))};
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

// The outcome of each write, from the rows each statement returned, asked for in order (rows_of(s): the
// rows of statements[s]).
template <class RowsOf>
std::vector<WriteResult> outcomes_of(const std::vector<JobWrite>& writes,
                                     const std::vector<std::vector<std::size_t>>& statements, RowsOf rows_of) {
  std::vector<WriteResult> out(writes.size());
  for (std::size_t s = 0; s < statements.size(); ++s) {
    const auto outcomes = write_outcomes(rows_of(s), write_set(writes, statements[s]));
    for (std::size_t k = 0; k < statements[s].size(); ++k) out[statements[s][k]] = outcomes[k];
  }
  return out;
}

std::vector<WriteResult> write_all(pqxx::transaction_base& t, const std::vector<JobWrite>& writes,
                                   const std::vector<std::vector<std::size_t>>& statements) {
  return outcomes_of(writes, statements, [&](std::size_t s) {
    const auto params = statement_params(writes, statements[s]);
    return t.exec_prepared("job_write_batch", pqxx::prepare::make_dynamic_params(params));
  });
}

// queries/jobs_to_end.sql's step types the live daemons serve (their configs' executor names): a JSON array
// of strings, or NULL when no step type is among what is missing. Anything else reads as NULL: the job then
// ends naming what is missing.
std::optional<std::set<std::string>> step_types_of(const pqxx::field& f) {
  auto types = texts_or_null(f);
  if (!types) return std::nullopt;
  return std::set<std::string>(types->begin(), types->end());
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
                           nlohmann::json::parse(row[2].c_str()).get<std::vector<std::string>>(), row[3].as<double>()};
  });
}

void Store::worker_stop(const std::string& worker_id) {
  translate_errors([&] {
    pqxx::work w(impl_->conn);
    w.exec_prepared("worker_stop", worker_id);
    w.commit();
  });
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
        WriteResult result = write_all(w, {write}, {{0}}).front();
        w.commit();  // its outcome only once it is: a refusal at the commit (a deferred trigger) is its only one
        out.push_back(std::move(result));
      } catch (const pqxx::sql_error& e) {
        if (detail::transient(e)) throw;  // the writes already made are made again harmlessly
        out.push_back(refused(e));
      }
    }
    return out;
  });
}

// The writes and the claim in one message of several statements: PostgreSQL runs them as one implicit
// transaction, so they cost one round trip and one commit (one WAL flush). Each statement sees the ones
// before it, as in a transaction. When any of them fails, the whole transaction rolls back, though the
// pipeline still hands out the results of the statements before the failing one: the caller must treat
// every result as void on the first error (job_write_and_claim sends the writes and the claim again, each
// alone). libpqxx replays the statements one by one only when the message itself cannot run (its leading
// SELECT 1 fails); the writes are idempotent and the claim runs last, so that replay runs nothing twice (the
// claim's plan setting then ends with its own statement, and the claim is planned as PostgreSQL chooses).
WriteAndClaim Store::Impl::write_and_claim(const std::vector<JobWrite>& writes, const JobClaimParams& claim) {
  prepare_claim(claim.only);  // before the writes: a lock its planning waits for must not hold them
  const auto statements = statements_of(writes);
  std::vector<std::string> texts;
  for (const auto& indexes : statements) texts.push_back(execute_text("job_write_batch", statement_params(writes, indexes)));
  texts.push_back(claim_setting(claim.only));  // for the claim alone: the writes are sent before it
  texts.push_back(execute_text(claim_statement(claim.only), claim_params(claim, claim.only)));
  pqxx::nontransaction n(conn);
  pqxx::pipeline pipe(n);
  pipe.retain(static_cast<int>(texts.size()) + 1);  // sent together, by complete()
  std::vector<pqxx::pipeline::query_id> ids;
  for (const auto& text : texts) ids.push_back(pipe.insert(text));
  pipe.complete();
  WriteAndClaim out;
  out.writes = outcomes_of(writes, statements, [&](std::size_t s) { return pipe.retrieve(ids[s]); });
  pipe.retrieve(ids[ids.size() - 2]);  // the claim's setting: its error, if any, as the database's (sql_error)
  add_claim_rows(pipe.retrieve(ids.back()), out.claim);
  return out;
}

WriteAndClaim Store::job_write_and_claim(const std::vector<JobWrite>& writes, const JobClaimParams& claim) {
  WriteAndClaim out;
  std::optional<std::string> lock_wait;
  const bool joined = translate_errors([&] {
    try {
      out = impl_->write_and_claim(writes, claim);
      return true;
    } catch (const pqxx::sql_error& e) {  // nothing of `out` holds: everything rolled back
      // the claim's second for the contracts table's lock ran out: the writes go alone, the claim waits for the
      // next poll (claimed again here, it would hold this connection, and the heartbeat, a second more)
      if (detail::sqlstate_of(e) == "GJ006") lock_wait = detail::claim_lock_message(e);
      // run again, all of it: a lost connection. Not a grant revoked (42501: the writes alone tell whose it
      // is), which ran the batch again and again, and held its ends and the heartbeat behind it meanwhile
      else if (detail::transient(e) && e.sqlstate() != "57014" && detail::sqlstate_of(e) != "42501") throw;
      out = WriteAndClaim{};
      return false;  // rolled back: each on its own, where a refusal is told apart
    }
  });
  if (joined) {
    impl_->release_partial_holds(out.claim);
    return out;
  }
  out.writes = job_write_batch(writes);
  if (lock_wait) {
    out.claim_error = std::move(lock_wait);
    return out;
  }
  try {  // the writes have committed: a claim that fails now must not run them again
    out.claim = job_claim(claim);
  } catch (const std::exception& e) {
    out.claim_error = e.what();
  }
  return out;
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
  return translate_errors([&] { return detail::skipped_round("the look for jobs to end", [&] {
    pqxx::read_transaction r(impl_->conn);
    std::vector<JobToEnd> out;
    for (const auto& row : r.exec_prepared("jobs_to_end", p.worker_id, p.lease.count(), p.unroutable_after.count(), p.limit))
      out.push_back({row[0].c_str(), text_or_null(row[1]), step_types_of(row[2])});
    return out;
  }); });
}

int Store::target_holds_release() {
  return translate_errors([&] { return detail::skipped_round("the release of stale target holds", [&] {
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

int Store::workers_delete_gone(const WorkersDeleteGoneParams& p) {
  return translate_errors([&] {
    pqxx::work w(impl_->conn);
    const auto r = w.exec_prepared("workers_delete_gone", p.keep.count(), p.lease.count(), p.batch_size);
    w.commit();
    return static_cast<int>(r.affected_rows());
  });
}

}  // namespace govjobd::store
