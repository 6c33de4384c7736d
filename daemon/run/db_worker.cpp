#include "daemon/run/db_worker.hpp"
#include "daemon/run/periodic.hpp"

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

void DbWorker::stop(std::chrono::milliseconds patience) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      give_up_at_ = std::chrono::steady_clock::now() + patience;
    }
  }
  wake_.notify_all();
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
      store_->plan_for_claims();
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
    if (stopping_ && std::chrono::steady_clock::now() >= give_up_at_) return false;
    wake_.wait_for(lock, wait, [this] { return stopping_ && std::chrono::steady_clock::now() >= give_up_at_; });
  }
  return true;
}

void DbWorker::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    if (tasks_.empty()) return;  // stopping, nothing left
    if (!ensure_connected(lock)) {
      spdlog::error("database unavailable at shutdown: {} queued writes were not recorded", tasks_.size());
      return;
    }
    // By reference, not moved: a task that meets a lost connection stays queued, whole, for its retry.
    // Only this thread pops, and push_back keeps references to a deque's elements valid.
    auto& task = tasks_.front();
    lock.unlock();
    bool done = true;
    try {
      task(*store_);
    } catch (const store::DatabaseUnavailable& e) {
      spdlog::warn("{}; reconnecting", e.what());
      store_.reset();
      done = false;
    } catch (const std::exception& e) {
      spdlog::error("database task failed: {}", e.what());
    }
    lock.lock();
    if (done) tasks_.pop_front();
  }
}

}  // namespace govjobd::run
