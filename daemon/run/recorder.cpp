#include "daemon/run/recorder.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <utility>

namespace govjobd::run {

void Recorder::write(store::JobWrite write, std::function<void(const store::WriteResult&)> done) {
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
  db_.post([this, batch](store::Store& store) {
    const auto& writes = batch->writes;
    std::vector<store::WriteResult> outcomes;
    // not the database's answer to one write: each job hears of it
    if (const auto error = error_unless_unavailable([&] { outcomes = store.job_write_batch(writes); })) {
      spdlog::error("writing {} job updates failed: {}", writes.size(), *error);
      outcomes.assign(writes.size(), store::WriteResult{store::WriteOutcome::Refused, *error});
    }
    boost::asio::post(io_, [this, batch, outcomes = std::move(outcomes)] {
      in_flight_ = false;
      for (std::size_t i = 0; i < batch->done.size(); ++i) batch->done[i](outcomes[i]);
      flush();
    });
  });
}

}  // namespace govjobd::run
