#include "daemon/run/lifecycle.hpp"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace govjobd::run {

namespace asio = boost::asio;
using std::chrono::milliseconds;

struct Lifecycle::Asio {
  explicit Asio(asio::io_context& io) : signals(io, SIGTERM, SIGINT, SIGHUP), grace(io), claim_wait(io) {}
  asio::signal_set signals;
  asio::steady_timer grace, claim_wait;
  milliseconds watchdog_every{0};
};

Lifecycle::Lifecycle(asio::io_context& io, const config::Settings& settings, std::string worker_id, Hooks hooks)
    : settings_(settings), worker_id_(std::move(worker_id)), hooks_(std::move(hooks)), asio_(std::make_unique<Asio>(io)),
      watchdog_(io, [this] { return asio_->watchdog_every; }, false) {}

Lifecycle::~Lifecycle() = default;

void Lifecycle::start() { wait_for_signal(); }

void Lifecycle::wait_for_signal() {
  asio_->signals.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (!ec) on_signal(sig);
  });
}

void Lifecycle::ready() {
  ready_ = true;
  sd_notify(0, "READY=1");
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) {
    asio_->watchdog_every = std::chrono::duration_cast<milliseconds>(std::chrono::microseconds(usec / 2));
    watchdog_.start([] { sd_notify(0, "WATCHDOG=1"); });
  }
}

void Lifecycle::status(long long finished) {
  sd_notify(0, fmt::format("STATUS=worker {}: {} running, {} finished", worker_id_, hooks_.running(), finished).c_str());
}

void Lifecycle::on_signal(int sig) {
  wait_for_signal();
  if (sig == SIGHUP) return hooks_.reload();
  if (!draining_) return begin_shutdown();
  spdlog::warn("second signal: cancelling the {} running jobs now", hooks_.running());
  cancel_all();
}

milliseconds Lifecycle::record_patience() const {
  milliseconds kill_grace{0};
  for (const auto& [name, executor] : settings_.executors) kill_grace = std::max(kill_grace, executor.kill_grace);
  milliseconds probe = settings_.health.probe_timeout;  // the snapshot after a cancelled step
  for (const auto& [name, p] : settings_.health.capabilities) probe = std::max(probe, p.timeout.value_or(probe));
  return kill_grace + probe + std::chrono::seconds(10);
}

// What a drain waits for: the running jobs, and a claim in flight. Its jobs start once its result is in and
// finish within the grace like the others (a drain that ended first left them RUNNING for a reaper, never run).
// A claim that does not come back (the database refuses or does not answer) is waited for 5 s at most, the
// database threads' own patience at the stop.
int Lifecycle::waiting_for() {
  const int jobs = hooks_.running();
  if (!draining_ || !hooks_.claim_busy || !hooks_.claim_busy() || claim_wait_over_) return jobs;
  if (!std::exchange(claim_wait_armed_, true)) {
    asio_->claim_wait.expires_after(std::chrono::seconds(5));
    asio_->claim_wait.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      claim_wait_over_ = true;
      job_finished();
    });
  }
  return jobs + 1;
}

void Lifecycle::cancel_all() {
  // called again (the patience ran out, or a signal came during it): what still runs is left behind
  if (std::exchange(cancelled_, true)) {
    if (waiting_for() > 0 && hooks_.abandon) hooks_.abandon();
    return;
  }
  hooks_.cancel_all();
  asio_->grace.expires_after(record_patience());
  asio_->grace.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) cancel_all();
  });
}

void Lifecycle::begin_shutdown() {
  draining_ = true;
  sd_notify(0, "STOPPING=1");
  spdlog::info("shutting down: no new claims; waiting up to {}ms for {} running jobs",
               settings_.worker.shutdown_grace.count(), hooks_.running());
  if (waiting_for() == 0 || !ready_) return hooks_.finish();
  asio_->grace.expires_after(settings_.worker.shutdown_grace);
  asio_->grace.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) cancel_all();
  });
}

void Lifecycle::job_finished() {
  if (draining_ && waiting_for() == 0) hooks_.finish();
}

void Lifecycle::stop() {
  watchdog_.stop();
  asio_->claim_wait.cancel();
  asio_->grace.cancel();
  asio_->signals.cancel();
}

}  // namespace govjobd::run
