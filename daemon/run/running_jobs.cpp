#include "daemon/run/running_jobs.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "daemon/log/logging.hpp"
#include "daemon/run/db_worker.hpp"
#include "daemon/run/job_run.hpp"

namespace govjobd::run {

namespace asio = boost::asio;

RunningJobs::RunningJobs(asio::io_context& io, DbWorker& db, std::string worker_id, std::function<void()> finished)
    : io_(io), db_(db), worker_id_(std::move(worker_id)), finished_(std::move(finished)) {}

RunningJobs::~RunningJobs() = default;

void RunningJobs::start(store::ClaimedJob job, RunEnv env) {
  const std::string id = job.job_id;
  if (job.claim_error) {
    const log::ScopedJob scope({id, job.contract_id.value_or(""), std::nullopt, "", "", ""});
    spdlog::warn("job {} step - isolated by claim: the claim failed on this row: {}", id, *job.claim_error);
  }
  auto run = std::make_shared<JobRun>(std::move(env), std::move(job), [this](const JobRun& r) {
    ++finishing_;
    asio::post(io_, [this, id = r.job_id()] {  // not inside the run's own coroutine
      --finishing_;
      runs_.erase(id);
      finished_();
    });
  });
  runs_.emplace(id, run);
  run->start(io_);
}

int RunningJobs::executing() const {
  int n = 0;
  for (const auto& [id, run] : runs_) n += run->ending() ? 0 : 1;
  return n;
}

std::vector<std::string> RunningJobs::ids() const {
  std::vector<std::string> out;
  out.reserve(runs_.size());
  for (const auto& [id, run] : runs_) out.push_back(id);
  return out;
}

void RunningJobs::stop_all(const EndReason& why) {
  for (auto& [id, run] : std::map(runs_)) {
    try {
      run->stop(why);
    } catch (const std::exception& e) {
      const log::ScopedJob scope({id, "", std::nullopt, "", "", ""});
      spdlog::error("job {} step -: its end could not be prepared ({}); it stays RUNNING until reaped", id, e.what());
    }
  }
}

void RunningJobs::read_cancel_requests() {
  if (runs_.empty()) return;
  if (read_in_flight_) {
    read_again_ = true;
    return;
  }
  read_in_flight_ = true;
  read_again_ = false;
  db_.post([this](store::Store& store) {
    std::vector<store::CancelRequest> requests;
    // a lost connection: the database thread runs it again; any other error: read again at the next poll or
    // cancel NOTIFY (the flag is cleared either way)
    if (auto error = error_unless_unavailable([&] { requests = store.job_cancel_requests(worker_id_); }))
      spdlog::error("reading the cancel requests of running jobs failed: {}", *error);
    asio::post(io_, [this, requests = std::move(requests)] {
      read_in_flight_ = false;
      if (read_again_) read_cancel_requests();
      for (const auto& r : requests)
        if (auto it = runs_.find(r.job_id); it != runs_.end())
          it->second->stop(EndReason::of(EndReason::Kind::Cancelled, std::nullopt, r.reason, r.requested_by));
    });
  });
}

}  // namespace govjobd::run
