#include "daemon/run/notifications.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "daemon/run/periodic.hpp"

namespace govjobd::run {

using namespace std::chrono_literals;

Notifications::Notifications(boost::asio::io_context& io, std::string url, Hooks hooks)
    : io_(io), url_(std::move(url)), hooks_(std::move(hooks)) {}

void Notifications::start() { thread_ = std::thread([this] { loop(); }); }

void Notifications::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Notifications::loop() {
  Backoff backoff;
  while (!stop_) {
    try {
      auto listener = store::Listener::connect(url_, {"govjobd_jobs", "govjobd_cancel"});
      backoff.reset();
      listening_ = true;
      boost::asio::post(io_, [this] { hooks_.connected(); });
      while (!stop_)
        for (auto& n : listener->wait(250ms)) boost::asio::post(io_, [this, n] { hooks_.notified(n); });
    } catch (const std::exception& e) {
      listening_ = false;
      const auto wait = backoff.next();
      spdlog::warn("LISTEN connection lost ({}); listening again in {}ms", e.what(), wait.count());
      for (auto waited = 0ms; waited < wait && !stop_; waited += 50ms) std::this_thread::sleep_for(50ms);
    }
  }
}

}  // namespace govjobd::run
