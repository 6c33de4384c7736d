#include "daemon/run/db_signal_sink.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "daemon/run/db_worker.hpp"

namespace govjobd::run {

void DbSignalSink::record(const executors::GovernanceSignal& s, std::function<void(Outcome)> done) {
  db_.post([this, s, done = std::move(done)](store::Store& store) {
    Outcome outcome;
    outcome.error = error_unless_unavailable([&] {
      outcome.signal_id = store.signal_record(
          {s.job_id, s.contract_id, s.step_index, s.scope, s.signal_type, s.decision, s.reason, s.recorded_by});
    }).value_or("");
    boost::asio::post(io_, [done, outcome] { done(outcome); });
  });
}

}  // namespace govjobd::run
