#include "daemon/run/metrics.hpp"

#include <fmt/format.h>

namespace govjobd::run {

namespace {

const std::vector<double> kStepBounds{0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800};

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

void Metrics::jobs_claimed(int n, double claim_seconds) {
  claimed_ += n;
  claim_seconds_.observe(claim_seconds);
}

void Metrics::job_finished(std::string_view status, std::string_view reason_class, long long n) {
  finished_[{std::string(status), std::string(reason_class)}] += n;
}

void Metrics::step_finished(const std::string& step_type, double seconds) {
  step_seconds_.try_emplace(step_type, kStepBounds).first->second.observe(seconds);
}

void Metrics::health_observed(const model::HealthSnapshot& snapshot) {
  health_["system"] = state_value(snapshot.system_health.value("state", "HEALTHY"));
  for (const auto& [name, cap] : snapshot.capabilities) health_[name] = state_value(cap.value("state", "BLOCKED"));
}

void Metrics::set_queue(long long pending, double oldest_pending_seconds, std::map<std::string, long long> by_reason) {
  queue_known_ = true;
  pending_ = pending;
  oldest_pending_seconds_ = oldest_pending_seconds;
  pending_by_reason_ = std::move(by_reason);
}

std::string Metrics::render() const {
  std::string out;
  header(out, "govjobd_jobs_claimed_total", "counter", "Jobs this daemon claimed.");
  out += fmt::format("govjobd_jobs_claimed_total {}\n", claimed_);
  header(out, "govjobd_jobs_finished_total", "counter", "Jobs this daemon ended, by status and reason class.");
  for (const auto& [key, n] : finished_)
    out += fmt::format("govjobd_jobs_finished_total{{status=\"{}\",reason=\"{}\"}} {}\n", key.first, key.second, n);
  header(out, "govjobd_step_duration_seconds", "histogram", "Step durations by step_type.");
  for (const auto& [type, h] : step_seconds_)
    h.render(out, "govjobd_step_duration_seconds", fmt::format("step_type=\"{}\"", escape_label(type)));
  header(out, "govjobd_running_jobs", "gauge", "Jobs running now.");
  out += fmt::format("govjobd_running_jobs {}\n", running_);
  header(out, "govjobd_health_state", "gauge", "Last observed state: 0 HEALTHY, 1 DEGRADED, 2 BLOCKED.");
  for (const auto& [name, v] : health_)
    out += fmt::format("govjobd_health_state{{capability=\"{}\"}} {}\n", escape_label(name), v);
  header(out, "govjobd_claim_latency_seconds", "histogram", "Time of one claim round trip to the database.");
  claim_seconds_.render(out, "govjobd_claim_latency_seconds", "");
  header(out, "govjobd_database_reconnects_total", "counter", "Reconnects of the database thread.");
  out += fmt::format("govjobd_database_reconnects_total {}\n", reconnects_);
  if (!queue_known_) return out;
  header(out, "govjobd_pending_jobs", "gauge", "PENDING jobs in the database (the whole fleet's queue).");
  out += fmt::format("govjobd_pending_jobs {}\n", pending_);
  header(out, "govjobd_oldest_pending_age_seconds", "gauge", "Age of the oldest PENDING job (0: none).");
  out += fmt::format("govjobd_oldest_pending_age_seconds {:.3f}\n", oldest_pending_seconds_);
  header(out, "govjobd_pending_jobs_by_reason", "gauge", "PENDING jobs by why they wait (the oldest 10,000 classified).");
  for (const auto& [reason, n] : pending_by_reason_)
    out += fmt::format("govjobd_pending_jobs_by_reason{{reason=\"{}\"}} {}\n", escape_label(reason), n);
  return out;
}

}  // namespace govjobd::run
