#include "daemon/run/db_worker.hpp"
#include "daemon/run/periodic.hpp"

#include <algorithm>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace govjobd::run {

using namespace std::chrono_literals;

DbWorker::DbWorker(boost::asio::io_context& io, std::string url, std::string jobs_schema, config::ContractSettings contract,
                   std::function<void(bool)> on_state)
    : io_(io), url_(std::move(url)), jobs_schema_(std::move(jobs_schema)), contract_(std::move(contract)),
      on_state_(std::move(on_state)), thread_([this] { loop(); }) {}

DbWorker::~DbWorker() { stop(0ms); }

void DbWorker::post(std::function<void(store::Store&)> task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void DbWorker::request_stop(std::chrono::milliseconds patience) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      give_up_at_ = std::chrono::steady_clock::now() + patience;
    }
  }
  wake_.notify_all();
}

void DbWorker::join() {
  if (thread_.joinable()) thread_.join();
}

void DbWorker::set_state(bool up) {
  if (up == up_) return;
  up_ = up;
  if (on_state_) boost::asio::post(io_, [f = on_state_, up] { f(up); });
}

// Called with the lock held; releases it while connecting and while backing off.
bool DbWorker::ensure_connected(std::unique_lock<std::mutex>& lock) {
  Backoff backoff;
  while (!store_) {
    const auto wait = backoff.next();
    lock.unlock();
    try {
      store_ = store::Store::connect(url_, jobs_schema_, contract_);
      store_->set_timeouts({.statement = 60s, .lock = 30s});
    } catch (const std::exception& e) {
      spdlog::warn("database unavailable, retrying in {}ms: {}", wait.count(), e.what());
    }
    lock.lock();
    if (store_) {
      if (!up_) ++reconnects_;
      connected_once_ = true;
      set_state(true);
      return true;
    }
    set_state(false);
    if (given_up()) return false;
    pause(lock, wait);
  }
  return true;
}

bool DbWorker::given_up() const { return stopping_ && std::chrono::steady_clock::now() >= give_up_at_; }

// Waits `wait`, or less: until the patience a stop() gave (it may come during the wait) runs out.
void DbWorker::pause(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds wait) {
  const auto until = std::chrono::steady_clock::now() + wait;
  while (!given_up() && std::chrono::steady_clock::now() < until)
    wake_.wait_until(lock, stopping_ ? std::min(until, give_up_at_) : until);
}

void DbWorker::loop() {
  std::unique_lock lock(mutex_);
  // The task at the head of the queue, failing again and again on a connection that works (a grant revoked:
  // every new connection refuses it), runs again after a wait that doubles up to 5 s: not in a loop of
  // reconnects, each logged. Its first run again is at once (a deadlock, a connection lost mid-task); past the
  // stop's patience it is given up only once that has failed too.
  Backoff again;
  int failed_in_a_row = 0;
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    if (tasks_.empty()) return;  // stopping, nothing left
    if ((failed_in_a_row > 1 && given_up()) || !ensure_connected(lock)) {
      spdlog::error("shutdown: {} queued database tasks (writes, claims, the worker's stop) were not recorded: the "
                    "database did not take them within the stop's patience", tasks_.size());
      return;
    }
    // By reference, not moved: a task that meets a lost connection stays queued, whole, for its retry.
    // Only this thread pops, and push_back keeps references to a deque's elements valid.
    auto& task = tasks_.front();
    lock.unlock();
    try {
      task(*store_);
    } catch (const store::DatabaseUnavailable& e) {
      const auto wait = failed_in_a_row++ == 0 ? std::chrono::milliseconds(0) : again.next();
      spdlog::warn("{}; reconnecting{}", e.what(), wait.count() > 0 ? fmt::format(" in {}ms", wait.count()) : "");
      store_.reset();
      lock.lock();
      pause(lock, wait);
      continue;
    } catch (const std::exception& e) {
      spdlog::error("database task failed: {}", e.what());
    }
    failed_in_a_row = 0;
    again.reset();
    lock.lock();
    tasks_.pop_front();
  }
}

}  // namespace govjobd::run
