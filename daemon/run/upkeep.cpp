#include "daemon/run/upkeep.hpp"

#include <algorithm>
#include <cmath>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "daemon/run/db_worker.hpp"
#include "daemon/run/end_reason.hpp"
#include "daemon/run/metrics.hpp"
#include "daemon/model/timestamp.hpp"

namespace govjobd::run {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

// store::Store as the maintenance services see it.
class StoreMaintenance : public MaintenanceStore {
 public:
  explicit StoreMaintenance(store::Store& store) : store_(store) {}
  store::HeartbeatResult worker_heartbeat(const store::WorkerHeartbeatParams& p) override {
    return store_.worker_heartbeat(p);
  }
  void worker_register(const std::string& worker_id, const std::string& host, int pid, const std::string& version,
                       const store::WorkerServes& serves) override {
    store_.worker_register(worker_id, host, pid, version, serves);
  }
  int job_reap(const store::JobReapParams& p, const Decide& decide) override { return store_.job_reap(p, decide); }
  int jobs_delete_terminal(const store::JobsDeleteTerminalParams& p) override { return store_.jobs_delete_terminal(p); }
  int workers_delete_gone(const store::WorkersDeleteGoneParams& p) override { return store_.workers_delete_gone(p); }

 private:
  store::Store& store_;
};

// SIGTERM to SIGKILL of a process step stopped now: the longest of the config's process executors.
milliseconds longest_kill_grace(const config::Settings& settings) {
  milliseconds grace{0};
  for (const auto& [name, e] : settings.executors)
    if (e.kind == "process") grace = std::max(grace, e.kill_grace);
  return grace;
}

// Between a lapsing lease's killed steps and the lease's end: 1 s, a quarter lease at most.
milliseconds fence_margin(milliseconds lease) { return std::min<milliseconds>(std::chrono::seconds(1), lease / 4); }

}  // namespace

struct Upkeep::Fence {
  explicit Fence(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  steady_clock::time_point renewed;  // the start of the last heartbeat attempt that committed
  std::string renewed_at;            // the same, UTC: a lost worker's "last heartbeat"
  std::optional<milliseconds> lease;  // the lease it renewed with
};

Upkeep::Upkeep(asio::io_context& io, DbWorker& db, DbWorker& writes, const config::Settings& settings,
               WorkerIdentity who, Metrics& metrics, Hooks hooks)
    : db_(db), writes_(writes), settings_(settings), who_(std::move(who)), metrics_(metrics), hooks_(std::move(hooks)),
      io_(io),
      heartbeat_timer_(io, [this] { return settings_.worker.heartbeat_interval; }, false),
      reaper_timer_(io, [this] { return std::max(milliseconds(500), settings_.worker.lease_timeout / 2); }, true),
      retention_timer_(io, [this] { return settings_.retention.interval; }, true),
      fence_(std::make_unique<Fence>(io)) {}

Upkeep::~Upkeep() = default;

milliseconds lease_fence_after(const config::Settings& settings, std::optional<milliseconds> renewed_with) {
  const milliseconds lease = std::min(settings.worker.lease_timeout, renewed_with.value_or(settings.worker.lease_timeout));
  return std::max({lease - longest_kill_grace(settings) - fence_margin(lease), lease * 3 / 4,
                   2 * settings.worker.heartbeat_interval});
}

milliseconds Upkeep::fence_after() const { return lease_fence_after(settings_, fence_->lease); }

bool lease_fence_fits(const config::Settings& settings) {
  const milliseconds lease = settings.worker.lease_timeout;
  return lease_fence_after(settings) + longest_kill_grace(settings) + fence_margin(lease) <= lease;
}

void Upkeep::start() {
  renewed(steady_clock::now(), model::format_timestamp(model::now_utc()), lease());  // registered just now
  if (settings_.worker.stop_steps_without_lease && !lease_fence_fits(settings_))
    spdlog::warn("worker.lease_timeout ({}ms) is short for the longest process kill_grace: a daemon cut off from the "
                 "database stops its steps {}ms after its last heartbeat, and they may outlive its lease",
                 lease().count(), fence_after().count());
  heartbeat_timer_.start([this] { beat(); });
  reaper_timer_.start([this] { reap(); });
  if (settings_.retention.keep_terminal) retention_timer_.start([this] { retain(0, 0); });
}

// Retention's timer starts over: on when keep_terminal is set now (a round at once, then every interval, the
// new one), off when it is not.
void Upkeep::settings_reloaded() {
  if (stopped_ || !heartbeat_timer_.running()) return;  // not started yet: start() reads the settings
  if (!lapsed_) arm_fence();  // the lease, its heartbeat or a kill_grace changed
  retention_timer_.stop();
  if (settings_.retention.keep_terminal) retention_timer_.start([this] { retain(0, 0); });
}

void Upkeep::stop() {
  stopped_ = true;
  for (auto* t : {&heartbeat_timer_, &reaper_timer_, &retention_timer_}) t->stop();
  fence_->timer.cancel();
}

// A heartbeat committed: its statement ran after `attempt`, so the leases it renewed run out no sooner than
// a lease past it. The fence moves to fence_after() past it.
void Upkeep::renewed(steady_clock::time_point attempt, std::string wall, milliseconds lease) {
  if (attempt < fence_->renewed) return;
  fence_->renewed = attempt;
  fence_->renewed_at = std::move(wall);
  fence_->lease = lease;
  // One that waited past its own fence, or nearly (a row lock, a stalled server), renewed leases from its
  // start: to the other daemons' reapers they have run out or soon will. The lapse holds until one commits
  // with a heartbeat interval left before its fence, time for the next one to renew again: else a claim
  // between two lapses would start a job only to stop it as a lost worker's.
  const auto late = std::chrono::duration_cast<milliseconds>(steady_clock::now() - attempt);
  if (lapsed_ && late + settings_.worker.heartbeat_interval >= fence_after()) {
    spdlog::warn("a heartbeat committed {}ms after it began, at or near the lease's fence: the lease stays lapsed "
                 "until the next one", late.count());
    return;
  }
  if (std::exchange(lapsed_, false)) {
    spdlog::info("heartbeat recorded again: lease renewed");
    if (hooks_.heartbeat_changed && heartbeat_ok_) hooks_.heartbeat_changed(true);
  }
  arm_fence();
}

void Upkeep::arm_fence() {
  if (stopped_) return;
  fence_->timer.expires_at(fence_->renewed + fence_after());
  fence_->timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) lease_lapsing();
  });
}

// No heartbeat has committed for fence_after(): this daemon may be cut off from the database while the others
// are not, and their reapers may end its jobs once the leases run out. A step that ran on would then run
// unrecorded, its target free for another job. So every running job stops, as a lost worker's does.
void Upkeep::lease_lapsing() {
  if (stopped_) return;
  const auto silent = std::chrono::duration_cast<milliseconds>(steady_clock::now() - fence_->renewed);
  if (silent < fence_after()) return arm_fence();  // a reload made it longer
  lapsed_ = true;
  metrics_.lease_lapsed();
  const bool stop = settings_.worker.stop_steps_without_lease;
  spdlog::error("no heartbeat recorded for {}ms (worker.lease_timeout {}ms, last {}): the lease is lapsing; no new "
                "claims, and the {} running jobs {}",
                silent.count(), lease().count(), fence_->renewed_at, hooks_.running().size(),
                stop ? "stop before another daemon's reaper may end them"
                     : "run on (worker.stop_steps_without_lease is off): another daemon's reaper may end them meanwhile");
  if (stop) stop_running();
}

// A claim in flight as the lease lapsed starts its jobs all the same: each heartbeat's turn stops them too,
// until one commits. Their own leases, from their claims, outlast that turn.
void Upkeep::stop_running() {
  if (!hooks_.stop_all || hooks_.running().empty()) return;
  hooks_.stop_all(EndReason::of(EndReason::Kind::WorkerLost, std::nullopt, fence_->renewed_at, who_.worker_id));
}

void Upkeep::beat() {
  if (hooks_.before_heartbeat) hooks_.before_heartbeat();
  if (lapsed_ && settings_.worker.stop_steps_without_lease) stop_running();
  if (heartbeat_in_flight_) return;
  heartbeat_in_flight_ = true;
  // On the writes' connection: the lease renewal updates the same job rows as a write batch, and two
  // transactions updating them side by side in different orders deadlock (seen: PostgreSQL aborted one).
  FleetState fleet = hooks_.fleet ? hooks_.fleet() : FleetState{};
  writes_.post([this, service = Heartbeat(who_, lease()), lease = lease(), running = hooks_.running(),
                fleet = std::move(fleet)](store::Store& store) {
    // this attempt's start: a lost connection runs the whole task again, so a late success renews from here
    const auto attempt = steady_clock::now();
    std::string wall = model::format_timestamp(model::now_utc());
    StoreMaintenance adapter(store);
    const auto out = service.run_once(adapter, running, fleet);
    if (!out.error.empty()) spdlog::error("heartbeat failed: {}", out.error);
    asio::post(io_, [this, ok = out.ok, live = out.live_workers, pending = out.still_pending,
                     usage = out.notify_queue_usage, attempt, lease, wall = std::move(wall)]() mutable {
      heartbeat_in_flight_ = false;
      if (ok) metrics_.heartbeat_recorded(model::now_utc());
      if (ok) renewed(attempt, std::move(wall), lease);
      if (ok) notify_queue_read(usage);
      if (ok && hooks_.beat_read) hooks_.beat_read(std::move(live), std::move(pending));
      if (ok == heartbeat_ok_) return;
      heartbeat_ok_ = ok;
      if (!ok) spdlog::warn("heartbeats fail: no new claims until one succeeds");
      if (hooks_.heartbeat_changed) hooks_.heartbeat_changed(ok);
    });
  });
}

// A session that LISTENs and then stays in a transaction, or whose client stops reading, holds PostgreSQL's
// NOTIFY queue (queries/notify_queue_usage.sql): full, every transaction that NOTIFYs fails, the creator's job
// inserts among them. A warning from 10 %, again at each further 10 %; a note once it is under 5 %. The mark
// drops only half a step below it, so that a queue hovering at a boundary does not warn at each heartbeat.
void Upkeep::notify_queue_read(double usage) {
  if (!std::isfinite(usage)) return;
  usage = std::clamp(usage, 0.0, 1.0);
  metrics_.notify_queue_read(usage);
  const int tenths = static_cast<int>(usage * 10);
  if (tenths > notify_queue_tenths_) {
    spdlog::warn("PostgreSQL's NOTIFY queue is {:.0f} % full: a session that listens and does not read holds it "
                 "(PostgreSQL's log names one from 50 %); full, every NOTIFY fails its transaction: the creator's job "
                 "inserts, claims that unpark a scheduled start, ends that release a target a job waits on, the "
                 "reaper's round", 100 * usage);
    notify_queue_tenths_ = tenths;
  } else if (notify_queue_tenths_ > 0 && usage < 0.05) {
    spdlog::info("PostgreSQL's NOTIFY queue is under 5 % full again ({:.1f} %)", 100 * usage);
    notify_queue_tenths_ = 0;
  } else if (usage * 10 < notify_queue_tenths_ - 0.5) {
    notify_queue_tenths_ = tenths;  // half a step below the last warning: the next step up warns again
  }
}

void Upkeep::reap() {
  if (hooks_.database_up && !hooks_.database_up()) return;
  const milliseconds hold = settings_.worker.lease_timeout + settings_.worker.heartbeat_interval + Backoff::kMax;
  db_.post([this, service = Reaper(who_.worker_id, lease(), hold, settings_.worker.max_job_bytes)](store::Store& store) {
    StoreMaintenance adapter(store);
    const auto out = service.run_once(adapter);
    if (out.reaped == 0) return;
    spdlog::info("reaper ended {} jobs of lost workers", out.reaped);
    asio::post(io_, [this, out] {
      const EndReason lost = EndReason::of(EndReason::Kind::WorkerLost, std::nullopt);
      const EndReason cancelled = EndReason::of(EndReason::Kind::Cancelled, std::nullopt);
      if (out.reaped > out.cancelled) metrics_.job_finished(lost, out.reaped - out.cancelled);
      if (out.cancelled > 0) metrics_.job_finished(cancelled, out.cancelled);
      metrics_.jobs_reaped(out.reaped);
    });
  });
}

// One small batch per transaction, the next only after the previous committed: no long locks.
void Upkeep::retain(int jobs, int workers) {
  if (!settings_.retention.keep_terminal || (jobs + workers == 0 && hooks_.database_up && !hooks_.database_up()))
    return;
  const Retention service(*settings_.retention.keep_terminal, settings_.retention.batch_size, lease());
  db_.post([this, jobs, workers, service](store::Store& store) {
    StoreMaintenance adapter(store);
    const auto out = service.run_once(adapter);
    asio::post(io_, [this, jobs = jobs + out.deleted, workers = workers + out.workers_deleted, more = out.more,
                     keep = service.keep()] {
      if (more && !stopped_) return retain(jobs, workers);
      if (jobs > 0)
        spdlog::info("retention deleted {} terminal jobs completed more than {}ms ago, with their transitions", jobs,
                     keep.count());
      if (workers > 0)
        spdlog::info("retention deleted the rows of {} daemons stopped or silent for more than {}ms and a lease",
                     workers, keep.count());
    });
  });
}

}  // namespace govjobd::run
