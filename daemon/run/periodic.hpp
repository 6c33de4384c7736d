#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace govjobd::run {

// A task that runs now and then again every period until stop(): the period is asked for before each wait (a
// reload may change it), and jittered by +/-20 % when asked for, so that a fleet's daemons drift apart.
class PeriodicTimer {
 public:
  using Period = std::function<std::chrono::milliseconds()>;
  PeriodicTimer(boost::asio::io_context& io, Period period, bool jitter);
  ~PeriodicTimer();
  PeriodicTimer(const PeriodicTimer&) = delete;
  PeriodicTimer& operator=(const PeriodicTimer&) = delete;

  void start(std::function<void()> tick);
  void stop();
  bool running() const;

  struct State;  // defined in periodic.cpp

 private:
  std::shared_ptr<State> state_;  // shared with the pending wait, which may outlive a stop()
};

// base * a factor drawn from [0.8, 1.2].
std::chrono::milliseconds jittered(std::chrono::milliseconds base);

// The wait before the next reconnect attempt: from 100 ms, doubling, up to kMax; reset() after a success.
class Backoff {
 public:
  static constexpr std::chrono::milliseconds kFirst{100};
  static constexpr std::chrono::milliseconds kMax{5000};
  std::chrono::milliseconds next();  // the wait now; the one after it is twice as long
  void reset() { wait_ = kFirst; }

 private:
  std::chrono::milliseconds wait_ = kFirst;
};

}  // namespace govjobd::run
