#pragma once

// Private to daemon/store: turns libpqxx exceptions into the store's own error types.

#include <stdexcept>
#include <string>
#include <utility>

#include <pqxx/pqxx>

#include "config/database_url.hpp"
#include "daemon/store/store.hpp"
#include "daemon/store/store_errors.hpp"

namespace govjobd::store::detail {

// "ERROR:  governance job ... \nCONTEXT: ..." -> "governance job ..."
std::string first_line(const std::string& message);

// The error's SQLSTATE. libpqxx 6.4 throws insufficient_privilege (42501) without it, unlike every other class.
inline std::string sqlstate_of(const pqxx::sql_error& e) {
  if (e.sqlstate().empty() && dynamic_cast<const pqxx::insufficient_privilege*>(&e) != nullptr) return "42501";
  return e.sqlstate();
}

// An SQL error worth running again on a new connection: 08 connection exception; 57 operator intervention
// (shutdown, terminated backend, statement timeout); 55P03 lock timeout; no SQLSTATE at all; 42501, a grant
// missing (the creating system controls the grants on its tables): no row's fault, so no job is failed or
// passed over for it and no write is dropped; each runs again until the grant is back.
inline bool transient(const pqxx::sql_error& e) {
  const std::string state = sqlstate_of(e);
  return state.starts_with("08") || state.starts_with("57") || state == "55P03" || state.empty() || state == "42501";
}

// What a transient error is called in the logs: a missing grant, a lock another session held past lock_timeout
// (a writer's LOCK TABLE on its contracts table stops every claim: not to be read as a network fault) or a
// statement past statement_timeout by their names, not as a lost connection.
inline std::string transient_message(const pqxx::sql_error& e) {
  const std::string state = sqlstate_of(e);
  const char* what = state == "42501"   ? "a grant is missing, to be run again: "
                     : state == "55P03" ? "another session held a lock this statement needed past lock_timeout (a "
                                          "LOCK TABLE, a long transaction), to be run again: "
                     : state == "57014" ? "a statement ran past statement_timeout, to be run again: "
                                        : "database unreachable: ";
  return what + first_line(e.what());
}

// A claim whose contracts table stayed locked past a second (GJ006, migration 24): a claim that failed, not a
// refusal of the claim's request; the claimer claims again at its next poll.
inline std::string claim_lock_message(const pqxx::sql_error& e) {
  return first_line(e.what()) + "; no job claimed, jobs stay PENDING, claimed again at the next poll";
}

// A periodic round (the fleet's looks at the queue, the window pass) that ran out of statement_timeout or
// lock_timeout, or that a grant revoked or a row security policy refused (42501): running it again at once, as for a lost
// connection, would fail again and hold the database thread that claims (and the claim names a refusal
// itself). The round is skipped, as an error the caller logs, and the next period tries again.
template <class F>
auto skipped_round(const char* round, F&& f) -> decltype(f()) {
  try {
    return std::forward<F>(f)();
  } catch (const pqxx::sql_error& e) {
    const std::string state = sqlstate_of(e);
    if (state == "57014")
      throw std::runtime_error(std::string(round) + " ran out of statement_timeout, this round skipped: " + first_line(e.what()));
    if (state == "42501")
      throw std::runtime_error(std::string(round) + " was refused, this round skipped: " + first_line(e.what()));
    if (state == "55P03" || state == "GJ006")  // a writer's LOCK TABLE, say: the contracts table's waits a second
      throw std::runtime_error(std::string(round) + " waited for a lock another session holds, this round skipped: " +
                               first_line(e.what()));
    throw;
  }
}

// Runs f; a broken connection or a transaction PostgreSQL rolled back (deadlock, serialization) becomes
// DatabaseUnavailable (the database thread runs the task again), a refusal by one of govjobd's triggers or a
// malformed value becomes RequestRejected. Other SQL errors propagate as they are.
template <class F>
auto translate_errors(F&& f) -> decltype(f()) {
  try {
    return std::forward<F>(f)();
  } catch (const pqxx::broken_connection& e) {
    throw DatabaseUnavailable("database unreachable: " + first_line(e.what()));
  } catch (const pqxx::in_doubt_error& e) {
    throw DatabaseUnavailable("database connection lost during commit: " + first_line(e.what()));
  } catch (const pqxx::transaction_rollback& e) {
    // A deadlock or serialization failure (40P01, 40001): PostgreSQL rolled the transaction back and
    // asks for it to be run again. libpqxx 6.4 derives these from pqxx::failure, not pqxx::sql_error.
    throw DatabaseUnavailable("transaction rolled back by the database, to be run again: " + first_line(e.what()));
  } catch (const pqxx::sql_error& e) {
    const std::string state = sqlstate_of(e);
    // retried on a new connection, in order
    if (transient(e)) throw DatabaseUnavailable(transient_message(e));
    if (state.starts_with("GJ") || state == "22P02" || state == "23505" || state == "22023")
      throw RequestRejected(first_line(e.what()));
    throw;
  }
}

// Runs f, a connect: the error it throws carries no password of `url` (redact_connection_error).
template <class F>
auto redacting_connect_errors(const std::string& url, F&& f) -> decltype(f()) {
  try {
    return std::forward<F>(f)();
  } catch (const DatabaseUnavailable& e) {
    throw DatabaseUnavailable(config::redact_connection_error(e.what(), url));
  } catch (const RequestRejected& e) {
    throw RequestRejected(config::redact_connection_error(e.what(), url));
  } catch (const std::exception& e) {
    throw std::runtime_error(config::redact_connection_error(e.what(), url));
  }
}

}  // namespace govjobd::store::detail
