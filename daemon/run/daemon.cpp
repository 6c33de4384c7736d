#include "daemon/run/daemon.hpp"

#include <unistd.h>

#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/settings_loader.hpp"
#include "daemon/log/logging.hpp"
#include "daemon/run/claimer.hpp"
#include "daemon/run/db_signal_sink.hpp"
#include "daemon/run/db_worker.hpp"
#include "daemon/run/descriptor_budget.hpp"
#include "daemon/run/exit_codes.hpp"
#include "daemon/run/fleet_watch.hpp"
#include "daemon/run/job_run.hpp"
#include "daemon/run/lifecycle.hpp"
#include "daemon/run/metrics.hpp"
#include "daemon/run/metrics_server.hpp"
#include "daemon/run/notifications.hpp"
#include "daemon/run/process_stats.hpp"
#include "daemon/run/recorder.hpp"
#include "daemon/run/reload.hpp"
#include "daemon/run/running_jobs.hpp"
#include "daemon/run/upkeep.hpp"
#include "executors/executor_registry.hpp"
#include "govjobd/version.hpp"
#include "health/health_monitor.hpp"
#include "process/child_reaper.hpp"
#include "process/descriptors.hpp"

namespace govjobd::run {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::string host_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

// The wiring of the services: the claimer, the notifications, upkeep (heartbeat, reaper, retention) and the
// lifecycle, around the running jobs. Two database threads: claims and the daemon's own reads on db_; job
// writes and the heartbeat (which renews the leases of the rows the writes update) on writes_, so that a
// claim and a write commit side by side (measured: claims waiting behind write batches bounded throughput).
class Daemon {
 public:
  Daemon(config::Settings settings, DaemonOptions options);
  int run();

 private:
  bool start_services();  // false: a config error, already logged
  void on_ready();
  void on_db_state(bool& connection_up, bool up);
  void on_notification(const store::Notification& n);
  FleetState beat_state();
  void poll();
  void check_idle();
  void on_job_finished();
  void reload();
  void finish();
  void abandon_running();
  void end_after_internal_error(const std::string& what);
  RunEnv env();
  std::string render_metrics();  // /metrics, with the gauges read from the loop's state

  asio::io_context io_;
  config::Settings settings_;
  DaemonOptions options_;
  WorkerIdentity who_;
  std::string fault_after_step_type_;  // GOVJOBD_TEST_FAULT_AFTER_STEP_TYPE: see RunEnv
  Metrics metrics_;
  std::unique_ptr<DbWorker> db_, writes_;
  std::unique_ptr<Recorder> recorder_;
  std::shared_ptr<JobWriter> writer_;
  std::shared_ptr<executors::SignalSink> signals_sink_;
  std::shared_ptr<StepRunner> steps_;
  std::shared_ptr<HealthObserver> health_;
  std::shared_ptr<health::HealthMonitor> health_monitor_;
  std::unique_ptr<MetricsServer> metrics_server_;
  std::unique_ptr<RunningJobs> jobs_;
  std::unique_ptr<Claimer> claimer_;
  std::unique_ptr<FleetWatch> fleet_;
  std::unique_ptr<Upkeep> upkeep_;
  std::unique_ptr<Notifications> notifications_;
  std::unique_ptr<Lifecycle> lifecycle_;
  // Reaps children that left their step's process group; leaves the groups' leaders to their runs.
  std::shared_ptr<process::ChildReaper> child_reaper_ = std::make_shared<process::ChildReaper>();
  PeriodicTimer poll_timer_{io_, [this] { return settings_.worker.poll_interval; }, true};
  asio::steady_timer stop_timer_{io_};
  bool db_up_ = true, writes_up_ = true, idle_check_in_flight_ = false, stopped_ = false, abandoned_ = false;
  long long finished_ = 0;
  int exit_code_ = 0;
};

Daemon::Daemon(config::Settings settings, DaemonOptions options)
    : settings_(std::move(settings)), options_(std::move(options)),
      who_{settings_.worker.id.empty() ? default_worker_id() : settings_.worker.id, host_name(), ::getpid(), kVersion} {
  if (const char* fault = std::getenv("GOVJOBD_TEST_FAULT_AFTER_STEP_TYPE")) fault_after_step_type_ = fault;
}

RunEnv Daemon::env() {
  return RunEnv{steps_, health_, writer_, settings_.health.block_on, who_.worker_id, who_.host, &metrics_,
                [this] { claimer_->slot_freed(); }, settings_.worker.max_job_bytes,
                [this](bool spawned) { claimer_->on_spawn_report(spawned); }, fault_after_step_type_};
}

int Daemon::run() {
  process::prepare_process_for_children();
  if (!open_files_cover(settings_)) return kExitConfig;
  // claims (and with them the contract gate's reads) go on db_, or on writes_ in a write batch (ClaimAlong)
  db_ = std::make_unique<DbWorker>(io_, settings_.database.url, settings_.database.jobs_schema, settings_.contract,
                                   [this](bool up) { on_db_state(db_up_, up); });
  writes_ = std::make_unique<DbWorker>(io_, settings_.database.url, settings_.database.jobs_schema, settings_.contract,
                                       [this](bool up) { on_db_state(writes_up_, up); });
  recorder_ = std::make_unique<Recorder>(
      io_, *writes_, [this] { return claimer_ ? claimer_->claim_along() : std::optional<Recorder::ClaimAlong>(); });
  writer_ = job_writer(*recorder_);
  signals_sink_ = std::make_shared<DbSignalSink>(io_, *writes_);
  if (!start_services()) {
    writes_->stop(0ms);
    db_->stop(0ms);
    return exit_code_;
  }
  spdlog::info("govjobd {} starting as worker {} (concurrency {}, {})", kVersion, who_.worker_id, settings_.worker.concurrency, allocator_name());
  db_->post([this, serves = fleet_->state().serves](store::Store& store) {
    std::vector<std::string> problems;
    // neither a config problem nor a lost connection (run again): exit 70, not hang
    const auto failed = error_unless_unavailable([&] {
      try {
        store.check_schema_version();
        // the contract gate on: a contracts table the claim cannot read as configured is a config error
        if (settings_.contract.enabled)
          for (const auto& p : store.contract_table_problems()) problems.push_back(settings_.source + ": " + p);
        if (problems.empty()) store.worker_register(who_.worker_id, who_.host, who_.pid, who_.version, serves);
      } catch (const store::SchemaMismatch& e) {
        problems.push_back(e.what());
      }
    });
    asio::post(io_, [this, problems, failed] {
      if (failed) {
        spdlog::error("start-up failed: {}", *failed);
        exit_code_ = kExitSoftware;
        return finish();
      }
      if (problems.empty()) return on_ready();
      for (const auto& p : problems) spdlog::error("{}", p);
      exit_code_ = kExitConfig;
      finish();
    });
  });
  try {
    io_.run();
  } catch (const std::exception& e) {
    end_after_internal_error(e.what());
  }
  notifications_->stop();
  writes_->request_stop(5s);  // both threads' patience at once
  db_->request_stop(5s);
  writes_->join();
  db_->join();
  // jobs whose ends were not recorded (abandon_running), unless one landed meanwhile or another error came first
  if (abandoned_ && !jobs_->empty() && exit_code_ == kExitOk) exit_code_ = kExitUnavailable;
  return exit_code_;
}

bool Daemon::start_services() {
  try {
    auto executors = std::make_shared<executors::ExecutorRegistry>(io_, settings_.executors, signals_sink_, child_reaper_);
    steps_ = step_runner(io_, std::move(executors));
    health_monitor_ = std::make_shared<health::HealthMonitor>(io_, settings_.health, child_reaper_);
    health_ = health_observer(health_monitor_);
  } catch (const std::invalid_argument& e) {
    spdlog::error("{}: {}", settings_.source, e.what());
    exit_code_ = kExitConfig;
    return false;
  }
  jobs_ = std::make_unique<RunningJobs>(io_, *db_, who_.worker_id, [this] { on_job_finished(); });
  claimer_ = std::make_unique<Claimer>(io_, *db_, settings_, who_.worker_id, metrics_, Claimer::Hooks{
      [this] {
        return lifecycle_->is_ready() && !lifecycle_->draining() && db_up_ && writes_up_ && upkeep_->heartbeat_ok() &&
               fleet_->have_view();  // the first health snapshot is in
      },
      [this] { return Claimer::Load{jobs_->executing(), jobs_->unfinished()}; },
      [this](store::ClaimedJob job) { jobs_->start(std::move(job), env()); },
      [this] { check_idle(); },
      [this] { return fleet_->view(); }, [this] { return recorder_->end_due(); }, [this] { lifecycle_->job_finished(); }});
  fleet_ = std::make_unique<FleetWatch>(io_, *db_, settings_, who_.worker_id, FleetWatch::Hooks{
      [this] { claimer_->claim(); }, [this](store::JobToEnd job) { claimer_->claim_to_end(std::move(job)); },
      [this] { return db_up_ && !lifecycle_->draining(); }, [this](const model::HealthSnapshot& s) { metrics_.health_observed(s); },
      settings_.metrics.listen.empty() ? std::function<void(const store::FleetStatus&)>()
                                       : [this](const store::FleetStatus& q) { metrics_.set_queue(q); },
      [this](const std::string& round) { metrics_.round_failed(round); }});
  upkeep_ = std::make_unique<Upkeep>(io_, *db_, *writes_, settings_, who_, metrics_, Upkeep::Hooks{
      [this] { return jobs_->ids(); }, [this] { return db_up_; }, [this](bool ok) { if (ok) claimer_->claim(); },
      [this] {
        if (const int strays = child_reaper_->reap_strays(); strays > 0)
          spdlog::warn("reaped {} stray processes that had left their step's process group", strays);
      },
      [this] { return beat_state(); }, [this](auto live, auto pending) { claimer_->on_beat(std::move(live), pending); },
      [this](const EndReason& why) { jobs_->stop_all(why); }});
  notifications_ = std::make_unique<Notifications>(io_, settings_.database.url, Notifications::Hooks{
      [this] { claimer_->claim(); jobs_->read_cancel_requests(); },
      [this](const store::Notification& n) { on_notification(n); }});
  lifecycle_ = std::make_unique<Lifecycle>(io_, settings_, who_.worker_id, Lifecycle::Hooks{
      [this] { reload(); }, [this] { return jobs_->size(); },
      [this] {
        jobs_->stop_all(EndReason::of(EndReason::Kind::Shutdown, std::nullopt, {}, "govjobd " + who_.worker_id));
        recorder_->stop_waiting_for_locks();  // a job whose row stays locked ends, unrecorded, for the reaper
      },
      [this] { finish(); }, [this] { abandon_running(); }, [this] { return claimer_->busy(); }});
  if (!settings_.metrics.listen.empty()) {
    try {
      metrics_server_ =
          std::make_unique<MetricsServer>(io_, settings_.metrics.listen, [this] { return render_metrics(); });
      spdlog::info("metrics on http://{}/metrics", settings_.metrics.listen);
    } catch (const std::exception& e) {  // metrics.listen cannot be bound: a config error, not for a restart
      spdlog::error("{}: {}", settings_.source, e.what());
      exit_code_ = kExitConfig;
      return false;
    }
  }
  lifecycle_->start();
  return true;
}

std::string Daemon::render_metrics() {
  metrics_.set_running(jobs_->size());
  // down before the threads' first connections too (the writes' thread connects for the first heartbeat)
  metrics_.set_database(db_up_ && writes_up_ && db_->connected_once() && writes_->connected_once(),
                        db_->reconnects() + writes_->reconnects());
  return metrics_.render();
}

void Daemon::on_ready() {
  lifecycle_->ready();
  lifecycle_->status(finished_);
  spdlog::info("worker {} ready: connected, schema checked", who_.worker_id);
  notifications_->start();
  poll_timer_.start([this] { poll(); });
  upkeep_->start();
  fleet_->start(health_monitor_);  // the first claim waits for its first health snapshot
}

void Daemon::on_db_state(bool& connection_up, bool up) {
  const bool was_up = db_up_ && writes_up_;
  connection_up = up;
  if (was_up == (db_up_ && writes_up_)) return;
  if (!up) return spdlog::warn("database connection lost: running steps go on, claiming stops until it is back");
  spdlog::info("database connection restored; claiming again");
  claimer_->claim();
}

// What the next heartbeat records, and the jobs this daemon is backup for that it asks about (daemon/run/wake.hpp).
FleetState Daemon::beat_state() {
  FleetState fleet = fleet_->state();
  fleet.backup_for = claimer_->take_backups();
  return fleet;
}

void Daemon::on_notification(const store::Notification& n) {
  if (n.channel == "govjobd_jobs") return claimer_->wake(n.payload);
  if (n.channel == "govjobd_cancel" && jobs_->contains(n.payload)) jobs_->read_cancel_requests();
}

// While LISTEN is up, every new PENDING job notifies (and the listener claims once after each reconnect): an
// idle daemon then sends no claim queries, only its heartbeats and the reaper's, unless its last claim left
// jobs PENDING that may become claimable without a NOTIFY (a hold released, a target healthy again).
void Daemon::poll() {
  if (!notifications_->listening() || !jobs_->empty() || claimer_->left_behind()) claimer_->claim();
  if (!jobs_->empty()) jobs_->read_cancel_requests();
  if (jobs_->empty() && !claimer_->in_flight()) check_idle();
}

void Daemon::check_idle() {
  if (!options_.exit_when_idle || !jobs_->empty() || lifecycle_->draining() || idle_check_in_flight_) return;
  idle_check_in_flight_ = true;
  db_->post([this](store::Store& store) {
    long long pending = 1;
    if (auto error = error_unless_unavailable([&] { pending = store.jobs_pending_count(); }))
      spdlog::error("counting PENDING jobs failed: {}", *error);
    asio::post(io_, [this, pending] {
      idle_check_in_flight_ = false;
      if (pending != 0 || !jobs_->empty() || claimer_->in_flight() || lifecycle_->draining()) return;
      spdlog::info("no PENDING job left and nothing running: exiting (--exit-when-idle)");
      lifecycle_->set_draining();
      finish();
    });
  });
}

void Daemon::on_job_finished() {
  ++finished_;
  lifecycle_->status(finished_);
  if (lifecycle_->draining()) return lifecycle_->job_finished();
  claimer_->slot_freed();
}

// The one way down: timers and listeners stop, the worker row says stopped, the loop ends.
void Daemon::finish() {
  if (stopped_) return;
  stopped_ = true;
  poll_timer_.stop();
  fleet_->stop();
  upkeep_->stop();
  claimer_->stop();
  lifecycle_->stop();
  if (metrics_server_) metrics_server_->stop();
  if (!lifecycle_->is_ready()) return io_.stop();
  // on the heartbeat's thread: after any heartbeat already queued, which would undo it
  writes_->post([this](store::Store& store) {
    // any error but a lost connection (run again): logged, and the daemon stops all the same
    if (auto error = error_unless_unavailable([&] { store.worker_stop(who_.worker_id); }))
      spdlog::error("recording worker {} stopped failed: {}", who_.worker_id, *error);
    asio::post(io_, [this] {
      spdlog::info("worker {} stopped after {} jobs", who_.worker_id, finished_);
      io_.stop();
    });
  });
}

// Cancelled jobs whose ends were not recorded in time: the daemon stops without them (a reaper ends them).
void Daemon::abandon_running() {
  spdlog::error("shutdown: {} cancelled jobs did not record their end within {}ms (the database refuses or does not "
                "answer): stopping without them; they stay RUNNING until a reaper ends them",
                jobs_->size(), lifecycle_->record_patience().count());
  abandoned_ = true;
  finish();
  stop_timer_.expires_after(5s);  // the worker's stop may wait behind the same writes: not for long
  stop_timer_.async_wait([this](const boost::system::error_code& ec) { if (!ec) io_.stop(); });
}

// The event loop itself failed: every running job is ended FAILED as far as the database allows, then exit 70.
void Daemon::end_after_internal_error(const std::string& what) {
  spdlog::critical("internal error in the event loop: {}; ending the {} running jobs FAILED, then exiting", what,
                   jobs_->size());
  exit_code_ = kExitSoftware;
  lifecycle_->set_draining();
  lifecycle_->stop();  // no grace or patience timer fires into this
  jobs_->stop_all(EndReason::of(EndReason::Kind::InternalError, std::nullopt, what));
  recorder_->stop_waiting_for_locks();
  // What remains of the loop records those ends (bounded: the writes' thread gives up on a lost database).
  asio::steady_timer give_up(io_, std::chrono::seconds(10));
  give_up.async_wait([this](const boost::system::error_code& ec) { if (!ec) io_.stop(); });
  if (jobs_->empty()) finish();
  try {
    io_.restart();
    io_.run();
  } catch (const std::exception& e) {
    spdlog::critical("internal error again while ending the running jobs: {}", e.what());
  }
}

void Daemon::reload() {
  spdlog::info("SIGHUP: reloading {}", options_.config_path);
  try {
    config::Settings next = config::load_settings(options_.config_path);
    if (!open_files_cover(next)) return spdlog::error("reload refused, keeping the running configuration");
    auto steps = step_runner(io_, std::make_shared<executors::ExecutorRegistry>(io_, next.executors, signals_sink_, child_reaper_));
    auto monitor = std::make_shared<health::HealthMonitor>(io_, next.health, child_reaper_);
    auto health = health_observer(monitor);
    steps_ = std::move(steps);
    health_ = std::move(health);
    health_monitor_ = std::move(monitor);
    fleet_->set_monitor(health_monitor_);
    apply_reload(io_, settings_, next, metrics_server_);  // restart-only keys kept and named; metrics moved
    settings_ = std::move(next);
    upkeep_->settings_reloaded();
    log::set_level(settings_.logging.level);
    spdlog::info("configuration reloaded: concurrency {}, {} executors, {} probes (running jobs keep the old ones)",
                 settings_.worker.concurrency, settings_.executors.size(), settings_.health.capabilities.size());
    claimer_->claim();
  } catch (const config::ConfigError& e) {
    for (const auto& issue : e.issues()) spdlog::error("reload refused, keeping the running configuration: {}", issue.text());
  } catch (const std::exception& e) {
    spdlog::error("reload refused, keeping the running configuration: {}", e.what());
  }
}

}  // namespace

std::string default_worker_id() { return fmt::format("{}:{}", host_name(), ::getpid()); }

int run_daemon(const config::Settings& settings, const DaemonOptions& options) {
  Daemon daemon(settings, options);
  return daemon.run();
}

}  // namespace govjobd::run
