#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/model/job_types.hpp"
#include "daemon/run/end_reason.hpp"
#include "daemon/run/job_ports.hpp"
#include "daemon/run/job_tally.hpp"
#include "daemon/store/run_store.hpp"

namespace boost::asio {
class io_context;
}

namespace govjobd::run {

class Metrics;

// What a job needs from the daemon, fixed when it is claimed (a reload changes it for later claims only).
struct RunEnv {
  std::shared_ptr<StepRunner> steps;
  std::shared_ptr<HealthObserver> health;
  std::shared_ptr<JobWriter> writer;
  std::vector<std::string> block_on;
  std::string worker_id;
  std::string host;
  Metrics* metrics = nullptr;
  // The job ran its course and its end is being recorded: it no longer counts against the concurrency.
  std::function<void()> on_ending;
  long long max_job_bytes = 8 << 20;  // for the reason of a job whose steps were too large to fetch
  // A step's process started (true), or could not for lack of resources (false): the claimer's throttle.
  std::function<void(bool spawned)> spawn_report;
  // Test hook (GOVJOBD_TEST_FAULT_AFTER_STEP_TYPE, read by the daemon at start; empty in production): after a
  // step of this type ends, handling it throws, as an unexpected bug would. Proves containment end to end.
  std::string fault_after_step_type;
};

// One claimed job, from RUNNING to its terminal state, as one coroutine that reads top to bottom: the health
// before, then per step in step_index order the gate, the step under its deadline, the health after and its
// record (committed before the next step starts), then the end. Loop-thread only.
class JobRun : public std::enable_shared_from_this<JobRun> {
 public:
  using Finished = std::function<void(const JobRun&)>;
  JobRun(RunEnv env, store::ClaimedJob job, Finished on_finished);
  // Runs the job on `io`; on_finished runs once, when it is over (recorded, or left for the reaper).
  void start(boost::asio::io_context& io);
  // Stops the job with `why` (Cancelled, Shutdown or InternalError): a running step is killed (SIGTERM, grace,
  // SIGKILL) and the job ends with that reason. A cancel after the job's end began changes nothing.
  void stop(EndReason why);
  const std::string& job_id() const { return job_.job_id; }
  // Steps over: only the recording of the end remains (or a step failed and its end is being prepared).
  bool ending() const { return ending_ || steps_over_; }

 private:
  Task<void> run();
  Task<void> steps();
  Task<void> step(const model::JobStep& step);
  std::optional<EndReason> preflight();
  // False when the gate refused the step: the job has ended.
  Task<bool> gate(const model::JobStep& step);
  // A write before the end; false when it was not applied: the job has ended or was taken away.
  Task<bool> written(store::JobWrite w, int step_index);
  Task<void> end(EndReason why, nlohmann::json results, std::optional<model::HealthSnapshot> health_after);
  Task<void> end_refused(const EndReason& why, const std::string& refusal);
  // Ends the job for a stop() or an error of its own handling: a step started and not recorded is FAILED.
  Task<void> end_stopped(EndReason why);
  void ended(const EndReason& why);
  store::JobWrite write_for() const;
  nlohmann::json evidence(const EndReason& why, const nlohmann::json& last_results,
                          const std::optional<model::HealthSnapshot>& after) const;
  executors::StepHandler handler_of(const model::JobStep& step) const;
  // health_snapshot_before goes with the job's first write after the claim.
  void attach_health_before(store::JobWrite& w);
  void observe(const model::HealthSnapshot& snapshot);
  void log_step(const model::JobStep& step, const model::StepResult& result, long long ms) const;
  // A status transition a line reports (its from and to go with the job's fields).
  struct Move {
    std::string from, to;
  };
  // One log line carrying this job's fields (job_id, contract_id, step_index, step_type, and a transition's
  // from and to, in JSON logs and journal fields); the message is made only when the level is logged (these
  // lines come several per job).
  template <typename Message>
  void say(int level, std::optional<int> step_index, const std::string& step_type, Message&& message,
           Move move = {}) const {
    if (logs(level)) say_now(level, step_index, step_type, message(), std::move(move));
  }
  static bool logs(int level);
  void say_now(int level, std::optional<int> step_index, const std::string& step_type, const std::string& message,
               Move move) const;

  RunEnv env_;
  store::ClaimedJob job_;
  Finished on_finished_;
  std::vector<model::JobStep> steps_;
  std::size_t next_ = 0;
  std::optional<int> at_step_;  // current_step_index as recorded: the claim's, or moved by a step's result
  std::optional<model::HealthSnapshot> health_;  // the latest snapshot: gates the next step
  std::optional<model::HealthSnapshot> health_before_;
  bool health_before_written_ = false;
  std::shared_ptr<executors::CancelSignal> cancel_ = std::make_shared<executors::CancelSignal>();
  std::optional<EndReason> stop_;  // why the job is being stopped from outside
  bool ending_ = false;
  bool steps_over_ = false;
  const char* phase_ = "start";  // where the handling is, for the log line of an unexpected error
  JobTally tally_;
  nlohmann::json recorded_ = nlohmann::json::array();  // the evidence's entries of the results written before the end
  model::Timestamp step_started_{};                      // when the step in flight started
  std::chrono::steady_clock::time_point claimed_at_ = std::chrono::steady_clock::now();  // the job's duration starts
};

// What the reaper records for a job whose worker was lost: the step in flight FAILED, the rest SKIPPED.
store::ReapDecision decide_reap(const store::LostJob& lost);

}  // namespace govjobd::run
