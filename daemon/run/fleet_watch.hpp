#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "config/settings.hpp"
#include "daemon/run/maintenance.hpp"
#include "daemon/run/periodic.hpp"
#include "daemon/store/fleet.hpp"
#include "daemon/store/run_store.hpp"
#include "health/health_gate.hpp"

namespace boost::asio {
class io_context;
}
namespace govjobd::health {
class HealthMonitor;
}

namespace govjobd::run {

class DbWorker;

// What a daemon with these settings serves (docs/fleet.md): what its claims ask for and its worker row records.
store::WorkerServes serves_of(const config::Settings& settings);

// The daemon's part in the fleet (docs/fleet.md), on the loop:
//   - health-aware claiming: a health snapshot in the background every poll interval, whose BLOCKED targets
//     (or host) the claims avoid and the heartbeat records; no claim before the first one is in;
//   - PENDING jobs no claim takes: those past their deadline, and those no live daemon serves after
//     worker.unroutable_after, claimed one by one to be ended; holds a crash left are released;
//   - scheduled starts (contract.enabled): a window pass every poll interval parks the jobs whose contract
//     window opens later, so that claims do not walk them, and reads parked ones against their contracts again
//     (docs/contract.md "Scheduled starts").
class FleetWatch {
 public:
  struct Hooks {
    std::function<void()> claim;                          // claim what waits (a target healthy again)
    std::function<void(store::JobToEnd)> claim_to_end;
    std::function<bool()> may_look;                       // database up, not draining
    std::function<void(const model::HealthSnapshot&)> observed;  // every snapshot (the health gauges)
    std::function<void(const store::FleetStatus&)> queue;        // the queue's figures (metrics on): every 15 s
    std::function<void(const std::string&)> round_failed;        // a round failed or was skipped (its name)
  };
  FleetWatch(boost::asio::io_context& io, DbWorker& db, const config::Settings& settings, std::string worker_id,
             Hooks hooks);
  ~FleetWatch();
  void start(std::shared_ptr<health::HealthMonitor> monitor);
  void set_monitor(std::shared_ptr<health::HealthMonitor> monitor);
  void stop();

  bool have_view() const { return view_.has_value(); }
  health::ClaimView view() const { return view_.value_or(health::ClaimView{}); }
  // What the heartbeat records: what this daemon serves (its config) and sees BLOCKED.
  FleetState state() const;

 private:
  void refresh();
  void seen(const model::HealthSnapshot& snapshot);
  void look_for_ends();
  void read_queue();
  void window_pass();
  void failed(const std::string& round);  // on the loop

  boost::asio::io_context& io_;
  DbWorker& db_;
  const config::Settings& settings_;
  std::string worker_id_;
  Hooks hooks_;
  std::shared_ptr<health::HealthMonitor> monitor_;
  std::optional<health::ClaimView> view_;
  PeriodicTimer health_timer_, ends_timer_, queue_timer_, window_timer_;
  static constexpr int kMaxWindowRead = 64'000;  // jobs a window pass reads at most (about 1 s for the database)
  store::WindowPassParams window_;  // where the next window pass goes on, and how many it reads
  // passes run at once, one after another, at most: then the next waits for the timer (contract rows changed
  // under every pass could otherwise keep a daemon passing back to back)
  static constexpr int kMaxPassesAtOnce = 8;
  int passes_at_once_ = 0;
  bool refreshing_ = false, looking_ = false, reading_queue_ = false, passing_ = false, stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // a monitor's listener may outlive this
};

}  // namespace govjobd::run
