#include <utility>  // before any Asio header (STACK_NOTES: Boost 1.74's awaitable.hpp)

#include "daemon/run/job_run.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/log/logging.hpp"
#include "daemon/model/steps_parser.hpp"
#include "daemon/run/evidence.hpp"
#include "daemon/run/contract_gate.hpp"
#include "daemon/run/metrics.hpp"
#include "health/health_gate.hpp"

namespace govjobd::run {

using Kind = EndReason::Kind;
using model::StepStatus;
using nlohmann::json;
namespace asio = boost::asio;

namespace {

// Why a write of the job was not made and the job goes no further: fenced (taken away), or abandoned (its row
// stayed locked: the Recorder's reason).
std::string not_written(const store::WriteResult& o, const std::string& worker_id) {
  return o.outcome == store::WriteOutcome::Abandoned
             ? o.refusal
             : fmt::format("no longer RUNNING under {} (cancelled or reaped elsewhere)", worker_id);
}

// g++ 12 miscompiles braced lists inside coroutines ("array used as initializer"): they are built here.
json results_of(const model::StepResult& first, json rest = json::array()) {
  json out = json::array({json(first)});
  for (auto& r : rest) out.push_back(std::move(r));
  return out;
}

model::StepResult result_of(const model::JobStep& step, const executors::StepExecution& r, model::Timestamp started,
                            std::string error, const model::HealthSnapshot& after, const executors::StepHandler& handler) {
  const bool ok = r.outcome == executors::StepOutcome::Completed;
  return model::StepResult{step.step_index, ok ? StepStatus::Completed : StepStatus::Failed, started, model::now_utc(),
                           executors::audit_output(r.output, step, handler, started, ok),
                           ok ? std::nullopt : std::optional<std::string>(std::move(error)), after};
}

// The results of a job that ends before its first step: SKIPPED, but the step the reason names is FAILED
// with the reason's step error when it has one (a step type with no handler).
json unrun_results(const std::vector<model::JobStep>& steps, const EndReason& why) {
  json out = skipped_from(steps, 0);
  const auto error = why.step_error();
  for (auto& r : out)
    if (error && why.step_index && r["step_index"] == *why.step_index) {
      r["status"] = model::to_string(StepStatus::Failed);
      r["completed_at"] = model::format_timestamp(model::now_utc());
      r["error"] = *error;
    }
  return out;
}

model::StepResult blocked_result(const model::JobStep& step, const std::string& reason,
                                 const std::optional<model::HealthSnapshot>& health) {
  // never started: no started_at, no output (the audit reads an output as a change that was made)
  return model::StepResult{step.step_index, StepStatus::Failed, std::nullopt, model::now_utc(), std::nullopt, reason, health};
}

Task<void> run_owned(std::shared_ptr<JobRun> self, Task<void> (JobRun::*body)()) { co_await((*self).*body)(); }

}  // namespace

JobRun::JobRun(RunEnv env, store::ClaimedJob job, Finished on_finished)
    : env_(std::move(env)), job_(std::move(job)), on_finished_(std::move(on_finished)), at_step_(job_.current_step_index) {}

void JobRun::start(asio::io_context& io) {
  if (env_.metrics && !job_.forced) env_.metrics->job_picked_up(job_.pickup_seconds);  // claimed to run, not to be ended
  // run() contains every error of the job's own handling; what escapes it is the loop's (end_after_internal_error)
  asio::co_spawn(io, run_owned(shared_from_this(), &JobRun::run), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
}

// An exception in the job's handling ends this job FAILED ("Execution error: ...", the job creator's wording)
// and never reaches the event loop, which serves the other jobs.
Task<void> JobRun::run() {
  std::string what;
  try {
    co_await steps();
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "unknown exception";
  }
  if (!what.empty()) {
    const std::optional<int> at = next_ < steps_.size() ? std::optional<int>(steps_[next_].step_index) : std::nullopt;
    say(spdlog::level::err, at, "", [&] {
      return fmt::format("job {} step {}: unexpected error while handling the job (in {}): {}; the job ends FAILED, "
                         "the daemon serves on", job_.job_id, step_label(at), phase_, what);
    });
    bool recorded = ending_;  // an error while its end was recorded: the reaper ends it if it was not
    try {
      if (!recorded) co_await end_stopped(EndReason::of(Kind::ExecutionError, std::nullopt, what));
    } catch (...) {  // recording the failure failed too: free the slot, the reaper ends the row
    }
  }
  if (auto f = std::exchange(on_finished_, nullptr)) f(*this);
}

Task<void> JobRun::steps() {
  say(spdlog::level::info, std::nullopt, "",
      [&] { return fmt::format("job {} step - PENDING -> RUNNING: claimed by {}", job_.job_id, env_.worker_id); },
      {"PENDING", "RUNNING"});
  if (auto problem = preflight()) co_return co_await end(*problem, unrun_results(steps_, *problem), std::nullopt);
  health_before_ = co_await env_.health->snapshot();
  phase_ = "health before";
  observe(*health_before_);
  while (!ending_) {
    if (stop_) co_return co_await end_stopped(*stop_);
    if (next_ == steps_.size()) co_return co_await end(EndReason::completed(), json::array(), health_);
    const model::JobStep& step = steps_[next_];
    if (job_.timeout_at && *job_.timeout_at <= model::now_utc())
      co_return co_await end(EndReason::of(Kind::JobTimeout, step.step_index), skipped_from(steps_, next_), health_);
    if (!co_await gate(step)) co_return;
    // The claim moved current_step_index to the first step, a step's result to the next: no write of its own.
    if (at_step_ != step.step_index) {
      store::JobWrite w = write_for();
      w.current_step_index = step.step_index;
      attach_health_before(w);
      if (!co_await written(std::move(w), step.step_index)) co_return;
      at_step_ = step.step_index;
      if (stop_) continue;
    }
    co_await this->step(step);
  }
}

// Everything that makes a job unrunnable is found before its first step: nothing is half-done.
std::optional<EndReason> JobRun::preflight() {
  // What a writer left in results or evidence (cleared by the claim) is named first, whatever else is wrong.
  if (job_.preset) {
    if (job_.steps_json)
      if (auto parsed = model::parse_steps_text(*job_.steps_json); parsed.ok()) steps_ = std::move(parsed.steps);
    return EndReason::of(Kind::PresetRecord, std::nullopt, *job_.preset);
  }
  if (!job_.contract_id) return EndReason::of(Kind::NoContract, std::nullopt, job_.job_id);
  if (job_.claim_error) return EndReason::of(Kind::ClaimFailed, std::nullopt, *job_.claim_error);
  if (!job_.steps_json && job_.steps_bytes)  // -1: the claim's mark (job_claim.sql)
    return EndReason::of(Kind::InvalidSteps, std::nullopt, *job_.steps_bytes < 0
        ? fmt::format("{} is nested deeper than 100 levels or holds a number past 1e300 or within 1e-300 of 0; "
                      "not fetched", job_.steps_unreadable.value_or("steps"))
        : fmt::format("steps is {} bytes as JSON, larger than worker.max_job_bytes ({}); not fetched",
                      *job_.steps_bytes, env_.max_job_bytes));
  if (!job_.steps_json) return EndReason::of(Kind::InvalidSteps, std::nullopt, "steps is NULL");
  auto parsed = model::parse_steps_text(*job_.steps_json);
  if (!parsed.ok()) return EndReason::of(Kind::InvalidSteps, std::nullopt, parsed.problems_text());
  steps_ = std::move(parsed.steps);
  // Claimed whatever its routing, pauses and holds only to end it (docs/fleet.md): it never runs a step, even
  // when this host's clock is behind the database's that saw its deadline pass, or the writer moved it since.
  if (job_.forced) {
    if (const auto& served = job_.served_step_types)  // the creator's rule for a type without a handler
      for (const auto& step : steps_)                  // (steps_: in step_index order): the first one FAILED
        if (!served->contains(step.step_type)) return EndReason::of(Kind::NoHandler, step.step_index, step.step_type);
    if (job_.unserved) return EndReason::of(Kind::Unserved, std::nullopt, *job_.unserved);
    return EndReason::of(Kind::JobTimeoutBeforeStart, std::nullopt,
                         job_.timeout_at ? model::format_timestamp(*job_.timeout_at) : "NULL: cleared after it passed");
  }
  ContractDecision contract = decide_contract(*job_.contract_id, job_.contract, steps_, job_.started_at);
  tally_.contract_gate = std::move(contract.evidence);
  if (!contract.allowed) return EndReason::of(Kind::ContractRefused, std::nullopt, contract.reason);
  for (const auto& step : steps_)  // the creator's rule: the first step without a handler fails, the rest SKIPPED
    if (!env_.steps->handler(step.step_type)) return EndReason::of(Kind::NoHandler, step.step_index, step.step_type);
  // no executor, or a target or timeout its config does not allow
  if (auto refused = refusals_of(*env_.steps, steps_); !refused.empty())
    return EndReason::of(Kind::InvalidSteps, std::nullopt, refused);
  if (job_.timeout_at && *job_.timeout_at <= model::now_utc())
    return EndReason::of(Kind::JobTimeoutBeforeStart, std::nullopt, model::format_timestamp(*job_.timeout_at));
  return std::nullopt;
}

void JobRun::stop(EndReason why) {
  if (why.kind == Kind::InternalError) {
    if (ending_) return;  // the end is being recorded already
  } else if (ending() || stop_) {
    return;
  }
  stop_ = std::move(why);
  const std::string text = stop_->text();
  // a cancel someone asked for, or the daemon's own stop (its shutdown grace ran out, its lease lapsing)
  const char* what = stop_->kind == Kind::Cancelled ? "cancel requested" : "stopping";
  if (stop_->kind != Kind::InternalError)
    say(spdlog::level::info, std::nullopt, "", [&] { return fmt::format("job {} {}: {}", job_.job_id, what, text); });
  cancel_->request(text);  // kills the running step, if any; otherwise the loop sees stop_ next
}

Task<bool> JobRun::gate(const model::JobStep& step) {
  const health::GateDecision gate = health::decide_gate(*health_, step.target, env_.block_on);
  json decision = gate.evidence;
  decision["step_index"] = step.step_index;
  tally_.gate_decisions.push_back(decision);
  if (gate.run) {
    if (decision.contains("degraded"))
      say(spdlog::level::warn, step.step_index, step.step_type, [&] {
        return fmt::format("job {} step {} runs into DEGRADED health ({})", job_.job_id, step.step_index, decision.dump());
      });
    co_return true;
  }
  // the executor is never invoked for a blocked step
  const model::StepResult blocked = blocked_result(step, gate.reason, health_);
  json results = results_of(blocked, skipped_from(steps_, next_ + 1));
  ++tally_.blocked;
  log_step(step, blocked, 0);
  co_await end(EndReason::of(Kind::HealthBlocked, step.step_index, gate.reason), std::move(results), health_);
  co_return false;
}

Task<void> JobRun::step(const model::JobStep& step) {
  std::function<void()> on_spawned;
  if (env_.spawn_report) on_spawned = [report = env_.spawn_report] { report(true); };
  executors::StepContext context{job_.job_id, *job_.contract_id, env_.worker_id, job_.timeout_at, cancel_, on_spawned};
  const auto started = step_started_ = model::now_utc();
  ++tally_.executed;
  executors::StepExecution r = co_await env_.steps->run(step, context);
  phase_ = "step end";
  if (env_.metrics) env_.metrics->step_finished(step.step_type, std::chrono::duration<double>(r.duration).count());
  if (r.outcome != executors::StepOutcome::Completed) steps_over_ = true;  // its slot is free for the claimer
  if (r.resource_shortage && env_.spawn_report) env_.spawn_report(false);
  if (stop_ && stop_->kind == Kind::InternalError) co_return co_await end_stopped(*stop_);
  const model::HealthSnapshot after = co_await env_.health->snapshot();
  if (stop_ && stop_->kind == Kind::InternalError) co_return co_await end_stopped(*stop_);
  if (!env_.fault_after_step_type.empty() && step.step_type == env_.fault_after_step_type)
    throw std::runtime_error("fault injected after a step of type '" + step.step_type + "' (GOVJOBD_TEST_FAULT_AFTER_STEP_TYPE)");
  observe(after);
  const bool ok = r.outcome == executors::StepOutcome::Completed;
  const bool cancelled = r.outcome == executors::StepOutcome::Cancelled && stop_;
  const std::string error = cancelled ? stop_->text() : r.error;
  const model::StepResult result = result_of(step, r, started, error, after, handler_of(step));
  tally_.step_durations[std::to_string(step.step_index)] = r.duration.count();
  log_step(step, result, r.duration.count());
  ++next_;
  if (ok) {
    if (next_ == steps_.size()) co_return co_await end(EndReason::completed(), results_of(result), after);
    store::JobWrite w = write_for();
    w.append_results = results_of(result);
    w.current_step_index = steps_[next_].step_index;  // the next step's start shares this commit
    json recorded = w.append_results.front();
    attach_health_before(w);
    if (!co_await written(std::move(w), step.step_index)) co_return;
    recorded_.push_back(evidence_step(recorded));
    at_step_ = steps_[next_].step_index;
    co_return;
  }
  json results = results_of(result, skipped_from(steps_, next_));
  EndReason why = cancelled ? *stop_
                  : r.deadline == executors::DeadlineKind::Job ? EndReason::of(Kind::JobTimeout, std::nullopt)
                                                              : EndReason::of(Kind::StepFailed, std::nullopt, error);
  why.step_index = step.step_index;
  why.failed_step_error = error;  // "Step N failed: <that step's error>", whatever ended it
  co_await end(std::move(why), std::move(results), after);
}

Task<bool> JobRun::written(store::JobWrite w, int step_index) {
  const store::WriteResult o = co_await env_.writer->write(std::move(w));
  phase_ = "write recorded";
  if (o.outcome == store::WriteOutcome::Applied) co_return true;
  if (o.outcome == store::WriteOutcome::Refused) {
    // What this step's record held (its result, a snapshot) cannot be stored: the job does not go on
    // without it. The steps not run yet are SKIPPED; the reason carries the database's message.
    co_await end(EndReason::of(Kind::StepRecordRefused, step_index, o.refusal), skipped_from(steps_, next_), health_);
    co_return false;
  }
  say(spdlog::level::warn, std::nullopt, "", [&] {
    return fmt::format("job {} {}; stopping it", job_.job_id, not_written(o, env_.worker_id));
  });
  ending_ = true;
  cancel_->request("job taken away");
  co_return false;
}

Task<void> JobRun::end_stopped(EndReason why) {
  if (why.kind == Kind::Cancelled || why.kind == Kind::Shutdown) {
    why.step_index = next_ < steps_.size() ? std::optional<int>(steps_[next_].step_index) : std::nullopt;
    co_return co_await end(std::move(why), skipped_from(steps_, next_), health_);
  }
  steps_over_ = true;
  cancel_->request(why.text());  // an error of the job's own handling: kill its step, if one runs
  const auto now = model::now_utc();
  json results = json::array();
  for (std::size_t i = next_; i < steps_.size(); ++i) {
    model::StepResult r;
    r.step_index = steps_[i].step_index;
    r.status = StepStatus::Skipped;
    if (i == next_ && tally_.executed > static_cast<int>(next_)) {  // started, no result yet
      r.status = StepStatus::Failed;
      r.started_at = step_started_;
      r.output = executors::audit_output(nullptr, steps_[i], handler_of(steps_[i]), step_started_, false);
      r.completed_at = now;
      r.error = why.cause();
      why.step_index = r.step_index;
      why.failed_step_error = r.error;
    }
    results.push_back(r);
  }
  co_await end(std::move(why), std::move(results), health_);
}

Task<void> JobRun::end(EndReason why, json results, std::optional<model::HealthSnapshot> health_after) {
  if (ending_) co_return;
  ending_ = true;
  store::JobWrite w = write_for();
  w.append_results = std::move(results);
  if (health_after) w.health_after = json(*health_after);
  attach_health_before(w);
  w.terminal_status = std::string(model::to_string(why.status()));
  w.status_reason = why.text();
  w.transition_step_index = why.step_index;
  if (why.step_index && at_step_ != why.step_index) w.current_step_index = why.step_index;  // as the creator's: N
  w.evidence = evidence(why, w.append_results, health_after);
  if (env_.on_ending) env_.on_ending();
  const store::WriteResult o = co_await env_.writer->write(std::move(w));
  phase_ = "end recorded";
  if (o.outcome == store::WriteOutcome::Refused) co_return co_await end_refused(why, o.refusal);
  if (o.outcome == store::WriteOutcome::Fenced || o.outcome == store::WriteOutcome::Abandoned) {
    say(spdlog::level::warn, why.step_index, "", [&] {
      return fmt::format("job {} step {} {}; its end was not recorded", job_.job_id, step_label(why.step_index),
                         not_written(o, env_.worker_id));
    });
    co_return;
  }
  ended(why);
}

// The database refused the job's end: it ends FAILED with the database's message, without what was refused.
Task<void> JobRun::end_refused(const EndReason& refused, const std::string& refusal) {
  const EndReason why = EndReason::of(Kind::RecordRefused, refused.step_index, refusal);
  say(spdlog::level::err, why.step_index, "", [&] {
    return fmt::format("job {} step {}: the database refused its end ({}); recording it FAILED without its results",
                       job_.job_id, step_label(why.step_index), refusal);
  });
  store::JobWrite w = write_for();
  w.terminal_status = std::string(model::to_string(why.status()));
  w.status_reason = why.text();
  w.transition_step_index = why.step_index;
  const store::WriteResult o = co_await env_.writer->write(std::move(w));
  if (o.outcome == store::WriteOutcome::Applied) co_return ended(why);
  say(spdlog::level::err, why.step_index, "", [&] {
    return fmt::format("job {} step {}: its end could not be recorded either ({}); it stays RUNNING until reaped",
                       job_.job_id, step_label(why.step_index),
                       o.outcome == store::WriteOutcome::Fenced ? "no longer RUNNING under this worker" : o.refusal);
  });
}

void JobRun::ended(const EndReason& why) {
  const std::string to(model::to_string(why.status()));
  say(spdlog::level::info, why.step_index, "", [&] {
    return fmt::format("job {} step {} RUNNING -> {}: {}", job_.job_id, step_label(why.step_index), to, why.text());
  }, {"RUNNING", to});
  const std::chrono::duration<double> ran = std::chrono::steady_clock::now() - claimed_at_;
  if (env_.metrics) env_.metrics->job_ended(why, ran.count());
}

// The creator's evidence format; what govjobd records beyond it goes under "govjobd".
json JobRun::evidence(const EndReason& why, const json& last_results, const std::optional<model::HealthSnapshot>& after) const {
  EvidenceFacts f;
  f.job_id = job_.job_id;
  f.final_status = model::to_string(why.status());
  f.final_reason = why.text();
  f.step_results = recorded_;
  for (const auto& r : last_results) f.step_results.push_back(r);
  if (health_before_) f.health_before = health_states(*health_before_);
  if (after) f.health_after = health_states(*after);
  f.started_at = job_.started_at;
  f.completed_at = model::now_utc();
  f.govjobd = tally_.govjobd_evidence({env_.worker_id, env_.host}, steps_.size());
  return creator_evidence(f);
}

executors::StepHandler JobRun::handler_of(const model::JobStep& step) const {
  return env_.steps->handler(step.step_type).value_or(executors::StepHandler{"unknown", std::nullopt});
}

store::JobWrite JobRun::write_for() const {
  store::JobWrite w;
  w.job_id = job_.job_id;
  w.worker_id = env_.worker_id;
  w.locked_wait_until = job_.timeout_at;
  return w;
}

void JobRun::attach_health_before(store::JobWrite& w) {
  if (health_before_ && !health_before_written_) w.health_before = json(*health_before_);
  health_before_written_ = true;
}

// The health gauges follow every snapshot through the monitor's listener (FleetWatch), not from here.
void JobRun::observe(const model::HealthSnapshot& snapshot) { health_ = snapshot; }

}  // namespace govjobd::run
