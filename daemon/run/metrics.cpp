#include "daemon/run/metrics.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "govjobd/version.hpp"

namespace govjobd::run {

namespace {

const std::vector<double> kStepBounds{0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800};
// from a NOTIFY's pickup (milliseconds) to a job that waited a day for its window or a free slot
const std::vector<double> kPickupBounds{0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 15, 60, 300, 900, 3600, 21600, 86400};
const std::vector<double> kJobBounds{0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21600, 86400};

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') { out += "\\n"; continue; }
    out += c;
  }
  return out;
}

int state_value(const std::string& state) { return state == "HEALTHY" ? 0 : state == "DEGRADED" ? 1 : 2; }

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// One sample; none when the figure could not be read (an absent series, never a false 0).
void sample(std::string& out, const char* name, const char* type, const char* help, std::optional<double> value) {
  header(out, name, type, help);
  if (value) out += fmt::format("{} {}\n", name, *value);
}

std::optional<double> unix_seconds(const std::optional<model::Timestamp>& t) {
  if (!t) return std::nullopt;
  return std::chrono::duration<double>(t->time_since_epoch()).count();
}

}  // namespace

void Histogram::observe(double value) {
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    if (value <= bounds_[i]) ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, bounds_[i], counts_[i]);
  out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, count_);
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, braces, sum_, name, braces, count_);
}

Metrics::Metrics() : pickup_seconds_(kPickupBounds) {}

void Metrics::jobs_claimed(int n, double claim_seconds) {
  claimed_ += n;
  claim_seconds_.observe(claim_seconds);
}

void Metrics::job_picked_up(std::optional<double> seconds) {
  if (!seconds || std::isnan(*seconds)) return;
  pickup_seconds_.observe(std::clamp(*seconds, 0.0, kMaxPickupSeconds));
}

void Metrics::job_finished(const EndReason& why, long long n) {
  finished_[{std::string(model::to_string(why.status())), std::string(why.metric_class())}] += n;
}

void Metrics::job_ended(const EndReason& why, double seconds) {
  job_finished(why);
  job_seconds_.try_emplace(std::string(model::to_string(why.status())), kJobBounds).first->second.observe(std::max(seconds, 0.0));
}

void Metrics::step_finished(const std::string& step_type, double seconds) {
  step_seconds_.try_emplace(step_type, kStepBounds).first->second.observe(seconds);
}

void Metrics::health_observed(const model::HealthSnapshot& snapshot) {
  if (health_at_ && snapshot.captured_at < *health_at_) return;
  health_at_ = snapshot.captured_at;
  health_.clear();  // a capability a reload removed is gone, not stuck at its last state
  health_["system"] = state_value(snapshot.system_health.value("state", "HEALTHY"));
  for (const auto& [name, cap] : snapshot.capabilities) health_[name] = state_value(cap.value("state", "BLOCKED"));
}

void Metrics::set_queue(const store::FleetStatus& queue) {
  queue_known_ = true;
  pending_ = queue.pending;
  oldest_pending_seconds_ = queue.oldest_pending_age_seconds.value_or(0);
  pending_by_reason_ = queue.pending_by_reason;
}

std::string Metrics::render() const {
  std::string out;
  render_jobs(out);
  render_daemon(out);
  render_queue(out);
  render_process(out);
  return out;
}

void Metrics::render_jobs(std::string& out) const {
  header(out, "govjobd_jobs_claimed_total", "counter", "Jobs this daemon claimed.");
  out += fmt::format("govjobd_jobs_claimed_total {}\n", claimed_);
  header(out, "govjobd_jobs_finished_total", "counter", "Jobs this daemon ended (its reaper's too), by status and reason class.");
  for (const auto& [key, n] : finished_)
    out += fmt::format("govjobd_jobs_finished_total{{status=\"{}\",reason=\"{}\"}} {}\n", key.first, key.second, n);
  header(out, "govjobd_jobs_reaped_total", "counter", "Jobs of lost workers this daemon's reaper ended.");
  out += fmt::format("govjobd_jobs_reaped_total {}\n", reaped_);
  header(out, "govjobd_job_pickup_seconds", "histogram",
         "From a job's created_at (the writer's clock) to its claim by this daemon; negative counts as 0.");
  pickup_seconds_.render(out, "govjobd_job_pickup_seconds", "");
  header(out, "govjobd_job_duration_seconds", "histogram", "From claim to end of the jobs this daemon ran, by final status.");
  for (const auto& [status, h] : job_seconds_) h.render(out, "govjobd_job_duration_seconds", fmt::format("status=\"{}\"", status));
  header(out, "govjobd_step_duration_seconds", "histogram", "Step durations by step_type.");
  for (const auto& [type, h] : step_seconds_)
    h.render(out, "govjobd_step_duration_seconds", fmt::format("step_type=\"{}\"", escape_label(type)));
  header(out, "govjobd_running_jobs", "gauge", "Jobs running now.");
  out += fmt::format("govjobd_running_jobs {}\n", running_);
  header(out, "govjobd_claim_latency_seconds", "histogram",
         "Time of the claim query (one round trip to the database), not the jobs' wait: see govjobd_job_pickup_seconds.");
  claim_seconds_.render(out, "govjobd_claim_latency_seconds", "");
}

void Metrics::render_daemon(std::string& out) const {
  header(out, "govjobd_health_state", "gauge", "Latest snapshot's state: 0 HEALTHY, 1 DEGRADED, 2 BLOCKED.");
  for (const auto& [name, v] : health_)
    out += fmt::format("govjobd_health_state{{capability=\"{}\"}} {}\n", escape_label(name), v);
  sample(out, "govjobd_health_snapshot_timestamp_seconds", "gauge", "When the latest health snapshot was taken (Unix time).",
         unix_seconds(health_at_));
  sample(out, "govjobd_heartbeat_timestamp_seconds", "gauge", "When the database last accepted this daemon's heartbeat (Unix time).",
         unix_seconds(heartbeat_at_));
  sample(out, "govjobd_notify_queue_usage_ratio", "gauge",
         "How full PostgreSQL's NOTIFY queue is, 0 to 1, at the last heartbeat (full: a NOTIFY fails its transaction).",
         notify_queue_usage_);
  header(out, "govjobd_lease_lapses_total", "counter",
         "Times no heartbeat committed for the lease fence: the daemon stopped claiming, and its running jobs unless "
         "worker.stop_steps_without_lease is off.");
  out += fmt::format("govjobd_lease_lapses_total {}\n", lease_lapses_);
  header(out, "govjobd_rounds_failed_total", "counter",
         "Periodic fleet rounds that failed or were skipped (timed out, refused by a grant or a row security policy).");
  for (const auto& [round, n] : rounds_failed_) out += fmt::format("govjobd_rounds_failed_total{{round=\"{}\"}} {}\n", round, n);
  header(out, "govjobd_database_up", "gauge",
         "1 when the daemon's last database operation succeeded, 0 while it reconnects and before its first connection.");
  out += fmt::format("govjobd_database_up {}\n", database_up_ ? 1 : 0);
  header(out, "govjobd_database_reconnects_total", "counter", "Reconnects of the database threads.");
  out += fmt::format("govjobd_database_reconnects_total {}\n", reconnects_);
  header(out, "govjobd_build_info", "gauge", "Always 1; the daemon's version as a label.");
  out += fmt::format("govjobd_build_info{{version=\"{}\"}} 1\n", escape_label(kVersion));
}

void Metrics::render_queue(std::string& out) const {
  if (!queue_known_) return;
  header(out, "govjobd_pending_jobs", "gauge", "PENDING jobs in the database (the whole fleet's queue).");
  out += fmt::format("govjobd_pending_jobs {}\n", pending_);
  header(out, "govjobd_oldest_pending_age_seconds", "gauge", "Age of the oldest PENDING job not parked for its contract window (0: none).");
  out += fmt::format("govjobd_oldest_pending_age_seconds {:.3f}\n", oldest_pending_seconds_);
  header(out, "govjobd_pending_jobs_by_reason", "gauge", "PENDING jobs by why they wait (all those parked; of the others the oldest 10,000).");
  for (const auto& [reason, n] : pending_by_reason_)
    out += fmt::format("govjobd_pending_jobs_by_reason{{reason=\"{}\"}} {}\n", escape_label(reason), n);
}

void Metrics::render_process(std::string& out) const {
  const ProcessStats& p = process_.sample();
  sample(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.", p.cpu_seconds);
  sample(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", p.resident_bytes);
  sample(out, "process_open_fds", "gauge", "Open file descriptors.", p.open_fds);
  sample(out, "process_max_fds", "gauge", "The soft limit of open file descriptors.", p.max_fds);
  sample(out, "process_start_time_seconds", "gauge", "Start time of the process since the epoch, in seconds.",
         p.start_time_seconds);
}

}  // namespace govjobd::run
