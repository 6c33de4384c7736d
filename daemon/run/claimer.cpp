#include "daemon/run/claimer.hpp"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "daemon/run/db_worker.hpp"
#include "daemon/run/fleet_watch.hpp"
#include "daemon/run/metrics.hpp"

namespace govjobd::run {

namespace asio = boost::asio;

struct Claimer::Timer {
  explicit Timer(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
};

Claimer::Claimer(asio::io_context& io, DbWorker& db, const config::Settings& settings, std::string worker_id,
                 Metrics& metrics, Hooks hooks)
    : io_(io), db_(db), settings_(settings), worker_id_(std::move(worker_id)), metrics_(metrics),
      hooks_(std::move(hooks)), throttle_timer_(std::make_unique<Timer>(io)),
      later_timer_(std::make_unique<Timer>(io)), group_timer_(std::make_unique<Timer>(io)), ranks_(worker_id_) {
  // test hook: a longer wait, so that a test on a loaded machine sees which event ended it
  if (const char* ms = std::getenv("GOVJOBD_TEST_GROUP_WAIT_MS")) group_wait_ = std::chrono::milliseconds(std::atoi(ms));
}

Claimer::~Claimer() = default;

int Claimer::free_slots(const Load& load) const {
  if (!hooks_.may_claim()) return 0;
  // A job whose end is being recorded runs nothing: its slot goes to the next job, so that the claim commits
  // beside the write batch. At most as many again may wait for their end to commit.
  const int concurrency = settings_.worker.concurrency;
  return throttle_.allowed(std::min(concurrency - load.executing, 2 * concurrency - load.running), load.executing,
                           ClaimThrottle::Clock::now());
}

void Claimer::claim() {
  if (!hooks_.may_claim()) return pass_on(std::exchange(wakes_, {}));
  if (in_flight_) {
    again_ = true;
    return;
  }
  const Load load = hooks_.load();
  const int free = free_slots(load);
  if (free <= 0) {
    may_wait_ = true;  // claims when a slot frees
    return pass_on(std::exchange(wakes_, {}));
  }
  if (waits_for_ends(load)) {
    may_wait_ = true;  // a job that finishes claims
    return group_wait();
  }
  // the end of a job goes to the database on the loop's next turn: the claim goes in its transaction
  if (joins_batch(free)) {
    along_ = true;
    return;
  }
  going();
  const auto asked_at = std::chrono::steady_clock::now();
  db_.post([this, free, asked_at, params = params(free), wakes = std::exchange(wakes_, {})](store::Store& store) mutable {
    store::ClaimResult result;
    const auto error = error_unless_unavailable([&] { result = store.job_claim(params); });
    if (error) spdlog::error("claim failed: {}", *error);
    asio::post(io_, [this, free, asked_at, failed = error.has_value(), result = std::move(result),
                     wakes = std::move(wakes)]() mutable {
      claimed(std::move(result), failed, free, asked_at, std::move(wakes));
    });
  });
}

// A claim for a slot or two joins the batch: it saves a commit (a WAL flush). A larger one goes beside the batch,
// on its own connection, where it overlaps it: measured, a claim of 10 or 50 joined to its round's ends cost 15
// to 25 % of the jobs/s at concurrency 10 and 50 (two backends at work instead of one).
bool Claimer::joins_batch(int free) const {
  return !failing_ && free <= kJoinAtMost && hooks_.end_due && hooks_.end_due();
}

std::optional<Recorder::ClaimAlong> Claimer::claim_along() {
  const bool waited = std::exchange(along_, false);
  if (failing_) {
    if (waited) claim();  // alone
    return std::nullopt;
  }
  if (in_flight_ || !(waited || may_wait_ || left_behind_)) return std::nullopt;
  const Load load = hooks_.load();
  const int free = free_slots(load);
  if (free <= 0 || free > kJoinAtMost || waits_for_ends(load)) {
    if (waited) claim();  // alone, or it says what a claim that cannot go does (may_wait_, the wakes passed on)
    return std::nullopt;
  }
  going();
  const auto asked_at = std::chrono::steady_clock::now();
  return Recorder::ClaimAlong{params(free), [this, free, asked_at, wakes = std::exchange(wakes_, {})](
                                                store::ClaimResult result, std::optional<std::string> error) mutable {
                                if (error) spdlog::error("claim failed: {}", *error);
                                claimed(std::move(result), error.has_value(), free, asked_at, std::move(wakes));
                              }};
}

void Claimer::wake(std::string_view payload) {
  const auto wake = WakeRanks::parse(payload);
  if (!wake) return claim();
  switch (ranks_.act_on(*wake)) {
    case WakeRanks::Act::Claim:
      if (wakes_.size() < kMaxWakes) wakes_.push_back(*wake);
      return claim();
    case WakeRanks::Act::Backup:
      if (backups_.size() < kMaxWakes) backups_.insert(wake->job_id);
      else claim();
      return;
    case WakeRanks::Act::Ignore: return;
  }
}

void Claimer::slot_freed() {
  if (may_wait_ || left_behind_) claim_soon();
}

void Claimer::on_beat(std::vector<std::string> live_workers, const std::vector<std::string>& still_pending) {
  const bool someone_left = ranks_.set_live(std::move(live_workers));
  // a job still PENDING a heartbeat after its wake: the daemon whose turn it was did not take it (busy, dead)
  if (someone_left || !still_pending.empty()) claim();
}

std::vector<std::string> Claimer::take_backups() {
  std::vector<std::string> jobs(backups_.begin(), backups_.end());
  backups_.clear();
  return jobs;
}

void Claimer::pass_on(std::vector<WakeRanks::Wake> wakes) {
  // the last rank passes to every daemon; once every daemon had its turn nobody passes again (a job held or
  // BLOCKED everywhere waits for the poll while the claims leave jobs behind, or a resume's NOTIFY)
  const int last = std::min<int>(WakeRanks::kRanks, static_cast<int>(ranks_.live()) - 1);
  std::erase_if(wakes, [last](const WakeRanks::Wake& w) { return w.rank >= last; });
  if (wakes.empty()) return;
  for (auto& w : wakes) ++w.rank;
  db_.post([wakes = std::move(wakes)](store::Store& store) {
    for (const auto& w : wakes)
      if (auto error = error_unless_unavailable([&] { store.job_wake_pass(w.job_id, WakeRanks::payload(w)); }))
        spdlog::warn("job {} step - passing its wake to the next daemon failed: {}", w.job_id, *error);
  });
}

store::JobClaimParams Claimer::params(int limit) const {
  store::JobClaimParams p;
  p.worker_id = worker_id_;
  p.limit = limit;
  p.lease = settings_.worker.lease_timeout;
  p.max_steps_bytes = settings_.worker.max_job_bytes;
  p.excluded = {unclaimable_.begin(), unclaimable_.end()};
  store::WorkerServes serves = serves_of(settings_);  // what the worker row says it serves, the same
  p.step_types = std::move(serves.step_types);
  p.targets = std::move(serves.targets);
  p.pools = std::move(serves.pools);
  p.exclusive_targets = settings_.worker.exclusive_targets;
  if (hooks_.health_view) {
    health::ClaimView view = hooks_.health_view();
    p.blocked_targets = std::move(view.blocked_targets);
    p.host_blocked = view.host_blocked;
  }
  return p;
}

void Claimer::claim_to_end(store::JobToEnd job) {
  if (!hooks_.may_claim()) return;
  store::JobClaimParams p = params(1);
  p.only = job.job_id;
  p.force = true;
  ++ends_in_flight_;
  db_.post([this, p = std::move(p), unserved = std::move(job.unserved),
            step_types = std::move(job.served_step_types)](store::Store& store) {
    store::ClaimResult result;
    const auto error = error_unless_unavailable([&] { result = store.job_claim(p); });
    if (error) spdlog::error("claim of job {} to end it failed: {}", *p.only, *error);
    asio::post(io_, [this, unserved, step_types, result = std::move(result)]() mutable {
      for (auto& job : result.jobs) {
        job.unserved = unserved;
        job.served_step_types = step_types;
        hooks_.start_job(std::move(job));
      }
      --ends_in_flight_;
      if (hooks_.settled) hooks_.settled();
    });
  });
}

void Claimer::claimed(store::ClaimResult result, bool failed, int asked_for, std::chrono::steady_clock::time_point asked_at,
                      std::vector<WakeRanks::Wake> wakes) {
  in_flight_ = false;
  failing_ = failed;
  // the wakes this claim did not take go to the next rank (whether anyone took them, the pass reads)
  std::erase_if(wakes, [&result](const WakeRanks::Wake& w) {
    return std::any_of(result.jobs.begin(), result.jobs.end(), [&w](const store::ClaimedJob& j) { return j.job_id == w.job_id; });
  });
  pass_on(std::move(wakes));
  if (!failed) left_behind_ = result.left_behind;
  for (const auto& [id, message] : result.unclaimable) {
    // never claimed again by this daemon: a claim that fails on a row must not fail in a loop
    if (unclaimable_.size() < kMaxUnclaimable) unclaimable_.insert(id);
    spdlog::error("job {} step - cannot be claimed, not tried again by this daemon: {}", id, message);
  }
  metrics_.jobs_claimed(static_cast<int>(result.jobs.size()),
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - asked_at).count());
  // a claim that made progress but left slots empty for picked jobs' targets claims again like a full one
  const bool full = static_cast<int>(result.jobs.size()) == asked_for || (result.dropped > 0 && !result.jobs.empty());
  if (!failed) may_wait_ = full;
  claim_later(result, failed, full);
  for (auto& job : result.jobs) hooks_.start_job(std::move(job));
  // its empty slots: with the slots its jobs free (they claim when they end), or kGroupWait later; at once
  // for jobs NOTIFYed to this daemon (a request of another kind, again_, is served by that claim)
  if (full && static_cast<int>(result.jobs.size()) < asked_for && wakes_.empty())
    group_wait();
  else if (full || again_)
    claim();
  else if (result.jobs.empty() && hooks_.found_none)
    hooks_.found_none();
  if (hooks_.settled) hooks_.settled();
}

void Claimer::claim_later(const store::ClaimResult& result, bool failed, bool full) {
  if (full) return;  // claims again at once; a full claim does not look for windows
  const auto poll = settings_.worker.poll_interval;
  std::chrono::milliseconds after = poll;
  if (result.window_opens_in) after = std::min(poll, *result.window_opens_in + std::chrono::milliseconds(10));
  else if (!failed) {
    later_timer_->timer.cancel();
    return;
  }
  later_timer_->timer.expires_after(after);
  later_timer_->timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) claim();
  });
}

// More jobs wait for their ends to commit than there are slots (a claim's jobs that ended at once, while the
// previous ends' batch was in flight; ends that wait for a locked row): the cap on them leaves a claim fewer
// slots than have no step running. A claim for those few now would start, end and write its jobs apart from the
// others' ever after (at concurrency 10, twice the claims and write batches per job).
bool Claimer::waits_for_ends(const Load& load) const {
  return !group_due_ && load.running - load.executing > settings_.worker.concurrency;
}

void Claimer::group_wait() {
  if (group_timer_armed_) return;
  group_timer_armed_ = true;
  group_timer_->timer.expires_after(group_wait_);
  group_timer_->timer.async_wait([this, wait = group_waits_](const boost::system::error_code& ec) {
    if (ec || wait != group_waits_) return;  // cancelled, or expired as a claim went (this Claimer may be gone)
    group_timer_armed_ = false;
    group_due_ = true;  // until a claim goes: it waits no more
    claim();
  });
}

void Claimer::going() {
  in_flight_ = true;
  again_ = false;
  group_due_ = false;
  ++group_waits_;
  if (group_timer_armed_) {
    group_timer_armed_ = false;
    group_timer_->timer.cancel();
  }
}

void Claimer::claim_soon() {
  if (posted_) return;
  posted_ = true;
  asio::post(io_, [this] {
    posted_ = false;
    claim();
  });
}

// Spawns failing for lack of descriptors, processes or memory throttle the claimer (ClaimThrottle): queued jobs
// wait in the database; one that starts again lets it claim more.
void Claimer::on_spawn_report(bool spawned) {
  const auto now = ClaimThrottle::Clock::now();
  const int executing = hooks_.load().executing;
  if (spawned) {
    if (!throttle_.active()) return;
    if (throttle_.on_spawned(executing, settings_.worker.concurrency, now))
      spdlog::info("steps start again: claiming up to worker.concurrency ({}) again", settings_.worker.concurrency);
    return claim();
  }
  if (throttle_.on_shortage(executing, now))
    spdlog::warn("a step could not start for lack of resources: claiming at most {} jobs at once, one more at a time, "
                 "until steps start again", throttle_.cap());
  throttle_timer_->timer.expires_at(throttle_.next_probe());
  throttle_timer_->timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) claim();
  });
}

void Claimer::stop() {
  throttle_timer_->timer.cancel();
  later_timer_->timer.cancel();
  group_timer_->timer.cancel();
}

}  // namespace govjobd::run
