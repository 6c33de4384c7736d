#include "daemon/run/recorder.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "daemon/log/logging.hpp"
#include "daemon/model/timestamp.hpp"

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
      for (std::size_t i = 0; i < batch->done.size(); ++i) {
        if (outcomes[i].outcome == store::WriteOutcome::Locked) {
          hold(std::move(batch->writes[i]), std::move(batch->done[i]));
          continue;
        }
        settled(batch->writes[i].job_id);
        batch->done[i](outcomes[i]);
      }
      if (along) along->done(std::move(claimed), std::move(claim_error));
      flush();
    });
  });
}

void Recorder::hold(store::JobWrite write, std::function<void(const store::WriteResult&)> done) {
  const std::string job_id = write.job_id;
  const log::ScopedJob scope({job_id, "", write.transition_step_index, "", "", ""});
  // a minute past the job's deadline: its end (FAILED at the deadline) gets its chance too
  const bool past = write.locked_wait_until && model::now_utc() > *write.locked_wait_until + std::chrono::minutes(1);
  if (giving_up_locks_ || past) {
    held_.erase(job_id);
    const std::string why = std::string("its row stayed locked by another session ") +
                            (past ? "a minute past the job's deadline" : "into the shutdown");
    spdlog::error("job {}: {}: this write is not recorded, and the job stays RUNNING for the reaper", job_id, why);
    return done({store::WriteOutcome::Abandoned, why});
  }
  auto& held = held_.try_emplace(job_id, Held{std::chrono::steady_clock::now(), 0}).first->second;
  // Locks taken by govjobd's own sessions (a claim re-checking a row, a reaper, a cancel) last milliseconds:
  // a warning once the wait passes a second (7 tries), then one every 64 tries (about 80 s).
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - held.since);
  if (held.times % 64 == 7)
    spdlog::warn("job {}: its row is locked by another session (an open transaction) for {}ms: this job waits to be "
                 "written, the others go on", job_id, waited.count());
  else
    spdlog::debug("job {}: its row is locked by another session: written again shortly", job_id);
  const auto wait = std::chrono::milliseconds(10 << std::min(held.times++, 7));  // 10 ms .. 1.28 s
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, wait);
  held_timers_.insert(timer);
  timer->async_wait([this, timer, write = std::move(write), done = std::move(done)](const boost::system::error_code&) mutable {
    held_timers_.erase(timer);
    if (giving_up_locks_) return hold(std::move(write), std::move(done));
    this->write(std::move(write), std::move(done));
  });
}

void Recorder::settled(const std::string& job_id) {
  const auto it = held_.find(job_id);
  if (it == held_.end()) return;
  if (it->second.times > 7) {  // warned
    const log::ScopedJob scope({job_id, "", std::nullopt, "", "", ""});
    spdlog::info("job {}: its row is no longer locked after {}ms; its write went on", job_id,
                 std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - it->second.since).count());
  }
  held_.erase(it);
}

void Recorder::stop_waiting_for_locks() {
  giving_up_locks_ = true;
  for (const auto& timer : held_timers_) timer->cancel();
}

}  // namespace govjobd::run
