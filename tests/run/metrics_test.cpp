// The metrics' own logic (daemon/run/metrics.hpp, process_stats.hpp): what a hostile created_at does to the
// pickup histogram, which health snapshot the gauges follow, and /proc/<pid>/stat's parsing.
#include <cmath>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

#include "daemon/run/metrics.hpp"
#include "daemon/run/process_stats.hpp"
#include "tests/support/http_client.hpp"

using namespace govjobd;
using govjobd::testing::metric_sum;

TEST_CASE("pickup: unknown and NaN are not observed, the future counts as 0, more than a year as a year", "[metrics]") {
  run::Metrics m;
  m.job_picked_up(std::nullopt);
  m.job_picked_up(std::numeric_limits<double>::quiet_NaN());
  CHECK(metric_sum(m.render(), "govjobd_job_pickup_seconds_count") == 0);
  m.job_picked_up(-86400);
  m.job_picked_up(2.5);
  m.job_picked_up(6.3e10);  // created_at in year 1
  m.job_picked_up(std::numeric_limits<double>::infinity());
  const auto body = m.render();
  CHECK(metric_sum(body, "govjobd_job_pickup_seconds_count") == 4);
  CHECK(metric_sum(body, "govjobd_job_pickup_seconds_bucket{le=\"0.01\"}") == 1);
  CHECK(metric_sum(body, "govjobd_job_pickup_seconds_bucket{le=\"5\"}") == 2);
  CHECK(metric_sum(body, "govjobd_job_pickup_seconds_bucket{le=\"+Inf\"}") == 4);
  CHECK(metric_sum(body, "govjobd_job_pickup_seconds_sum") == Approx(2.5 + 2 * run::Metrics::kMaxPickupSeconds));
}

TEST_CASE("finished jobs and durations are labelled from the typed end reason, never its text", "[metrics]") {
  run::Metrics m;
  auto why = run::EndReason::of(run::EndReason::Kind::Cancelled, std::nullopt, "x\"} 1\ngovjobd_forged 1", "eve-q7z");
  m.job_ended(why, 3);
  m.job_finished(run::EndReason::of(run::EndReason::Kind::WorkerLost, 0, "2026-01-01", "w\"9"), 2);
  m.jobs_reaped(2);
  const auto body = m.render();
  CHECK(metric_sum(body, "govjobd_jobs_finished_total{status=\"CANCELLED\",reason=\"cancelled\"}") == 1);
  CHECK(metric_sum(body, "govjobd_jobs_finished_total{status=\"FAILED\",reason=\"worker_lost\"}") == 2);
  CHECK(metric_sum(body, "govjobd_job_duration_seconds_count{status=\"CANCELLED\"}") == 1);
  CHECK(metric_sum(body, "govjobd_jobs_reaped_total") == 2);
  CHECK(body.find("forged") == std::string::npos);
  CHECK(body.find("eve-q7z") == std::string::npos);
}

TEST_CASE("lease lapses are counted from 0, once each", "[metrics]") {
  run::Metrics m;
  CHECK(m.render().find("govjobd_lease_lapses_total 0\n") != std::string::npos);  // present before any lapse
  m.lease_lapsed();
  m.lease_lapsed();
  CHECK(metric_sum(m.render(), "govjobd_lease_lapses_total") == 2);
}

TEST_CASE("failed periodic rounds are counted by round, each from 0", "[metrics]") {
  run::Metrics m;
  for (const char* round : {"queue", "jobs_to_end", "holds_release", "window_pass"})
    CHECK(m.render().find(std::string("govjobd_rounds_failed_total{round=\"") + round + "\"} 0\n") != std::string::npos);
  m.round_failed("window_pass");
  m.round_failed("window_pass");
  CHECK(m.render().find("govjobd_rounds_failed_total{round=\"window_pass\"} 2\n") != std::string::npos);
}

TEST_CASE("the health gauges follow the latest snapshot: an older one is ignored, a removed capability goes", "[metrics]") {
  run::Metrics m;
  model::HealthSnapshot newer;
  newer.captured_at = model::now_utc();
  newer.capabilities["payments"] = {{"state", "HEALTHY"}};
  model::HealthSnapshot older;
  older.captured_at = newer.captured_at - std::chrono::seconds(5);
  older.capabilities["payments"] = {{"state", "BLOCKED"}};
  older.capabilities["ledger"] = {{"state", "BLOCKED"}};
  m.health_observed(newer);
  m.health_observed(older);  // a replaced monitor's round, arriving late
  auto body = m.render();
  CHECK(metric_sum(body, "govjobd_health_state{capability=\"payments\"}") == 0);
  CHECK(body.find("ledger") == std::string::npos);
  CHECK(metric_sum(body, "govjobd_health_snapshot_timestamp_seconds") ==
        Approx(std::chrono::duration<double>(newer.captured_at.time_since_epoch()).count()));
  model::HealthSnapshot later;
  later.captured_at = newer.captured_at + std::chrono::seconds(1);
  later.capabilities["ledger"] = {{"state", "DEGRADED"}};
  m.health_observed(later);
  body = m.render();
  CHECK(body.find("capability=\"payments\"") == std::string::npos);
  CHECK(metric_sum(body, "govjobd_health_state{capability=\"ledger\"}") == 1);
}

TEST_CASE("/proc/<pid>/stat is read after the command name's last parenthesis", "[metrics]") {
  const std::string stat =
      "2525 (a) b (c)) R 2523 2523 30231 0 -1 4194304 99 0 0 0 150 25 0 0 20 0 1 0 7163542 3133440 387 "
      "18446744073709551615 94497651519488 94497651539369 140724639087088 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
  const auto parsed = run::parse_proc_stat(stat);
  REQUIRE(parsed);
  CHECK(parsed->utime == 150);
  CHECK(parsed->stime == 25);
  CHECK(parsed->starttime == 7163542);
  CHECK(parsed->rss_pages == 387);
  CHECK_FALSE(run::parse_proc_stat("2525 (cat) R 1 2 3"));
  CHECK_FALSE(run::parse_proc_stat("no parenthesis"));
  CHECK_FALSE(run::parse_proc_stat("1 (x) R a b c d e f g h i j k l m n o p q r s t u v w"));
  CHECK(run::parse_boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 5\n") == 1700000000);
  CHECK_FALSE(run::parse_boot_time("cpu  1 2 3\n"));
}

TEST_CASE("the process metrics of this process are read, and absent rather than 0 when unreadable", "[metrics]") {
  run::ProcessSampler sampler;
  const auto& p = sampler.sample();
  REQUIRE(p.resident_bytes);
  CHECK(*p.resident_bytes > 0);
  REQUIRE(p.open_fds);
  CHECK(*p.open_fds >= 3);
  REQUIRE(p.start_time_seconds);
  CHECK(std::abs(*p.start_time_seconds - static_cast<double>(::time(nullptr))) < 3600);
}
