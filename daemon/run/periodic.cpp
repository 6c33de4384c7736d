#include "daemon/run/periodic.hpp"

#include <algorithm>
#include <random>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace govjobd::run {

using std::chrono::milliseconds;

struct PeriodicTimer::State {
  explicit State(boost::asio::io_context& io) : timer(io) {}
  boost::asio::steady_timer timer;
  Period period;
  bool jitter = false;
  bool running = false;
  std::function<void()> tick;
};

namespace {

void arm(const std::shared_ptr<PeriodicTimer::State>& s);

void fire(const std::shared_ptr<PeriodicTimer::State>& s) {
  if (!s->running) return;
  s->tick();
  arm(s);
}

void arm(const std::shared_ptr<PeriodicTimer::State>& s) {
  if (!s->running) return;
  const milliseconds period = s->period();
  s->timer.expires_after(s->jitter ? jittered(period) : period);
  s->timer.async_wait([s](const boost::system::error_code& ec) {
    if (!ec) fire(s);
  });
}

}  // namespace

PeriodicTimer::PeriodicTimer(boost::asio::io_context& io, Period period, bool jitter)
    : state_(std::make_shared<State>(io)) {
  state_->period = std::move(period);
  state_->jitter = jitter;
}

PeriodicTimer::~PeriodicTimer() { stop(); }

void PeriodicTimer::start(std::function<void()> tick) {
  state_->tick = std::move(tick);
  state_->running = true;
  fire(state_);
}

void PeriodicTimer::stop() {
  state_->running = false;
  state_->timer.cancel();
}

bool PeriodicTimer::running() const { return state_->running; }

milliseconds jittered(milliseconds base) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_real_distribution<double> factor(0.8, 1.2);
  return milliseconds(static_cast<long long>(static_cast<double>(base.count()) * factor(rng)));
}

milliseconds Backoff::next() {
  const milliseconds now = wait_;
  wait_ = std::min(wait_ * 2, kMax);
  return now;
}

}  // namespace govjobd::run
