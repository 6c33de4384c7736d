#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "config/settings.hpp"
#include "daemon/run/periodic.hpp"

namespace boost::asio {
class io_context;
}

namespace govjobd::run {

// The daemon's life as systemd sees it: READY, STATUS, WATCHDOG and STOPPING; SIGHUP reloads; SIGTERM or
// SIGINT drains (no new claims; running jobs get worker.shutdown_grace, then are cancelled); a second signal
// cancels them at once. One way down: every path ends in finish().
class Lifecycle {
 public:
  struct Hooks {
    std::function<void()> reload;
    std::function<int()> running;     // jobs running now
    std::function<void()> cancel_all;  // "daemon shutdown"
    std::function<void()> finish;      // nothing runs any more: stop the daemon
    // jobs still running record_patience() after cancel_all (their ends not recorded): stop without them
    std::function<void()> abandon;
    // a claim whose result is not back: it may have committed, its jobs RUNNING and about to start here
    std::function<bool()> claim_busy;
  };
  // How long cancelled jobs may take to end and record it before a shutdown goes on without them: the
  // longest executors.*.kill_grace (SIGTERM to SIGKILL), the longest probe timeout (the snapshot after the
  // step) and 10 s for the end's write.
  std::chrono::milliseconds record_patience() const;
  Lifecycle(boost::asio::io_context& io, const config::Settings& settings, std::string worker_id, Hooks hooks);
  ~Lifecycle();

  void start();  // listens for signals
  void ready();  // connected and checked: READY=1, and the watchdog when systemd asks for one
  void status(long long finished);
  void begin_shutdown();
  // No new claims from now on (a shutdown, an internal error, an idle exit).
  void set_draining() { draining_ = true; }
  bool draining() const { return draining_; }
  bool is_ready() const { return ready_; }
  // A job finished: when draining and it was the last one, the daemon finishes.
  void job_finished();
  void stop();  // timers and signals

 private:
  void on_signal(int sig);
  void cancel_all();  // and after record_patience(), abandon what still runs; called again: abandon now
  void wait_for_signal();

  const config::Settings& settings_;
  std::string worker_id_;
  Hooks hooks_;
  struct Asio;
  std::unique_ptr<Asio> asio_;
  PeriodicTimer watchdog_;
  bool ready_ = false, draining_ = false, cancelled_ = false, claim_wait_armed_ = false, claim_wait_over_ = false;
  int waiting_for();
};

}  // namespace govjobd::run
