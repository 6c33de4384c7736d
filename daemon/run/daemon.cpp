#include "daemon/run/daemon.hpp"

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/settings_loader.hpp"
#include "daemon/log/logging.hpp"
#include "daemon/run/claim_throttle.hpp"
#include "daemon/run/db_worker.hpp"
#include "daemon/run/descriptor_budget.hpp"
#include "daemon/run/exit_codes.hpp"
#include "daemon/run/job_run.hpp"
#include "daemon/run/metrics.hpp"
#include "daemon/run/metrics_server.hpp"
#include "daemon/run/recorder.hpp"
#include "daemon/store/listener.hpp"
#include "executors/process_executor.hpp"
#include "govjobd/version.hpp"

namespace govjobd::run {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

constexpr int kReapBatch = 100;

std::string host_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

// signal_record steps write through the database thread.
class DbSignalSink : public executors::SignalSink {
 public:
  DbSignalSink(asio::io_context& io, DbWorker& db) : io_(io), db_(db) {}
  void record(const executors::GovernanceSignal& s, std::function<void(Outcome)> done) override {
    db_.post([this, s, done = std::move(done)](store::Store& store) {
      Outcome outcome;
      if (auto error = error_unless_unavailable([&] {
            outcome.signal_id = store.signal_record(
                {s.job_id, s.contract_id, s.step_index, s.scope, s.signal_type, s.decision, s.reason, s.recorded_by});
          }))
        outcome.error = std::move(*error);
      asio::post(io_, [done, outcome] { done(outcome); });
    });
  }

 private:
  asio::io_context& io_;
  DbWorker& db_;
};

milliseconds jittered(milliseconds base) {
  static std::mt19937 rng{std::random_device{}()};
  std::uniform_real_distribution<double> factor(0.8, 1.2);
  return milliseconds(static_cast<long long>(static_cast<double>(base.count()) * factor(rng)));
}

class Daemon {
 public:
  Daemon(config::Settings settings, DaemonOptions options)
      : settings_(std::move(settings)), options_(std::move(options)), host_(host_name()),
        worker_id_(settings_.worker.id.empty() ? default_worker_id() : settings_.worker.id) {}

  ~Daemon() { stop_listener(); }  // also when run() ends by an exception: never leave the thread joinable
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  int run();

 private:
  void on_db_state(bool& connection_up, bool up);
  void on_ready();
  void listen_loop();
  void stop_listener() {
    listener_stop_ = true;
    if (listener_.joinable()) listener_.join();
  }
  void on_notification(const store::Notification& n);
  void maybe_claim();
  int executing() const;
  void on_spawn_report(bool spawned);
  // The event loop itself failed: every running job is ended FAILED as far as the database allows, then exit 70.
  void end_after_internal_error(const std::string& what);
  void claim_soon();
  void start_job(store::ClaimedJob job);
  void on_job_finished(const JobRun& run);
  void check_idle();
  void poll_tick();
  void heartbeat_tick();
  void reaper_tick();
  void retention_tick();
  void retention_batch(milliseconds keep, int total);
  void watchdog_tick(milliseconds every);
  void apply_cancel_requests();
  void on_signal(int sig);
  void begin_shutdown();
  void cancel_all(const std::string& reason);
  void finish_shutdown();
  void reload();
  void notify_status();
  RunEnv env();
  bool open_files_cover(const config::Settings& settings);

  asio::io_context io_;
  config::Settings settings_;
  DaemonOptions options_;
  std::string host_;
  std::string worker_id_;
  // Two connections: claims and the daemon's own upkeep on db_; job writes and the heartbeat (which renews
  // the leases of the rows the writes update) on writes_, so that a claim and a write commit side by side
  // (measured: claims waiting behind write batches bounded throughput). Claims touch only PENDING rows.
  std::unique_ptr<DbWorker> db_;
  std::unique_ptr<DbWorker> writes_;
  std::unique_ptr<Recorder> recorder_;
  std::shared_ptr<executors::SignalSink> signals_sink_;
  std::shared_ptr<executors::ExecutorRegistry> executors_;
  std::shared_ptr<health::HealthMonitor> health_;
  std::map<std::string, std::shared_ptr<JobRun>> running_;
  Metrics metrics_;
  std::unique_ptr<MetricsServer> metrics_server_;
  asio::steady_timer poll_timer_{io_}, heartbeat_timer_{io_}, reaper_timer_{io_}, grace_timer_{io_},
      watchdog_timer_{io_}, retention_timer_{io_};
  asio::signal_set signals_{io_, SIGTERM, SIGINT, SIGHUP};
  ClaimThrottle throttle_;
  asio::steady_timer throttle_timer_{io_};
  std::string fault_after_step_type_ = [] {
    const char* v = std::getenv("GOVJOBD_TEST_FAULT_AFTER_STEP_TYPE");  // a test hook: see RunEnv
    return std::string(v ? v : "");
  }();
  std::thread listener_;
  std::atomic<bool> listener_stop_{false};
  std::atomic<bool> listening_{false};
  bool ready_ = false, db_up_ = true, writes_up_ = true, heartbeat_ok_ = true, draining_ = false, stopped_ = false;
  bool cancel_read_in_flight_ = false, cancel_read_again_ = false;
  bool claim_in_flight_ = false, claim_again_ = false, heartbeat_in_flight_ = false, idle_check_in_flight_ = false,
       claim_posted_ = false;
  long long finished_ = 0;
  int exit_code_ = kExitOk;
  // Rows a claim failed on even alone: left out of every later claim (bounded; a restart tries them again).
  static constexpr std::size_t kMaxUnclaimable = 10'000;
  std::set<std::string> unclaimable_;
};

RunEnv Daemon::env() {
  return RunEnv{io_,   *recorder_, executors_, health_, settings_.health.block_on, worker_id_, host_, &metrics_,
                [this] { claim_soon(); }, settings_.worker.max_job_bytes,
                [this](bool spawned) { on_spawn_report(spawned); }, fault_after_step_type_};
}

int Daemon::run() {
  executors::prepare_process_for_children();
  if (!open_files_cover(settings_)) return kExitConfig;
  db_ = std::make_unique<DbWorker>(io_, settings_.database.url, settings_.database.jobs_schema, [this](bool up) { on_db_state(db_up_, up); });
  writes_ = std::make_unique<DbWorker>(io_, settings_.database.url, settings_.database.jobs_schema, [this](bool up) { on_db_state(writes_up_, up); });
  recorder_ = std::make_unique<Recorder>(io_, *writes_);
  signals_sink_ = std::make_shared<DbSignalSink>(io_, *writes_);
  try {
    executors_ = std::make_shared<executors::ExecutorRegistry>(io_, settings_.executors, signals_sink_);
    health_ = std::make_shared<health::HealthMonitor>(io_, settings_.health);
  } catch (const std::invalid_argument& e) {
    spdlog::error("{}: {}", settings_.source, e.what());
    writes_->stop(0ms);
    db_->stop(0ms);
    return kExitConfig;
  }
  if (!settings_.metrics.listen.empty()) {
    try {
      metrics_server_ = std::make_unique<MetricsServer>(io_, settings_.metrics.listen, [this] {
        metrics_.set_running(static_cast<int>(running_.size()));
        metrics_.set_database_reconnects(db_->reconnects() + writes_->reconnects());
        return metrics_.render();
      });
      spdlog::info("metrics on http://{}/metrics", settings_.metrics.listen);
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      writes_->stop(0ms);
      db_->stop(0ms);
      return kExitFailure;
    }
  }
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) { if (!ec) on_signal(sig); });
  spdlog::info("govjobd {} starting as worker {} (concurrency {})", kVersion, worker_id_, settings_.worker.concurrency);
  db_->post([this](store::Store& store) {
    std::string problem;
    try {
      store.check_schema_version();
      store.worker_register(worker_id_, host_, ::getpid(), kVersion);
    } catch (const store::SchemaMismatch& e) {
      problem = e.what();
    }
    asio::post(io_, [this, problem] {
      if (problem.empty()) return on_ready();
      spdlog::error("{}", problem);
      exit_code_ = kExitConfig;
      finish_shutdown();
    });
  });
  try {
    io_.run();
  } catch (const std::exception& e) {
    end_after_internal_error(e.what());
  }
  stop_listener();
  writes_->stop(5s);
  db_->stop(5s);
  return exit_code_;
}

// The soft limit goes up to the hard one; a concurrency the hard limit cannot cover is refused (at start, and
// on reload) rather than met with EMFILE under load.
bool Daemon::open_files_cover(const config::Settings& settings) {
  const auto files = executors::raise_open_files_limit();
  if (files.soft != files.before) spdlog::info("open files: soft limit raised from {} to {}", files.before, files.soft);
  const auto budget = descriptor_budget(settings);
  if (auto shortfall = descriptor_shortfall(budget, files.soft)) {
    spdlog::error("{}: {}", settings.source, *shortfall);
    return false;
  }
  spdlog::debug("open files: {} budgeted ({}) of {}", budget.total(), budget.parts(), files.soft);
  return true;
}

void Daemon::on_ready() {
  ready_ = true;
  sd_notify(0, "READY=1");
  notify_status();
  spdlog::info("worker {} ready: connected, schema checked", worker_id_);
  listener_ = std::thread([this] { listen_loop(); });
  uint64_t watchdog_usec = 0;
  if (sd_watchdog_enabled(0, &watchdog_usec) > 0)
    watchdog_tick(std::chrono::duration_cast<milliseconds>(std::chrono::microseconds(watchdog_usec / 2)));
  poll_tick();
  heartbeat_tick();
  reaper_tick();
  if (settings_.retention.keep_terminal) retention_tick();
  maybe_claim();
}

void Daemon::on_db_state(bool& connection_up, bool up) {
  const bool was_up = db_up_ && writes_up_;
  connection_up = up;
  if (was_up == (db_up_ && writes_up_)) return;
  if (up) {
    spdlog::info("database connection restored; claiming again");
    maybe_claim();
  } else {
    spdlog::warn("database connection lost: running steps go on, claiming stops until it is back");
  }
}

void Daemon::listen_loop() {
  auto backoff = 100ms;
  while (!listener_stop_) {
    try {
      auto listener = store::Listener::connect(settings_.database.url, {"govjobd_jobs", "govjobd_cancel"});
      backoff = 100ms;
      listening_ = true;
      asio::post(io_, [this] {  // whatever was notified while not listening
        maybe_claim();
        apply_cancel_requests();
      });
      while (!listener_stop_)
        for (auto& n : listener->wait(250ms)) asio::post(io_, [this, n] { on_notification(n); });
    } catch (const std::exception& e) {
      listening_ = false;
      spdlog::warn("LISTEN connection lost ({}); listening again in {}ms", e.what(), backoff.count());
      for (auto waited = 0ms; waited < backoff && !listener_stop_; waited += 50ms) std::this_thread::sleep_for(50ms);
      backoff = std::min(backoff * 2, milliseconds(5000));
    }
  }
}

void Daemon::on_notification(const store::Notification& n) {
  if (n.channel == "govjobd_jobs") return maybe_claim();
  if (n.channel == "govjobd_cancel" && running_.count(n.payload)) apply_cancel_requests();
}

void Daemon::maybe_claim() {
  if (!ready_ || draining_ || !db_up_ || !writes_up_ || !heartbeat_ok_) return;
  if (claim_in_flight_) {
    claim_again_ = true;
    return;
  }
  // A job whose end is being recorded runs nothing: its slot goes to the next job, so that the claim commits
  // beside the write batch. At most as many again may wait for their end to commit.
  const int concurrency = settings_.worker.concurrency;
  const int executing = this->executing();
  const int free = throttle_.allowed(std::min(concurrency - executing, 2 * concurrency - static_cast<int>(running_.size())),
                                     executing, ClaimThrottle::Clock::now());
  if (free <= 0) return;
  claim_in_flight_ = true;
  claim_again_ = false;
  const auto asked = std::chrono::steady_clock::now();
  store::JobClaimParams params{worker_id_, free, settings_.worker.lease_timeout, settings_.worker.max_job_bytes,
                               {unclaimable_.begin(), unclaimable_.end()}};
  db_->post([this, free, asked, params = std::move(params)](store::Store& store) {
    store::ClaimResult claimed;
    if (const auto error = error_unless_unavailable([&] { claimed = store.job_claim(params); }))
      spdlog::error("claim failed: {}", *error);
    asio::post(io_, [this, free, asked, jobs = std::move(claimed.jobs), unclaimable = std::move(claimed.unclaimable)]() mutable {
      claim_in_flight_ = false;
      for (const auto& [id, message] : unclaimable) {
        // never claimed again by this daemon: a claim that fails on a row must not fail in a loop
        if (unclaimable_.size() < kMaxUnclaimable) unclaimable_.insert(id);
        spdlog::error("job {} step - cannot be claimed, not tried again by this daemon: {}", id, message);
      }
      metrics_.jobs_claimed(static_cast<int>(jobs.size()),
                            std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count());
      const bool full = static_cast<int>(jobs.size()) == free;
      for (auto& job : jobs) start_job(std::move(job));
      if (full || claim_again_) return maybe_claim();
      if (jobs.empty()) check_idle();
    });
  });
}

void Daemon::start_job(store::ClaimedJob job) {
  const std::string id = job.job_id;
  if (job.claim_error) spdlog::warn("job {} step - isolated by claim: the claim failed on this row: {}", id, *job.claim_error);
  auto run = std::make_shared<JobRun>(env(), std::move(job), [this](const JobRun& r) { on_job_finished(r); });
  running_.emplace(id, run);
  run->start();
}

void Daemon::on_job_finished(const JobRun& run) {
  const std::string id = run.job_id();
  asio::post(io_, [this, id] {  // not inside the run's own callback
    running_.erase(id);
    ++finished_;
    notify_status();
    if (draining_) {
      if (running_.empty()) finish_shutdown();
      return;
    }
    claim_soon();
  });
}

int Daemon::executing() const {
  int n = 0;
  for (const auto& [id, run] : running_) n += run->ending() ? 0 : 1;
  return n;
}

// Spawns failing for lack of descriptors, processes or memory throttle the claimer (ClaimThrottle): queued jobs
// wait in the database; one that starts again lets it claim more.
void Daemon::on_spawn_report(bool spawned) {
  const auto now = ClaimThrottle::Clock::now();
  if (spawned) {
    if (!throttle_.active()) return;
    if (throttle_.on_spawned(executing(), settings_.worker.concurrency, now))
      spdlog::info("steps start again: claiming up to worker.concurrency ({}) again", settings_.worker.concurrency);
    return maybe_claim();
  }
  if (throttle_.on_shortage(executing(), now))
    spdlog::warn("a step could not start for lack of resources: claiming at most {} jobs at once, one more at a time, "
                 "until steps start again", throttle_.cap());
  throttle_timer_.expires_at(throttle_.next_probe());
  throttle_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) maybe_claim();
  });
}

void Daemon::end_after_internal_error(const std::string& what) {
  spdlog::critical("internal error in the event loop: {}; ending the {} running jobs FAILED, then exiting", what,
                   running_.size());
  exit_code_ = kExitSoftware;  // systemd restarts the daemon
  draining_ = true;
  const std::string reason = "govjobd internal error: " + what;
  for (auto& [id, run] : std::map(running_)) {
    try {
      run->fail_now(reason);
    } catch (const std::exception& e) {
      spdlog::error("job {} step -: its end could not be prepared ({}); it stays RUNNING until reaped", id, e.what());
    }
  }
  // What remains of the loop records those ends (bounded: the writes' thread gives up on a lost database).
  grace_timer_.expires_after(std::chrono::seconds(10));
  grace_timer_.async_wait([this](const boost::system::error_code& ec) { if (!ec) io_.stop(); });
  if (running_.empty()) finish_shutdown();
  try {
    io_.restart();
    io_.run();
  } catch (const std::exception& e) {
    spdlog::critical("internal error again while ending the running jobs: {}", e.what());
  }
}

// After the handlers already queued (the other jobs that ended in the same write): one claim for all
// the freed slots instead of a claim of one and then another.
void Daemon::claim_soon() {
  if (claim_posted_) return;
  claim_posted_ = true;
  asio::post(io_, [this] {
    claim_posted_ = false;
    maybe_claim();
  });
}

void Daemon::check_idle() {
  if (!options_.exit_when_idle || !running_.empty() || draining_ || idle_check_in_flight_) return;
  idle_check_in_flight_ = true;
  db_->post([this](store::Store& store) {
    long long pending = 1;
    if (const auto error = error_unless_unavailable([&] { pending = store.jobs_pending_count(); }))
      spdlog::error("counting PENDING jobs failed: {}", *error);
    asio::post(io_, [this, pending] {
      idle_check_in_flight_ = false;
      if (pending == 0 && running_.empty() && !claim_in_flight_ && !draining_) {
        spdlog::info("no PENDING job left and nothing running: exiting (--exit-when-idle)");
        draining_ = true;
        finish_shutdown();
      }
    });
  });
}

void Daemon::poll_tick() {
  // While LISTEN is up, every new PENDING job notifies (and the listener claims once after each
  // reconnect): an idle daemon then sends no claim queries, only its heartbeats and the reaper's.
  if (!listening_ || !running_.empty()) maybe_claim();
  if (!running_.empty()) apply_cancel_requests();
  if (running_.empty() && !claim_in_flight_) check_idle();
  poll_timer_.expires_after(jittered(settings_.worker.poll_interval));
  poll_timer_.async_wait([this](const boost::system::error_code& ec) { if (!ec) poll_tick(); });
}

void Daemon::heartbeat_tick() {
  if (const int strays = executors::reap_stray_children(); strays > 0)
    spdlog::warn("reaped {} stray processes that had left their step's process group", strays);
  if (!heartbeat_in_flight_) {
    heartbeat_in_flight_ = true;
    std::vector<std::string> ids;
    for (const auto& [id, run] : running_) ids.push_back(id);
    // On the writes' connection: the lease renewal updates the same job rows as a write batch, and two
    // transactions updating them side by side in different orders deadlock (seen: PostgreSQL aborted one).
    writes_->post([this, beat = store::WorkerHeartbeatParams{worker_id_, ids, settings_.worker.lease_timeout}](store::Store& store) {
      const auto error = error_unless_unavailable([&] {
        if (!store.worker_heartbeat(beat).worker_known) store.worker_register(worker_id_, host_, ::getpid(), kVersion);
      });
      if (error) spdlog::error("heartbeat failed: {}", *error);
      const bool ok = !error;
      asio::post(io_, [this, ok] {
        heartbeat_in_flight_ = false;
        if (ok != heartbeat_ok_) {
          heartbeat_ok_ = ok;
          if (ok) maybe_claim();
          else spdlog::warn("heartbeats fail: no new claims until one succeeds");
        }
      });
    });
  }
  heartbeat_timer_.expires_after(settings_.worker.heartbeat_interval);
  heartbeat_timer_.async_wait([this](const boost::system::error_code& ec) { if (!ec) heartbeat_tick(); });
}

void Daemon::reaper_tick() {
  if (db_up_) {
    // After an outage every lease may have run out, the live workers' too: the reaper leaves a job alone until
    // its owner had the time to beat again (a lease, a heartbeat and the longest reconnect backoff).
    const auto hold = settings_.worker.lease_timeout + settings_.worker.heartbeat_interval + DbWorker::kMaxReconnectBackoff;
    const store::JobReapParams reap{worker_id_, settings_.worker.lease_timeout, hold, kReapBatch, settings_.worker.max_job_bytes};
    db_->post([reap](store::Store& store) {
      const int reaped = store.job_reap(reap, [](const store::LostJob& lost) {
        auto d = decide_reap(lost);
        spdlog::warn("job {} step {} RUNNING -> FAILED: {}", lost.job_id, step_label(d.step_index), d.reason);
        return d;
      });
      if (reaped > 0) spdlog::info("reaper ended {} jobs of lost workers", reaped);
    });
  }
  reaper_timer_.expires_after(jittered(std::max(milliseconds(500), settings_.worker.lease_timeout / 2)));
  reaper_timer_.async_wait([this](const boost::system::error_code& ec) { if (!ec) reaper_tick(); });
}

void Daemon::retention_tick() {
  if (db_up_) retention_batch(*settings_.retention.keep_terminal, 0);
  retention_timer_.expires_after(jittered(settings_.retention.interval));
  retention_timer_.async_wait([this](const boost::system::error_code& ec) { if (!ec) retention_tick(); });
}

// One small batch per transaction, the next only after the previous committed: no long locks.
void Daemon::retention_batch(milliseconds keep, int total) {
  db_->post([this, keep, total, batch = settings_.retention.batch_size](store::Store& store) {
    const int deleted = store.jobs_delete_terminal({keep, batch});
    asio::post(io_, [this, keep, total, deleted, batch] {
      if (deleted == batch && !draining_) return retention_batch(keep, total + deleted);
      if (total + deleted > 0)
        spdlog::info("retention deleted {} terminal jobs completed more than {}ms ago, with their transitions",
                     total + deleted, keep.count());
    });
  });
}

void Daemon::watchdog_tick(milliseconds every) {
  sd_notify(0, "WATCHDOG=1");
  watchdog_timer_.expires_after(every);
  watchdog_timer_.async_wait([this, every](const boost::system::error_code& ec) { if (!ec) watchdog_tick(every); });
}

// One read in flight at a time, and one more after it when asked meanwhile: anyone may NOTIFY
// govjobd_cancel, and a flood of notifications must not queue a flood of reads.
void Daemon::apply_cancel_requests() {
  if (running_.empty()) return;
  if (cancel_read_in_flight_) {
    cancel_read_again_ = true;
    return;
  }
  cancel_read_in_flight_ = true;
  cancel_read_again_ = false;
  db_->post([this](store::Store& store) {
    auto requests = store.job_cancel_requests(worker_id_);  // a lost connection: the database thread runs it again
    asio::post(io_, [this, requests = std::move(requests)] {
      cancel_read_in_flight_ = false;
      if (cancel_read_again_) apply_cancel_requests();
      for (const auto& r : requests)
        if (auto it = running_.find(r.job_id); it != running_.end()) it->second->request_cancel(r.requested_by, r.reason);
    });
  });
}

void Daemon::on_signal(int sig) {
  signals_.async_wait([this](const boost::system::error_code& ec, int s) { if (!ec) on_signal(s); });
  if (sig == SIGHUP) return reload();
  if (!draining_) return begin_shutdown();
  spdlog::warn("second signal: cancelling the {} running jobs now", running_.size());
  cancel_all("daemon shutdown");
}

void Daemon::begin_shutdown() {
  draining_ = true;
  sd_notify(0, "STOPPING=1");
  spdlog::info("shutting down: no new claims; waiting up to {}ms for {} running jobs",
               settings_.worker.shutdown_grace.count(), running_.size());
  if (running_.empty() || !ready_) return finish_shutdown();
  grace_timer_.expires_after(settings_.worker.shutdown_grace);
  grace_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) cancel_all("daemon shutdown");
  });
}

void Daemon::cancel_all(const std::string& reason) {
  for (auto& [id, run] : running_) run->request_cancel("govjobd " + worker_id_, reason);
}

void Daemon::finish_shutdown() {
  if (stopped_) return;
  stopped_ = true;
  for (auto* t : {&poll_timer_, &heartbeat_timer_, &reaper_timer_, &grace_timer_, &watchdog_timer_, &retention_timer_, &throttle_timer_})
    t->cancel();
  if (metrics_server_) metrics_server_->stop();
  signals_.cancel();
  if (!ready_) return io_.stop();
  db_->post([this](store::Store& store) {
    store.worker_stop(worker_id_);
    asio::post(io_, [this] {
      spdlog::info("worker {} stopped after {} jobs", worker_id_, finished_);
      io_.stop();
    });
  });
}

void Daemon::reload() {
  spdlog::info("SIGHUP: reloading {}", options_.config_path);
  try {
    config::Settings next = config::load_settings(options_.config_path);
    if (!open_files_cover(next)) return spdlog::error("reload refused, keeping the running configuration");
    auto executors = std::make_shared<executors::ExecutorRegistry>(io_, next.executors, signals_sink_);
    auto health = std::make_shared<health::HealthMonitor>(io_, next.health);
    if (next.database.url != settings_.database.url)
      spdlog::warn("database.url changed: it applies after a restart, not on reload");
    if (next.database.jobs_schema != settings_.database.jobs_schema)
      spdlog::warn("database.jobs_schema changed: it applies after a restart, not on reload");
    executors_ = std::move(executors);
    health_ = std::move(health);
    next.database = settings_.database;
    next.worker.id = settings_.worker.id;
    settings_ = std::move(next);
    log::set_level(settings_.logging.level);
    spdlog::info("configuration reloaded: concurrency {}, {} executors, {} probes (running jobs keep the old ones)",
                 settings_.worker.concurrency, settings_.executors.size(), settings_.health.capabilities.size());
    maybe_claim();
  } catch (const config::ConfigError& e) {
    for (const auto& issue : e.issues()) spdlog::error("reload refused, keeping the running configuration: {}", issue.text());
  } catch (const std::exception& e) {
    spdlog::error("reload refused, keeping the running configuration: {}", e.what());
  }
}

void Daemon::notify_status() {
  sd_notify(0, fmt::format("STATUS=worker {}: {} running, {} finished", worker_id_, running_.size(), finished_).c_str());
}

}  // namespace

std::string default_worker_id() { return fmt::format("{}:{}", host_name(), ::getpid()); }

int run_daemon(const config::Settings& settings, const DaemonOptions& options) {
  Daemon daemon(settings, options);
  return daemon.run();
}

}  // namespace govjobd::run
