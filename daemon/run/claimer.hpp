#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.hpp"
#include "daemon/run/claim_throttle.hpp"
#include "daemon/run/recorder.hpp"
#include "daemon/run/wake.hpp"
#include "daemon/store/run_store.hpp"
#include "health/health_gate.hpp"

namespace boost::asio {
class io_context;
}

namespace govjobd::run {

class DbWorker;
class Metrics;

// Claims PENDING jobs for the free slots: one claim in flight at a time (one more after it when asked
// meanwhile), throttled while steps cannot start for lack of resources, never again a row that a claim failed
// on even alone.
class Claimer {
 public:
  struct Load {
    int executing = 0;  // jobs whose steps still run
    int running = 0;    // executing, plus those whose end is being recorded
  };
  struct Hooks {
    std::function<bool()> may_claim;  // ready, not draining, database up, heartbeats succeed
    std::function<Load()> load;
    std::function<void(store::ClaimedJob)> start_job;
    std::function<void()> found_none;  // a claim came back empty
    // what the latest health snapshot sees BLOCKED: jobs into it are left to other daemons (docs/fleet.md)
    std::function<health::ClaimView()> health_view;
    // an end is about to be written (Recorder::end_due): a claim waits to join its transaction
    std::function<bool()> end_due;
    // a claim's result is in and its jobs started (none, or it failed): a drain that waited for it may end
    std::function<void()> settled;
  };
  Claimer(boost::asio::io_context& io, DbWorker& db, const config::Settings& settings, std::string worker_id,
          Metrics& metrics, Hooks hooks);
  ~Claimer();

  void claim();
  // A NOTIFY on govjobd_jobs: claims, or leaves the job to the daemon ranked first for it (WakeRanks).
  void wake(std::string_view payload);
  // A slot is free (a job ends): claims when jobs may wait for it (the last claim was full, a wake came while
  // every slot was taken, jobs were left behind), and only then: an idle fleet sends no claim per ended job.
  void slot_freed();
  // The heartbeat read the live workers and which of the jobs this daemon is backup for are still PENDING.
  void on_beat(std::vector<std::string> live_workers, const std::vector<std::string>& still_pending);
  // The jobs to ask the next heartbeat about (and forget).
  std::vector<std::string> take_backups();
  // Claims one PENDING job whatever its routing, to end it: its deadline passed, or no live daemon serves it.
  void claim_to_end(store::JobToEnd job);
  // After the handlers already queued (the other jobs that ended in the same write): one claim for all the
  // freed slots instead of a claim of one and then another.
  void claim_soon();
  // The claim for a batch that ends jobs (Recorder::ClaimAlong): when a claim waits for it or jobs may wait for
  // the slots it frees (as slot_freed claims); none otherwise.
  std::optional<Recorder::ClaimAlong> claim_along();
  // A step's process started (true), or could not for lack of descriptors, processes or memory (false).
  void on_spawn_report(bool spawned);
  bool in_flight() const { return in_flight_; }
  // a claim whose result has not come back, a claim to end a job included: its jobs may be RUNNING already
  bool busy() const { return in_flight_ || ends_in_flight_ > 0; }
  // The last claim left PENDING jobs it could not take (held, BLOCKED, paused...): claim again at the poll.
  bool left_behind() const { return left_behind_; }
  void stop();

 private:
  void claimed(store::ClaimResult result, bool failed, int asked_for, std::chrono::steady_clock::time_point asked_at,
               std::vector<WakeRanks::Wake> wakes);
  // Claims again later without being asked: when an activation window opens (the contract gate left jobs
  // PENDING for it; at the latest after a poll interval, in case a window moved) or after a failed claim.
  void claim_later(const store::ClaimResult& result, bool failed, bool full);
  store::JobClaimParams params(int limit) const;
  int free_slots(const Load& load) const;  // how many jobs a claim may ask for now; 0 when it may not claim
  bool joins_batch(int free) const;  // a claim for `free` slots waits for the write batch about to go (claim_along)
  static constexpr int kJoinAtMost = 2;  // slots
  // Slots are claimed in groups (one claim, then one write batch, for jobs that end together) rather than one
  // or two apart: a claim that the jobs waiting for their ends would cut short, and the empty slots of a claim
  // that left picked jobs for their targets, wait for a slot to free (its job claims) or kGroupWait, whichever
  // comes first; then the claim goes, whatever holds it (group_due_).
  bool waits_for_ends(const Load& load) const;  // false once the wait is over (group_due_)
  void group_wait();
  void going();  // a claim goes, alone or with a write batch
  static constexpr std::chrono::milliseconds kGroupWait{20};
  std::chrono::milliseconds group_wait_ = kGroupWait;  // GOVJOBD_TEST_GROUP_WAIT_MS (tests only)
  // Hands the wakes this daemon cannot act on to the next rank (queries/job_wake_pass.sql).
  void pass_on(std::vector<WakeRanks::Wake> wakes);

  boost::asio::io_context& io_;
  DbWorker& db_;
  const config::Settings& settings_;
  std::string worker_id_;
  Metrics& metrics_;
  Hooks hooks_;
  ClaimThrottle throttle_;
  struct Timer;
  std::unique_ptr<Timer> throttle_timer_;
  std::unique_ptr<Timer> later_timer_;
  std::unique_ptr<Timer> group_timer_;
  bool group_timer_armed_ = false, group_due_ = false;
  unsigned group_waits_ = 0;  // claims gone: a wait armed before the last one is over
  bool in_flight_ = false, again_ = false, posted_ = false, left_behind_ = false, may_wait_ = false;
  int ends_in_flight_ = 0;  // claims to end a job (claim_to_end) not back yet
  bool along_ = false;  // a claim waits for the write batch about to go (claim_along)
  // the last claim failed (a writer's LOCK TABLE held it past its second, say): claims go alone on the claims'
  // connection until one passes, and no write batch waits for one
  bool failing_ = false;
  WakeRanks ranks_;
  std::vector<WakeRanks::Wake> wakes_;            // this daemon's turn: for the next claim
  std::set<std::string> backups_;                 // this daemon is next after the one whose turn it is
  static constexpr std::size_t kMaxWakes = 1'000;  // beyond: claim as for a statement of many
  // Rows a claim failed on even alone: left out of every later claim (bounded; a restart tries them again).
  static constexpr std::size_t kMaxUnclaimable = 10'000;
  std::set<std::string> unclaimable_;
};

}  // namespace govjobd::run
