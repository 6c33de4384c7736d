#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "daemon/run/db_worker.hpp"

namespace govjobd::run {

// The only writer of job results and transitions. Writes that arrive while a batch is being committed
// wait for the next batch: under load many jobs share one transaction (one commit, one fsync).
class Recorder {
 public:
  // A claim that joins a batch ending jobs (Claimer::claim_along): the next jobs of the slots the ends free
  // are claimed in the ends' transaction, one commit (one WAL flush) for both.
  struct ClaimAlong {
    store::JobClaimParams params;
    // the claim's outcome; `error`: it failed (nothing claimed), with the database's message
    std::function<void(store::ClaimResult claimed, std::optional<std::string> error)> done;
  };

  // claim_along: asked when a batch that ends a job is about to go; none: the batch goes alone.
  Recorder(boost::asio::io_context& io, DbWorker& db, std::function<std::optional<ClaimAlong>()> claim_along = {})
      : io_(io), db_(db), claim_along_(std::move(claim_along)) {}
  void write(store::JobWrite write, std::function<void(const store::WriteResult&)> done);
  // A write that ends a job waits for a batch that goes on the loop's next turn (none in flight before it):
  // a claim made now would commit alone just before it, instead of in its transaction.
  bool end_due() const { return !in_flight_ && pending_ends_; }
  // At the end of a shutdown's grace: a write held up by a locked row (below) is told Abandoned, now and from
  // now on, so that its job ends; the row stays RUNNING for the reaper once this daemon has stopped.
  void stop_waiting_for_locks();

 private:
  void flush();
  // A write whose job row another session holds locked (WriteOutcome::Locked) goes into a later batch, after
  // a wait of 10 ms doubling to 1.28 s, its job waiting meanwhile; the other jobs' writes go on. Abandoned a
  // minute past the write's locked_wait_until, or once stop_waiting_for_locks was called.
  void hold(store::JobWrite write, std::function<void(const store::WriteResult&)> done);
  void settled(const std::string& job_id);  // the job's write was answered: no longer held
  boost::asio::io_context& io_;
  DbWorker& db_;
  std::function<std::optional<ClaimAlong>()> claim_along_;
  // The writes of the next batch and, at the same index, whom to tell its outcome; two vectors so that the
  // store reads the writes where they are (a batch can be run again after a lost connection).
  struct Batch {
    std::vector<store::JobWrite> writes;
    std::vector<std::function<void(const store::WriteResult&)>> done;
  };
  Batch pending_;
  bool pending_ends_ = false;  // a write of the next batch ends its job
  bool in_flight_ = false;
  bool flush_posted_ = false;
  // Jobs whose last write found their row locked: since when, how many times.
  struct Held {
    std::chrono::steady_clock::time_point since;
    int times = 0;
  };
  std::map<std::string, Held> held_;
  std::set<std::shared_ptr<boost::asio::steady_timer>> held_timers_;
  bool giving_up_locks_ = false;
};

}  // namespace govjobd::run
