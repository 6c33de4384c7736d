#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "daemon/log/journal_sink.hpp"

using govjobd::log::JobFields;
using govjobd::log::journal_fields;
using govjobd::log::kJournalFieldCap;

namespace {

// The value of field `name` ("" when absent); fails when it appears more than once.
std::string field(const std::vector<std::string>& fields, const std::string& name) {
  std::string value;
  int seen = 0;
  for (const auto& f : fields) {
    if (f.starts_with(name + "=")) {
      value = f.substr(name.size() + 1);
      ++seen;
    }
  }
  CHECK(seen <= 1);
  return value;
}

}  // namespace

TEST_CASE("journal fields: MESSAGE escaped as the text line, PRIORITY, SYSLOG_IDENTIFIER, GOVJOBD_WORKER", "[logging]") {
  const auto fields = journal_fields("worker w1 ready\n<0>forged", 6, nullptr, "w1");
  CHECK(field(fields, "MESSAGE") == "worker w1 ready\\n<0>forged");
  CHECK(field(fields, "PRIORITY") == "6");
  CHECK(field(fields, "SYSLOG_IDENTIFIER") == "govjobd");
  CHECK(field(fields, "GOVJOBD_WORKER") == "w1");
  CHECK(field(fields, "GOVJOBD_JOB_ID").empty());
  CHECK(fields.size() == 4);  // no job: no job field, not even an empty one
}

TEST_CASE("journal fields: the job's fields when known, FROM and TO on a transition", "[logging]") {
  JobFields job{"6012ca75-0000-4000-8000-000000000001", "c0ffee00-0000-4000-8000-000000000002", 0, "noop", "RUNNING",
                "COMPLETED"};
  const auto fields = journal_fields("job ... RUNNING -> COMPLETED", 6, &job, "w1");
  CHECK(field(fields, "GOVJOBD_JOB_ID") == job.job_id);
  CHECK(field(fields, "GOVJOBD_CONTRACT_ID") == job.contract_id);
  CHECK(field(fields, "GOVJOBD_STEP_INDEX") == "0");
  CHECK(field(fields, "GOVJOBD_STEP_TYPE") == "noop");
  CHECK(field(fields, "GOVJOBD_FROM") == "RUNNING");
  CHECK(field(fields, "GOVJOBD_TO") == "COMPLETED");
  JobFields bare{"6012ca75-0000-4000-8000-000000000001", "", std::nullopt, "", "", ""};
  const auto fewer = journal_fields("job ... cancel requested", 6, &bare, "w1");
  CHECK(fewer.size() == 5);  // only GOVJOBD_JOB_ID beyond the four of every event
}

TEST_CASE("journal fields: a row's text cannot forge a field or a line, and every field is bounded", "[logging]") {
  const std::string forged = "x\nGOVJOBD_JOB_ID=forged\nPRIORITY=0";
  JobFields job{"6012ca75-0000-4000-8000-000000000001", forged, 1, forged + std::string(100000, 'y'), "RUNNING", forged};
  const auto fields = journal_fields("Step 1 failed: " + forged + std::string(200000, 'z'), 3, &job, forged);
  for (const auto& f : fields) {
    INFO(f.substr(0, 80));
    CHECK(f.find('\n') == std::string::npos);  // escaped: one line, whatever a reader does with the value
    CHECK(f.size() <= kJournalFieldCap + 64);
  }
  CHECK(field(fields, "GOVJOBD_JOB_ID") == job.job_id);
  CHECK(field(fields, "PRIORITY") == "3");
  CHECK(field(fields, "GOVJOBD_TO") == "x\\nGOVJOBD_JOB_ID=forged\\nPRIORITY=0");
  CHECK_THAT(field(fields, "MESSAGE"), Catch::StartsWith("Step 1 failed: x\\nGOVJOBD_JOB_ID=forged"));
  CHECK_THAT(field(fields, "MESSAGE"), Catch::EndsWith("bytes cut)"));
  CHECK_THAT(field(fields, "GOVJOBD_STEP_TYPE"), Catch::EndsWith("bytes cut)"));
}

TEST_CASE("journal fields: a cut never splits a UTF-8 sequence", "[logging]") {
  std::string text;
  for (std::size_t i = 0; i < kJournalFieldCap; ++i) text += "\xe2\x82\xac";  // 3 bytes each
  const auto fields = journal_fields(text, 6, nullptr, "w1");
  const std::string message = field(fields, "MESSAGE");
  const std::string kept = message.substr(0, message.find(" ("));
  CHECK(kept.size() % 3 == 0);
  CHECK(kept.size() <= kJournalFieldCap);
}

TEST_CASE("journal priorities follow the spdlog levels as sd-daemon.h numbers them", "[logging]") {
  using govjobd::log::journal_priority;
  CHECK(journal_priority(0) == 7);  // trace
  CHECK(journal_priority(1) == 7);  // debug
  CHECK(journal_priority(2) == 6);  // info
  CHECK(journal_priority(3) == 4);  // warn
  CHECK(journal_priority(4) == 3);  // err
  CHECK(journal_priority(5) == 2);  // critical
}
