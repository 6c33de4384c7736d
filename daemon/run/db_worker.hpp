#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "config/settings.hpp"
#include "daemon/store/store.hpp"

namespace boost::asio {
class io_context;
}

namespace govjobd::run {

// For a DbWorker task: runs f and returns the message of what it threw, nothing when it succeeded. A
// DatabaseUnavailable is let through instead: the worker reconnects and runs the whole task again.
template <class F>
std::optional<std::string> error_unless_unavailable(F&& f) {
  try {
    std::forward<F>(f)();
    return std::nullopt;
  } catch (const store::DatabaseUnavailable&) {
    throw;
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
}

// The database thread: libpqxx blocks, the event loop must not. Tasks run in order on one connection;
// a task that meets a lost connection is retried, unchanged and still in order, after a reconnect with
// capped exponential backoff (Backoff, periodic.hpp). Tasks hand their results back to the loop themselves (asio::post).
class DbWorker {
 public:
  // on_state(up) runs on the loop when the connection goes down or comes back.
  // `contract`: the contract gate, for this connection's claims (Store::connect).
  DbWorker(boost::asio::io_context& io, std::string url, std::string jobs_schema, config::ContractSettings contract,
           std::function<void(bool up)> on_state);
  ~DbWorker();
  DbWorker(const DbWorker&) = delete;
  DbWorker& operator=(const DbWorker&) = delete;

  void post(std::function<void(store::Store&)> task);
  // Runs what is queued, then ends the thread. While the database is down, gives up after `patience`.
  void stop(std::chrono::milliseconds patience) {
    request_stop(patience);
    join();
  }
  // stop() in two halves, so that several workers' patience runs at once.
  void request_stop(std::chrono::milliseconds patience);
  void join();
  int reconnects() const { return reconnects_; }
  // Whether a connection has been made since the start: until then the database counts as down, even while
  // the first attempt waits for its connect_timeout.
  bool connected_once() const { return connected_once_; }

 private:
  void loop();
  bool ensure_connected(std::unique_lock<std::mutex>& lock);
  bool given_up() const;  // stopping, and past the patience stop() gave; called with the lock held
  void pause(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds wait);
  void set_state(bool up);

  boost::asio::io_context& io_;
  std::string url_;
  std::string jobs_schema_;
  config::ContractSettings contract_;
  std::function<void(bool)> on_state_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void(store::Store&)>> tasks_;
  std::unique_ptr<store::Store> store_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point give_up_at_ = std::chrono::steady_clock::time_point::max();
  bool up_ = true;
  std::atomic<int> reconnects_ = 0;  // read by the loop's metrics
  std::atomic<bool> connected_once_ = false;
  std::thread thread_;
};

}  // namespace govjobd::run
