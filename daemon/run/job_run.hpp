#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/model/job_types.hpp"
#include "daemon/run/metrics.hpp"
#include "daemon/run/recorder.hpp"
#include "daemon/store/run_store.hpp"
#include "executors/executor_registry.hpp"
#include "health/health_monitor.hpp"

namespace govjobd::run {

// What a job needs from the daemon, fixed when it is claimed (a reload changes it for later claims only).
struct RunEnv {
  boost::asio::io_context& io;
  Recorder& recorder;
  std::shared_ptr<executors::ExecutorRegistry> executors;
  std::shared_ptr<health::HealthMonitor> health;
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

// One claimed job, from RUNNING to its terminal state: health before, each step in step_index order
// behind the health gate and under its deadline, health after each step, every result recorded (and
// committed) before the next step starts. Loop-thread only.
class JobRun : public std::enable_shared_from_this<JobRun> {
 public:
  using Finished = std::function<void(const JobRun&)>;
  JobRun(RunEnv env, store::ClaimedJob job, Finished on_finished);
  void start();
  // Kills the running step (SIGTERM, grace, SIGKILL) and ends the job CANCELLED.
  void request_cancel(const std::string& by, const std::string& reason);
  const std::string& job_id() const { return job_.job_id; }
  const std::string& outcome() const { return outcome_; }
  // Steps over: only the recording of the end remains (or a step failed and its end is being prepared).
  bool ending() const { return ending_ || steps_over_; }
  // Ends the job FAILED with `reason` now: a running step is killed, its result FAILED, the rest SKIPPED. For
  // an unexpected error of the job's own handling, and for the daemon's last act after a failure of its own.
  void fail_now(const std::string& reason);

 private:
  std::optional<std::string> preflight();
  void start_now();
  // Runs one piece of this job's handling: an exception there ends this job FAILED ("Execution error: ...",
  // the job creator's wording) and never reaches the event loop, which serves the other jobs.
  void contained(const char* where, const std::function<void()>& work);
  void next_step();
  void start_step(const model::JobStep& step);
  void on_step_done(const model::JobStep& step, model::Timestamp started, executors::StepExecution r);
  void on_step_observed(const model::JobStep& step, model::Timestamp started, executors::StepExecution r,
                        model::HealthSnapshot after);
  void on_end_recorded(const store::WriteResult& o, model::JobStatus status, const std::string& reason,
                       std::optional<int> step_index);
  void on_write_recorded(const store::WriteResult& o, int step_index, const std::function<void()>& then);
  void end_job(model::JobStatus status, const std::string& reason, std::optional<int> step_index,
               nlohmann::json results, std::optional<model::HealthSnapshot> health_after);
  // A write before or after step `step_index` (not the end); `then` runs once it is recorded.
  void write(store::JobWrite w, int step_index, std::function<void()> then);
  // The database refused the job's end: it ends FAILED with the database's message, without what was refused.
  void end_refused(std::optional<int> step_index, const std::string& refusal);
  // The end is recorded: the transition's log line, the metrics, and the job is done.
  void ended(model::JobStatus status, const std::string& reason, std::optional<int> step_index);
  // health_snapshot_before goes with the job's first write after the claim.
  void attach_health_before(store::JobWrite& w);
  nlohmann::json skipped_from(std::size_t first) const;
  nlohmann::json evidence(const model::Timestamp& ended) const;
  void log_step(const model::JobStep& step, const model::StepResult& result, long long ms) const;
  // One log line carrying this job's fields (job_id, contract_id, step_index, step_type in JSON logs); the
  // message is made only when the level is logged (these lines come several per job).
  template <typename Message>
  void say(int level, std::optional<int> step_index, const std::string& step_type, Message&& message) const {
    if (logs(level)) say_now(level, step_index, step_type, message());
  }
  static bool logs(int level);
  void say_now(int level, std::optional<int> step_index, const std::string& step_type, const std::string& message) const;
  void finished(std::string outcome);

  RunEnv env_;
  store::ClaimedJob job_;
  Finished on_finished_;
  std::vector<model::JobStep> steps_;
  std::size_t next_ = 0;
  std::optional<model::HealthSnapshot> health_;  // the latest snapshot: gates the next step
  std::optional<model::HealthSnapshot> health_before_;
  bool health_before_written_ = false;
  std::shared_ptr<executors::CancelSignal> cancel_ = std::make_shared<executors::CancelSignal>();
  std::optional<std::string> cancel_reason_;  // "cancelled by <who>: <reason>"
  bool ending_ = false;
  bool steps_over_ = false;
  std::string outcome_;
  model::Timestamp started_at_ = model::now_utc();
  int executed_ = 0, succeeded_ = 0, failed_ = 0, blocked_ = 0;  // blocked: failed by the gate, never run
  nlohmann::json step_durations_ = nlohmann::json::object();
  nlohmann::json gate_decisions_ = nlohmann::json::array();
};

// How a state change's log line names the step: its index, or "-" when it concerns the job as a whole.
std::string step_label(std::optional<int> step_index);

// What the reaper records for a job whose worker was lost: the step in flight FAILED, the rest SKIPPED.
store::ReapDecision decide_reap(const store::LostJob& lost);

}  // namespace govjobd::run
