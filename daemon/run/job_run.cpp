#include "daemon/run/job_run.hpp"

#include <unistd.h>

#include <set>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/log/logging.hpp"
#include "daemon/model/steps_parser.hpp"
#include "govjobd/version.hpp"
#include "health/health_gate.hpp"

namespace govjobd::run {

using model::JobStatus;
using model::StepStatus;
using nlohmann::json;

namespace {

store::JobWrite write_for(const std::string& job_id, const std::string& worker_id) {
  store::JobWrite w;
  w.job_id = job_id;
  w.worker_id = worker_id;
  return w;
}

long long ms_between(model::Timestamp a, model::Timestamp b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

}  // namespace

JobRun::JobRun(RunEnv env, store::ClaimedJob job, Finished on_finished)
    : env_(std::move(env)), job_(std::move(job)), on_finished_(std::move(on_finished)) {}

void JobRun::start() {
  contained("start", [&] { start_now(); });
}

void JobRun::contained(const char* where, const std::function<void()>& work) {
  std::string what;
  try {
    return work();
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "unknown exception";
  }
  say(spdlog::level::err, next_ < steps_.size() ? std::optional<int>(steps_[next_].step_index) : std::nullopt, "", [&] {
    return fmt::format("job {} step {}: unexpected error while handling the job (in {}): {}; the job ends FAILED, the "
                       "daemon serves on", job_.job_id, next_ < steps_.size() ? std::to_string(steps_[next_].step_index) : "-",
                       where, what);
  });
  try {
    fail_now("Execution error: " + what);
  } catch (...) {  // recording the failure failed too: free the slot, the reaper ends the row
    finished("error");
  }
}

void JobRun::fail_now(const std::string& reason) {
  cancel_->request(reason);  // kills a running step's process group; its end is then ignored
  if (ending_) return finished("error");  // the end was being recorded: the reaper ends it if it was not
  steps_over_ = true;
  const auto now = model::now_utc();
  json results = json::array();
  std::optional<int> at;
  for (std::size_t i = next_; i < steps_.size(); ++i) {
    model::StepResult r;
    r.step_index = steps_[i].step_index;
    r.status = StepStatus::Skipped;
    if (i == next_ && executed_ > static_cast<int>(next_)) {  // started, no result yet
      r.status = StepStatus::Failed;
      r.completed_at = now;
      r.error = reason;
      at = r.step_index;
      ++failed_;
    }
    results.push_back(r);
  }
  end_job(JobStatus::Failed, reason, at, std::move(results), health_);
}

void JobRun::start_now() {
  say(spdlog::level::info, std::nullopt, "", [&] { return fmt::format("job {} step - PENDING -> RUNNING: claimed by {}", job_.job_id, env_.worker_id); });
  if (auto problem = preflight()) return end_job(JobStatus::Failed, *problem, std::nullopt, skipped_from(0), std::nullopt);
  auto self = shared_from_this();
  env_.health->snapshot([self](model::HealthSnapshot snapshot) {
    self->contained("health before", [&] {
      if (self->env_.metrics) self->env_.metrics->health_observed(snapshot);
      self->health_before_ = snapshot;
      self->health_ = std::move(snapshot);
      self->next_step();
    });
  });
}

// Everything that makes a job unrunnable is found before its first step: nothing is half-done.
std::optional<std::string> JobRun::preflight() {
  if (!job_.contract_id) return model::OrphanJob(job_.job_id).what();
  if (job_.claim_error) return "the claim failed on this row: " + *job_.claim_error;
  if (!job_.steps_json && job_.steps_bytes)
    return fmt::format("invalid steps: steps is {} bytes as JSON, larger than worker.max_job_bytes ({}); not fetched",
                       *job_.steps_bytes, env_.max_job_bytes);
  if (!job_.steps_json) return std::string("invalid steps: steps is NULL");
  auto parsed = model::parse_steps_text(*job_.steps_json);
  if (!parsed.ok()) return "invalid steps: " + parsed.problems_text();
  steps_ = std::move(parsed.steps);
  std::string refused;  // no executor, or a target or timeout its config does not allow
  for (const auto& step : steps_)
    if (auto why = env_.executors->refusal(step))
      refused += fmt::format("{}step {}.{}", refused.empty() ? "" : "; ", step.step_index, *why);
  if (!refused.empty()) return "invalid steps: " + refused;
  if (job_.timeout_at && *job_.timeout_at <= model::now_utc())
    return fmt::format("job timeout exceeded before it started (timeout_at {})", model::format_timestamp(*job_.timeout_at));
  return std::nullopt;
}

void JobRun::request_cancel(const std::string& by, const std::string& reason) {
  if (ending() || cancel_reason_) return;
  cancel_reason_ = fmt::format("cancelled by {}: {}", by, reason);
  say(spdlog::level::info, std::nullopt, "", [&] { return fmt::format("job {} cancel requested: {}", job_.job_id, *cancel_reason_); });
  cancel_->request(*cancel_reason_);  // kills the running step, if any; otherwise next_step sees it
}

void JobRun::next_step() {
  if (ending_) return;
  if (cancel_reason_)
    return end_job(JobStatus::Cancelled, *cancel_reason_,
                   next_ < steps_.size() ? std::optional<int>(steps_[next_].step_index) : std::nullopt,
                   skipped_from(next_), health_);
  if (next_ == steps_.size()) return end_job(JobStatus::Completed, "all steps completed", std::nullopt, json::array(), health_);
  const model::JobStep& step = steps_[next_];
  if (job_.timeout_at && *job_.timeout_at <= model::now_utc())
    return end_job(JobStatus::Failed, "job timeout exceeded", step.step_index, skipped_from(next_), health_);

  const health::GateDecision gate = health::decide_gate(*health_, step.target, env_.block_on);
  json decision = gate.evidence;
  decision["step_index"] = step.step_index;
  gate_decisions_.push_back(decision);
  if (!gate.run) {
    // the executor is never invoked for a blocked step
    const auto now = model::now_utc();
    model::StepResult blocked{step.step_index, StepStatus::Failed, now, now, std::nullopt, gate.reason, health_};
    json results = json::array({json(blocked)});
    for (const auto& s : skipped_from(next_ + 1)) results.push_back(s);
    ++failed_;
    ++blocked_;
    log_step(step, blocked, 0);
    return end_job(JobStatus::Failed, fmt::format("step {} failed: {}", step.step_index, gate.reason), step.step_index,
                   std::move(results), health_);
  }
  if (decision.contains("degraded"))
    say(spdlog::level::warn, step.step_index, step.step_type,
        [&] { return fmt::format("job {} step {} runs into DEGRADED health ({})", job_.job_id, step.step_index, decision.dump()); });

  // The claim already moved current_step_index to the first step: no write needed to start it.
  if (next_ == 0 && job_.current_step_index == step.step_index) return start_step(step);
  store::JobWrite w = write_for(job_.job_id, env_.worker_id);
  w.current_step_index = step.step_index;
  attach_health_before(w);
  write(std::move(w), step.step_index, [self = shared_from_this(), step] { self->start_step(step); });  // contained by write()
}

void JobRun::start_step(const model::JobStep& step) {
  if (ending()) return;  // failed while its write was in flight (fail_now): nothing more starts
  if (cancel_reason_) return next_step();
  std::function<void()> on_spawned;
  if (env_.spawn_report) on_spawned = [report = env_.spawn_report] { report(true); };
  executors::StepContext context{job_.job_id, *job_.contract_id, env_.worker_id, job_.timeout_at, cancel_, on_spawned};
  const auto started = model::now_utc();
  ++executed_;
  executors::start_guarded(env_.io, *env_.executors->find(step.step_type), step, context,
                           [self = shared_from_this(), step, started](executors::StepExecution r) {
                             self->contained("step end", [&] { self->on_step_done(step, started, std::move(r)); });
                           });
}

void JobRun::on_step_done(const model::JobStep& step, model::Timestamp started, executors::StepExecution r) {
  if (ending_ || steps_over_) return;  // failed already (fail_now): the killed step's end changes nothing
  auto self = shared_from_this();
  if (env_.metrics) env_.metrics->step_finished(step.step_type, std::chrono::duration<double>(r.duration).count());
  if (r.outcome != executors::StepOutcome::Completed) steps_over_ = true;  // its slot is free for the claimer
  if (r.resource_shortage && env_.spawn_report) env_.spawn_report(false);
  env_.health->snapshot([self, step, started, r = std::move(r)](model::HealthSnapshot after) mutable {
    self->contained("step end", [&] { self->on_step_observed(step, started, std::move(r), std::move(after)); });
  });
}

void JobRun::on_step_observed(const model::JobStep& step, model::Timestamp started, executors::StepExecution r,
                            model::HealthSnapshot after) {
  if (ending_) return;
  if (!env_.fault_after_step_type.empty() && step.step_type == env_.fault_after_step_type)
    throw std::runtime_error("fault injected after a step of type '" + step.step_type + "' (GOVJOBD_TEST_FAULT_AFTER_STEP_TYPE)");
  if (env_.metrics) env_.metrics->health_observed(after);
  health_ = after;
  const auto ended = model::now_utc();
  const bool ok = r.outcome == executors::StepOutcome::Completed;
  std::string error = r.error;
  if (r.outcome == executors::StepOutcome::Cancelled && cancel_reason_) error = *cancel_reason_;
  model::StepResult result{step.step_index, ok ? StepStatus::Completed : StepStatus::Failed, started, ended,
                           r.output.is_object() ? std::optional<json>(r.output) : std::nullopt,
                           ok ? std::nullopt : std::optional<std::string>(error), after};
  step_durations_[std::to_string(step.step_index)] = r.duration.count();
  log_step(step, result, r.duration.count());
  ++next_;
  if (ok) {
    ++succeeded_;
    if (next_ < steps_.size()) {
      store::JobWrite w = write_for(job_.job_id, env_.worker_id);
      w.append_results = json::array({json(result)});
      attach_health_before(w);
      return write(std::move(w), step.step_index, [self = shared_from_this()] { self->next_step(); });
    }
    return end_job(JobStatus::Completed, "all steps completed", std::nullopt, json::array({json(result)}), after);
  }
  ++failed_;
  json results = json::array({json(result)});
  for (const auto& s : skipped_from(next_)) results.push_back(s);
  if (r.outcome == executors::StepOutcome::Cancelled && cancel_reason_)
    return end_job(JobStatus::Cancelled, *cancel_reason_, step.step_index, std::move(results), after);
  const bool job_deadline = r.outcome == executors::StepOutcome::TimedOut && error.starts_with("job timeout exceeded");
  end_job(JobStatus::Failed,
          job_deadline ? std::string("job timeout exceeded") : fmt::format("step {} failed: {}", step.step_index, error),
          step.step_index, std::move(results), after);
}

void JobRun::end_job(JobStatus status, const std::string& reason, std::optional<int> step_index, json results,
                     std::optional<model::HealthSnapshot> health_after) {
  if (ending_) return;
  ending_ = true;
  store::JobWrite w = write_for(job_.job_id, env_.worker_id);
  w.append_results = std::move(results);
  if (health_after) w.health_after = json(*health_after);
  attach_health_before(w);
  w.terminal_status = std::string(model::to_string(status));
  w.status_reason = reason;
  w.transition_step_index = step_index;
  w.evidence = evidence(model::now_utc());
  auto self = shared_from_this();
  if (env_.on_ending) env_.on_ending();
  env_.recorder.write(std::move(w), [self, status, reason, step_index](const store::WriteResult& o) {
    self->contained("end recorded", [&] { self->on_end_recorded(o, status, reason, step_index); });
  });
}

void JobRun::on_end_recorded(const store::WriteResult& o, JobStatus status, const std::string& reason,
                             std::optional<int> step_index) {
  if (o.outcome == store::WriteOutcome::Refused) return end_refused(step_index, o.refusal);
  if (o.outcome == store::WriteOutcome::Fenced) {
    say(spdlog::level::warn, step_index, "",
        [&] { return fmt::format("job {} step {} no longer RUNNING under {} (cancelled or reaped elsewhere); its end was not recorded",
                    job_.job_id, step_label(step_index), env_.worker_id); });
    return finished("taken away");
  }
  ended(status, reason, step_index);
}

void JobRun::end_refused(std::optional<int> step_index, const std::string& refusal) {
  const std::string step = step_label(step_index);
  const std::string reason = fmt::format("the database refused the job's record: {}", refusal);
  say(spdlog::level::err, step_index, "", [&] {
    return fmt::format("job {} step {}: the database refused its end ({}); recording it FAILED without its results",
                       job_.job_id, step, refusal);
  });
  store::JobWrite w = write_for(job_.job_id, env_.worker_id);
  w.terminal_status = std::string(model::to_string(JobStatus::Failed));
  w.status_reason = reason;
  w.transition_step_index = step_index;
  auto self = shared_from_this();
  env_.recorder.write(std::move(w), [self, reason, step_index, step](const store::WriteResult& o) {
    if (o.outcome == store::WriteOutcome::Applied) return self->contained("end recorded", [&] { self->ended(JobStatus::Failed, reason, step_index); });
    self->say(spdlog::level::err, step_index, "", [&] {
      return fmt::format("job {} step {}: its end could not be recorded either ({}); it stays RUNNING until reaped",
                         self->job_.job_id, step,
                         o.outcome == store::WriteOutcome::Fenced ? "no longer RUNNING under this worker" : o.refusal);
    });
    self->finished("not recorded");
  });
}

void JobRun::ended(JobStatus status, const std::string& reason, std::optional<int> step_index) {
  say(spdlog::level::info, step_index, "", [&] {
    return fmt::format("job {} step {} RUNNING -> {}: {}", job_.job_id, step_label(step_index), model::to_string(status),
                       reason);
  });
  if (env_.metrics) env_.metrics->job_finished(std::string(model::to_string(status)), reason);
  finished(std::string(model::to_string(status)));
}

void JobRun::attach_health_before(store::JobWrite& w) {
  if (health_before_ && !health_before_written_) w.health_before = json(*health_before_);
  health_before_written_ = true;
}

void JobRun::write(store::JobWrite w, int step_index, std::function<void()> then) {
  auto self = shared_from_this();
  env_.recorder.write(std::move(w), [self, step_index, then = std::move(then)](const store::WriteResult& o) {
    self->contained("write recorded", [&] { self->on_write_recorded(o, step_index, then); });
  });
}

void JobRun::on_write_recorded(const store::WriteResult& o, int step_index, const std::function<void()>& then) {
  if (o.outcome == store::WriteOutcome::Applied) return then();
  if (o.outcome == store::WriteOutcome::Refused) {
    // What this step's record held (its result, a snapshot) cannot be stored: the job does not go on
    // without it. The steps not run yet are SKIPPED; the reason carries the database's message.
    return end_job(JobStatus::Failed, fmt::format("step {}: the database refused the job's record: {}", step_index, o.refusal),
                   step_index, skipped_from(next_), health_);
  }
  say(spdlog::level::warn, std::nullopt, "",
      [&] { return fmt::format("job {} no longer RUNNING under {} (cancelled or reaped elsewhere); stopping it",
                  job_.job_id, env_.worker_id); });
  ending_ = true;
  cancel_->request("job taken away");
  finished("taken away");
}

json JobRun::skipped_from(std::size_t first) const {
  json out = json::array();
  for (std::size_t i = first; i < steps_.size(); ++i) {
    model::StepResult skipped;
    skipped.step_index = steps_[i].step_index;
    skipped.status = StepStatus::Skipped;
    out.push_back(skipped);
  }
  return out;
}

json JobRun::evidence(const model::Timestamp& ended) const {
  const int skipped = static_cast<int>(steps_.size()) - executed_ - blocked_;
  // Member by member: a braced list would copy every value once more
  json e = json::object();
  e["daemon_version"] = kVersion;
  e["worker_id"] = env_.worker_id;
  e["host"] = env_.host;
  e["pid"] = ::getpid();
  e["started_at"] = model::format_timestamp(started_at_);
  e["completed_at"] = model::format_timestamp(ended);
  e["duration_ms"] = ms_between(started_at_, ended);
  e["steps_executed"] = executed_;
  e["steps_succeeded"] = succeeded_;
  e["steps_failed"] = failed_;
  e["steps_skipped"] = std::max(0, skipped);
  e["step_durations_ms"] = step_durations_;
  e["gate_decisions"] = gate_decisions_;
  return e;
}

void JobRun::log_step(const model::JobStep& step, const model::StepResult& result, long long ms) const {
  say(result.status == model::StepStatus::Completed ? spdlog::level::info : spdlog::level::warn, step.step_index,
      step.step_type,
      [&] { return fmt::format("job {} step {} {} ({} {}) in {}ms{}", job_.job_id, step.step_index, model::to_string(result.status),
                  step.step_type, step.target, ms, result.error ? ": " + *result.error : std::string()); });
}

bool JobRun::logs(int level) { return spdlog::should_log(static_cast<spdlog::level::level_enum>(level)); }

void JobRun::say_now(int level, std::optional<int> step_index, const std::string& step_type,
                     const std::string& message) const {
  log::ScopedJob scope({job_.job_id, job_.contract_id.value_or(""), step_index, step_type});
  spdlog::log(static_cast<spdlog::level::level_enum>(level), "{}", message);
}

void JobRun::finished(std::string outcome) {
  outcome_ = std::move(outcome);
  if (auto f = std::exchange(on_finished_, nullptr)) f(*this);
}

std::string step_label(std::optional<int> step_index) { return step_index ? std::to_string(*step_index) : "-"; }

store::ReapDecision decide_reap(const store::LostJob& lost) {
  store::ReapDecision d;
  const std::string heartbeat = lost.last_heartbeat ? model::format_timestamp(*lost.last_heartbeat) : "never";
  d.reason = fmt::format("worker {} lost (last heartbeat {})", lost.claimed_by, heartbeat);
  d.evidence = {{"reaped", {{"worker_id", lost.claimed_by}, {"last_heartbeat", heartbeat},
                            {"reaped_at", model::format_timestamp(model::now_utc())}}}};
  const auto parsed = lost.steps_json ? model::parse_steps_text(*lost.steps_json) : model::StepsParse{};
  if (!parsed.ok()) return d;
  std::set<int> recorded;
  const auto existing = json::parse(lost.step_results_json, nullptr, false);
  if (existing.is_array())
    for (const auto& r : existing)
      if (r.is_object() && r.contains("step_index") && r["step_index"].is_number_integer()) recorded.insert(r["step_index"].get<int>());
  bool in_flight_found = false;
  for (const auto& step : parsed.steps) {
    if (recorded.count(step.step_index)) continue;
    model::StepResult r;
    r.step_index = step.step_index;
    if (!in_flight_found && step.step_index == lost.current_step_index) {
      in_flight_found = true;
      r.status = StepStatus::Failed;
      r.completed_at = model::now_utc();
      r.error = d.reason;
      d.step_index = step.step_index;
    } else {
      r.status = StepStatus::Skipped;
    }
    d.append_results.push_back(r);
  }
  return d;
}

}  // namespace govjobd::run
