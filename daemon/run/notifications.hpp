#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "daemon/store/listener.hpp"

namespace boost::asio {
class io_context;
}

namespace govjobd::run {

// LISTENs for new jobs and cancel requests on a thread of its own (libpqxx blocks), reconnecting with
// Backoff. Every notification, and each (re)connect, is handed to the loop.
class Notifications {
 public:
  struct Hooks {
    std::function<void()> connected;  // whatever was notified while not listening: claim, read cancels
    std::function<void(const store::Notification&)> notified;
  };
  Notifications(boost::asio::io_context& io, std::string url, Hooks hooks);
  ~Notifications() { stop(); }  // never leave the thread joinable
  Notifications(const Notifications&) = delete;
  Notifications& operator=(const Notifications&) = delete;

  void start();
  void stop();
  // True while LISTEN is up: every new PENDING job then notifies, and the poll sends no claim.
  bool listening() const { return listening_; }

 private:
  void loop();

  boost::asio::io_context& io_;
  std::string url_;
  Hooks hooks_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> listening_{false};
};

}  // namespace govjobd::run
