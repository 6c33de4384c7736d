#include "daemon/run/recorder.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <utility>

namespace govjobd::run {

void Recorder::write(store::JobWrite write, std::function<void(const store::WriteResult&)> done) {
  pending_ends_ = pending_ends_ || write.terminal_status.has_value();
  pending_.writes.push_back(std::move(write));
  pending_.done.push_back(std::move(done));
  // Not at once: the handlers already queued on the loop (the other jobs' step ends of this round) add
  // their writes first, and all go in one statement.
  if (flush_posted_) return;
  flush_posted_ = true;
  boost::asio::post(io_, [this] {
    flush_posted_ = false;
    flush();
  });
}

void Recorder::flush() {
  if (in_flight_ || pending_.writes.empty()) return;
  in_flight_ = true;
  auto batch = std::make_shared<Batch>(std::exchange(pending_, Batch{}));
  std::optional<ClaimAlong> along;
  if (std::exchange(pending_ends_, false) && claim_along_) along = claim_along_();
  db_.post([this, batch, along = std::move(along)](store::Store& store) {
    const auto& writes = batch->writes;
    std::vector<store::WriteResult> outcomes;
    store::ClaimResult claimed;
    std::optional<std::string> claim_error;
    // not the database's answer to one write: each job hears of it
    if (const auto error = error_unless_unavailable([&] {
          if (!along) {
            outcomes = store.job_write_batch(writes);
            return;
          }
          store::WriteAndClaim both = store.job_write_and_claim(writes, along->params);
          outcomes = std::move(both.writes);
          claimed = std::move(both.claim);
          claim_error = std::move(both.claim_error);
        })) {
      spdlog::error("writing {} job updates failed: {}", writes.size(), *error);
      outcomes.assign(writes.size(), store::WriteResult{store::WriteOutcome::Refused, *error});
      claim_error = *error;
    }
    boost::asio::post(io_, [this, batch, along, outcomes = std::move(outcomes), claimed = std::move(claimed),
                            claim_error = std::move(claim_error)]() mutable {
      in_flight_ = false;
      for (std::size_t i = 0; i < batch->done.size(); ++i) batch->done[i](outcomes[i]);
      if (along) along->done(std::move(claimed), std::move(claim_error));
      flush();
    });
  });
}

}  // namespace govjobd::run
