#pragma once

// Private to health/: the timeout and once-only completion shared by every probe kind.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "health/probe.hpp"

namespace govjobd::health {

class ProbeBase : public Probe {
 public:
  ProbeBase(boost::asio::io_context& io, const config::ProbeSettings& settings, config::Duration timeout)
      : io_(io), settings_(settings), timeout_(timeout) {}
  void sample(std::function<void(ProbeResult)> done) final;

 protected:
  // One sample: finish() or fail() once; later calls are ignored (the timeout may have won).
  class Attempt {
   public:
    Attempt(boost::asio::io_context& io, std::function<void(ProbeResult)> done, HealthState on_error);
    void finish(HealthState state, nlohmann::json details);
    void fail(const std::string& error);
    boost::asio::steady_timer timer;
    std::function<void()> on_timeout;  // stops the probe's I/O

   private:
    boost::asio::io_context& io_;
    std::function<void(ProbeResult)> done_;
    HealthState on_error_;
    bool finished_ = false;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  };

  virtual void start(std::shared_ptr<Attempt> attempt) = 0;

  boost::asio::io_context& io_;
  config::ProbeSettings settings_;
  config::Duration timeout_;
};

}  // namespace govjobd::health
