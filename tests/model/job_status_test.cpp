#include <set>

#include <catch2/catch.hpp>

#include "daemon/model/job_status.hpp"

using namespace govjobd::model;

TEST_CASE("job and step statuses convert to and from their names", "[model]") {
  for (JobStatus s : kAllJobStatuses) CHECK(parse_job_status(to_string(s)) == s);
  for (StepStatus s : kAllStepStatuses) CHECK(parse_step_status(to_string(s)) == s);
  CHECK(to_string(JobStatus::Cancelled) == "CANCELLED");
  CHECK(to_string(StepStatus::Skipped) == "SKIPPED");
  CHECK_FALSE(parse_job_status("pending"));
  CHECK_FALSE(parse_job_status("SKIPPED"));
  CHECK_FALSE(parse_step_status("CANCELLED"));
  CHECK_FALSE(parse_job_status(""));
}

TEST_CASE("the terminal set is COMPLETED, FAILED and CANCELLED", "[model]") {
  CHECK_FALSE(is_terminal(JobStatus::Pending));
  CHECK_FALSE(is_terminal(JobStatus::Running));
  CHECK(is_terminal(JobStatus::Completed));
  CHECK(is_terminal(JobStatus::Failed));
  CHECK(is_terminal(JobStatus::Cancelled));
}

TEST_CASE("every pair of statuses is valid or invalid exactly as the state machine says", "[model]") {
  using S = JobStatus;
  const std::set<std::pair<S, S>> valid{{S::Pending, S::Running},   {S::Pending, S::Cancelled},
                                        {S::Running, S::Completed}, {S::Running, S::Failed},
                                        {S::Running, S::Cancelled}};
  for (S from : kAllJobStatuses) {
    for (S to : kAllJobStatuses) {
      INFO(to_string(from) << " -> " << to_string(to));
      const bool expected = valid.count({from, to}) == 1;
      CHECK(is_valid_transition(from, to) == expected);
      if (expected) {
        CHECK_NOTHROW(check_transition("job-1", from, to, "because"));
      } else if (is_terminal(from)) {
        CHECK_THROWS_AS(check_transition("job-1", from, to, "because"), JobImmutable);
      } else {
        CHECK_THROWS_AS(check_transition("job-1", from, to, "because"), InvalidTransition);
      }
    }
  }
}

TEST_CASE("transition errors carry what they name", "[model]") {
  try {
    check_transition("job-7", JobStatus::Pending, JobStatus::Completed, "skipped the run");
    FAIL("no exception");
  } catch (const InvalidTransition& e) {
    CHECK(e.from() == JobStatus::Pending);
    CHECK(e.to() == JobStatus::Completed);
    CHECK(e.reason() == "skipped the run");
    CHECK(std::string(e.what()) == "invalid transition PENDING -> COMPLETED (skipped the run)");
  }
  try {
    check_transition("job-7", JobStatus::Failed, JobStatus::Running, "retry");
    FAIL("no exception");
  } catch (const JobImmutable& e) {
    CHECK(e.job_id() == "job-7");
    CHECK(e.status() == JobStatus::Failed);
    CHECK(std::string(e.what()) == "job job-7 is FAILED, a terminal state, and cannot be changed");
  }
  const OrphanJob orphan("job-9");
  CHECK(orphan.job_id() == "job-9");
  CHECK(std::string(orphan.what()) == "job job-9 has no contract_id and cannot run");
}
