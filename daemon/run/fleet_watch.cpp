#include "daemon/run/fleet_watch.hpp"

#include <algorithm>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "daemon/run/db_worker.hpp"
#include "health/health_monitor.hpp"

namespace govjobd::run {

namespace asio = boost::asio;
using std::chrono::milliseconds;

FleetWatch::FleetWatch(asio::io_context& io, DbWorker& db, const config::Settings& settings, std::string worker_id,
                       Hooks hooks)
    : io_(io), db_(db), settings_(settings), worker_id_(std::move(worker_id)), hooks_(std::move(hooks)),
      health_timer_(io, [this] { return std::max(settings_.worker.poll_interval, milliseconds(200)); }, true),
      // a deadline or an unroutable job is found within a quarter of unroutable_after, at most a minute
      ends_timer_(io, [this] {
        return std::clamp(settings_.worker.unroutable_after / 4, settings_.worker.poll_interval, milliseconds(60'000));
      }, true),
      queue_timer_(io, [] { return milliseconds(15'000); }, true),
      window_timer_(io, [this] { return settings_.worker.poll_interval; }, true) {}

FleetWatch::~FleetWatch() { *alive_ = false; }

void FleetWatch::start(std::shared_ptr<health::HealthMonitor> monitor) {
  set_monitor(std::move(monitor));
  health_timer_.start([this] { refresh(); });
  ends_timer_.start([this] { look_for_ends(); });
  if (hooks_.queue) queue_timer_.start([this] { read_queue(); });
  window_timer_.start([this] { window_pass(); });
}

// The metrics' queue gauges: the whole fleet's PENDING jobs, as the database says (govjobd status's query).
void FleetWatch::read_queue() {
  if (reading_queue_ || stopped_ || !hooks_.may_look()) return;
  reading_queue_ = true;
  db_.post([this, p = store::FleetStatusParams{settings_.worker.lease_timeout, 10'000}](store::Store& store) {
    std::optional<store::FleetStatus> status;
    const auto error = error_unless_unavailable([&] { status = store.fleet_status(p); });
    if (error) spdlog::warn("reading the queue for the metrics failed: {}", *error);
    asio::post(io_, [this, status = std::move(status), failed = error.has_value()] {
      if (failed) this->failed("queue");
      reading_queue_ = false;
      if (status && !stopped_) hooks_.queue(*status);
    });
  });
}

void FleetWatch::failed(const std::string& round) {
  if (hooks_.round_failed) hooks_.round_failed(round);
}

void FleetWatch::stop() {
  stopped_ = true;
  health_timer_.stop();
  ends_timer_.stop();
  queue_timer_.stop();
  window_timer_.stop();
}

store::WorkerServes serves_of(const config::Settings& settings) {
  store::WorkerServes serves;
  for (const auto& [step_type, executor] : settings.executors) serves.step_types.push_back(step_type);
  serves.targets = settings.worker.targets;
  serves.pools = settings.worker.pools;
  serves.concurrency = settings.worker.concurrency;
  return serves;
}

FleetState FleetWatch::state() const {
  FleetState fleet;
  fleet.serves = serves_of(settings_);
  if (view_) {
    fleet.blocked_targets = view_->blocked_targets;
    fleet.host_blocked = view_->host_blocked;
  }
  return fleet;
}

// Every snapshot counts, a job's too: a target a step just saw go BLOCKED is not claimed into the moment after.
void FleetWatch::set_monitor(std::shared_ptr<health::HealthMonitor> monitor) {
  monitor_ = std::move(monitor);
  monitor_->on_snapshot([this, alive = std::weak_ptr<bool>(alive_)](const model::HealthSnapshot& snapshot) {
    if (auto a = alive.lock(); a && *a) seen(snapshot);
  });
}

void FleetWatch::refresh() {
  if (refreshing_ || stopped_ || !monitor_) return;
  refreshing_ = true;
  monitor_->snapshot([this, alive = std::weak_ptr<bool>(alive_)](const model::HealthSnapshot&) {
    if (auto a = alive.lock(); a && *a) refreshing_ = false;  // seen() had it first
  });
}

void FleetWatch::seen(const model::HealthSnapshot& snapshot) {
  if (stopped_) return;
  if (hooks_.observed) hooks_.observed(snapshot);
  health::ClaimView view = health::claim_view(snapshot, settings_.health.block_on);
  const bool first = !view_, changed = first || !(view == *view_);
  if (changed && !first)
    spdlog::info("health for claims: {}{}; jobs into what is BLOCKED are left to other daemons",
                 view.blocked_targets.empty() ? "no capability BLOCKED"
                                              : fmt::format("BLOCKED: {}", fmt::join(view.blocked_targets, ", ")),
                 view.host_blocked ? ", the host BLOCKED" : "");
  view_ = std::move(view);
  if (changed) hooks_.claim();  // the first snapshot, or a target healthy again: claim what is waiting
}

void FleetWatch::look_for_ends() {
  if (looking_ || stopped_ || !hooks_.may_look()) return;
  looking_ = true;
  store::JobsToEndParams p{worker_id_, settings_.worker.lease_timeout, settings_.worker.unroutable_after, 100};
  db_.post([this, p](store::Store& store) {
    std::vector<store::JobToEnd> jobs;
    const auto error = error_unless_unavailable([&] { jobs = store.jobs_to_end(p); });
    if (error) spdlog::error("looking for PENDING jobs past their deadline or served by no live daemon failed: {}", *error);
    // holds a crash left between a claim and their release
    const auto release_error = error_unless_unavailable([&] { store.target_holds_release(); });
    if (release_error) spdlog::error("releasing stale target holds failed: {}", *release_error);
    asio::post(io_, [this, jobs = std::move(jobs), failed = error.has_value(), release_failed = release_error.has_value()]() mutable {
      if (failed) this->failed("jobs_to_end");
      if (release_failed) this->failed("holds_release");
      looking_ = false;
      if (stopped_) return;
      for (auto& job : jobs) hooks_.claim_to_end(std::move(job));
    });
  });
}

// One window pass; another at once while the jobs it reads hold scheduled starts it parks, each reading four
// times as many while most of what it read was parked (100,000 scheduled starts ahead of the others are
// parked in six passes, not a hundred of one per poll interval, each waiting for the claims between them).
// Parked or unparked jobs change what a claim finds and when the next window opens: the claimer claims.
// With the contract gate off, a pass reads only parked jobs (parked while it was on): every one is unparked
// (its contract, as the gate off sees it, is gone), a thousand at a time, at once while more follow.
void FleetWatch::window_pass() {
  if (passing_ || stopped_ || !hooks_.may_look()) return;
  passing_ = true;
  auto p = window_;
  if (!settings_.contract.enabled) p.head_limit = p.ready_limit = 0;
  db_.post([this, p](store::Store& store) {
    std::optional<store::WindowPassResult> out;
    const auto error = error_unless_unavailable([&] { out = store.jobs_window_pass(p); });
    if (error) spdlog::error("the window pass (scheduled starts) failed: {}", *error);
    asio::post(io_, [this, out = std::move(out), failed = error.has_value()] {
      if (failed) this->failed("window_pass");
      passing_ = false;
      if (!out) window_.ready_limit = store::WindowPassParams{}.ready_limit;  // a large one failed: not again
      if (!out || stopped_) return;
      window_.ready = out->ready;
      window_.parked = out->parked_next;
      // most of what it read was parked: a long run of scheduled starts, read in ever larger passes
      window_.ready_limit = out->ready_full && out->parked * 2 > window_.ready_limit
                                ? std::min(window_.ready_limit * 4, kMaxWindowRead)
                                : store::WindowPassParams{}.ready_limit;
      if (out->parked + out->unparked > 0) {
        spdlog::debug("window pass: {} scheduled starts parked, {} unparked", out->parked, out->unparked);
        hooks_.claim();
      }
      const bool more = (out->parked > 0 && out->ready_full) || (out->unparked > 0 && out->parked_next.after_id);
      passes_at_once_ = more && passes_at_once_ < kMaxPassesAtOnce ? passes_at_once_ + 1 : 0;
      if (passes_at_once_ > 0) window_pass();
    });
  });
}

}  // namespace govjobd::run
