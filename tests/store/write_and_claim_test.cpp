// Store::job_write_and_claim: the next jobs of the slots a batch's ends free, claimed in the batch's transaction.
#include <catch2/catch.hpp>

#include "daemon/store/store.hpp"
#include "tests/support/store_helpers.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::store;
using govjobd::testing::end_write;
using govjobd::testing::outcomes;
using govjobd::testing::TestDatabase;
using nlohmann::json;

namespace {

const json kOneStep = json::parse(R"([{"step_index":0,"step_type":"noop","target":"a","parameters":{},"timeout_seconds":30}])");

JobClaimParams joined_claim_of(int limit) {
  JobClaimParams p;
  p.worker_id = "worker-a";
  p.limit = limit;
  p.step_types = {"noop"};
  p.exclusive_targets = false;  // the jobs here share a target
  return p;
}

JobWrite completed_end_of(const std::string& job_id, json output) {
  JobWrite w = end_write(job_id, "worker-a", "COMPLETED", "All steps completed successfully");
  w.append_results = json::array({{{"step_index", 0}, {"status", "COMPLETED"}, {"output", std::move(output)}}});
  return w;
}

// The transaction that wrote the job's transition to `to` (transition rows are never updated: their xmin).
std::string transition_xmin(TestDatabase& db, const std::string& job_id, const std::string& to) {
  return db.scalar("SELECT xmin::text FROM governance_job_transitions WHERE job_id = '" + job_id + "' AND to_status = '" +
                   to + "'");
}

// `count` jobs enqueued (contract ids `prefix` followed by 0, 1, ...), the first `running` of them claimed.
std::vector<ClaimedJob> enqueue_and_claim(Store& store, const std::string& prefix, int count, int running) {
  for (int i = 0; i < count; ++i) store.job_enqueue({prefix + std::to_string(i), kOneStep, 60, "tester"});
  auto claimed = store.job_claim(joined_claim_of(running)).jobs;
  REQUIRE(static_cast<int>(claimed.size()) == running);
  return claimed;
}

}  // namespace

TEST_CASE("an end and the claim of the next job commit in one transaction, and a write the database refuses sends "
          "each on its own: the others land, the claim is made", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  const auto first = enqueue_and_claim(*store, "40000000-0000-0000-0000-00000000000", 4, 2);

  // joined: one transaction wrote the end and the claim
  WriteAndClaim joined = store->job_write_and_claim({completed_end_of(first[0].job_id, {{"ok", 1}})}, joined_claim_of(1));
  CHECK(outcomes(joined.writes) == std::vector<WriteOutcome>{WriteOutcome::Applied});
  CHECK_FALSE(joined.claim_error);
  REQUIRE(joined.claim.jobs.size() == 1);
  CHECK(transition_xmin(db, joined.claim.jobs[0].job_id, "RUNNING") == transition_xmin(db, first[0].job_id, "COMPLETED"));

  // jsonb cannot hold \u0000: the batch is refused, each write and the claim go on their own
  WriteAndClaim apart = store->job_write_and_claim(
      {completed_end_of(first[1].job_id, {{"bad", std::string("a\0b", 3)}}), completed_end_of(joined.claim.jobs[0].job_id, {{"ok", 2}})},
      joined_claim_of(1));
  CHECK(outcomes(apart.writes) == std::vector<WriteOutcome>{WriteOutcome::Refused, WriteOutcome::Applied});
  CHECK_THAT(apart.writes[0].refusal, Catch::Contains("unsupported Unicode escape sequence"));
  CHECK_FALSE(apart.claim_error);
  REQUIRE(apart.claim.jobs.size() == 1);
  CHECK(db.scalar("SELECT string_agg(status, ' ' ORDER BY contract_id) FROM governance_jobs") ==
        "COMPLETED RUNNING COMPLETED RUNNING");

  // nothing left to claim: the ends land, the claim is empty
  WriteAndClaim last = store->job_write_and_claim({completed_end_of(apart.claim.jobs[0].job_id, {{"ok", 3}})}, joined_claim_of(2));
  CHECK(outcomes(last.writes) == std::vector<WriteOutcome>{WriteOutcome::Applied});
  CHECK(last.claim.jobs.empty());
  CHECK_FALSE(last.claim_error);
}

TEST_CASE("a writer's trigger that refuses the claim of one job: the joined transaction rolls back, the end lands "
          "alone, the job behind is claimed and the refused one is isolated, not claimed in a loop", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  const auto first = enqueue_and_claim(*store, "50000000-0000-0000-0000-00000000000", 3, 1);
  // a writer-made object on its own table: the next job's claim (PENDING -> RUNNING) raises, every time
  db.exec("CREATE FUNCTION public.refuse_claim() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
          "IF NEW.contract_id = '50000000-0000-0000-0000-000000000001' AND NEW.status = 'RUNNING' THEN "
          "RAISE EXCEPTION 'the writer refuses this claim'; END IF; RETURN NEW; END $$");
  db.exec("CREATE TRIGGER refuse_claim BEFORE UPDATE ON governance_jobs FOR EACH ROW EXECUTE FUNCTION public.refuse_claim()");

  WriteAndClaim out = store->job_write_and_claim({completed_end_of(first[0].job_id, {{"ok", 1}})}, joined_claim_of(2));
  CHECK(outcomes(out.writes) == std::vector<WriteOutcome>{WriteOutcome::Applied});
  CHECK_FALSE(out.claim_error);
  CHECK(db.scalar("SELECT status FROM governance_jobs WHERE job_id = '" + first[0].job_id + "'") == "COMPLETED");
  // the refused row is claimed alone without its steps, or, when that claim is refused too (as here), left out of
  // this daemon's claims for good; either way the job behind it is claimed and nothing loops
  int claimed_whole = 0, claimed_alone = 0;
  for (const auto& job : out.claim.jobs) (job.claim_error ? claimed_alone : claimed_whole)++;
  CHECK(claimed_whole == 1);
  CHECK(claimed_alone + static_cast<int>(out.claim.unclaimable.size()) == 1);
  CHECK(db.scalar("SELECT status FROM governance_jobs WHERE contract_id = '50000000-0000-0000-0000-000000000002'") == "RUNNING");
}

TEST_CASE("text a step printed that would end a literal or a statement reaches the row whole through the joined end "
          "and claim, whose values travel as quoted literals", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  const auto first = enqueue_and_claim(*store, "70000000-0000-0000-0000-00000000000", 2, 1);
  const json output = {{"quote", "'); DELETE FROM governance_jobs; --"},
                       {"escapes", "\\' \\\\ E'\\x41' $$ $1 $tag$ ; \" \\u0000 as text"},
                       {"control", std::string("a\x01" "b\nc\td\r")},
                       {"unicode", "é ✓ 🚀 \u2028 \u00a0"},
                       {"large", std::string(200000, '\'')}};
  JobWrite end = completed_end_of(first[0].job_id, output);
  end.status_reason = "Step 0 failed: it's \"quoted\"; DROP TABLE x; --";
  end.terminal_status = "FAILED";
  const WriteAndClaim out = store->job_write_and_claim({end}, joined_claim_of(1));
  CHECK(outcomes(out.writes) == std::vector<WriteOutcome>{WriteOutcome::Applied});
  CHECK_FALSE(out.claim_error);
  REQUIRE(out.claim.jobs.size() == 1);
  // one commit for both, as with any other text: the creator's audit reads exactly what the step printed
  CHECK(transition_xmin(db, first[0].job_id, "FAILED") == transition_xmin(db, out.claim.jobs[0].job_id, "RUNNING"));
  CHECK(json::parse(db.scalar("SELECT step_results -> 0 -> 'output' FROM governance_jobs WHERE job_id = '" + first[0].job_id +
                              "'")) == output);
  CHECK(db.scalar("SELECT status_reason FROM governance_jobs WHERE job_id = '" + first[0].job_id + "'") == *end.status_reason);
  CHECK(db.scalar("SELECT count(*) FROM governance_jobs") == "2");
}

TEST_CASE("the claim starts results, evidence and the snapshot after over, and says what a writer had left there",
          "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  // SET clauses of governance_jobs; what the claim says of them
  const std::vector<std::pair<std::string, std::optional<std::string>>> preset = {
      {"step_results = '[]'", std::nullopt},
      {"step_results = 'null'", std::nullopt},
      {R"(step_results = '[{"step_index": 0, "status": "COMPLETED"}]')", "step_results (an array of 1 entry)"},
      {R"(step_results = '[{"step_index": 0}, 7]', execution_evidence = '{}')",
       "step_results (an array of 2 entries), execution_evidence"},
      {R"(step_results = '{"step_index": 0}')", "step_results (a JSON object)"},
      {"step_results = '12'", "step_results (a JSON number)"},
      {"health_snapshot_after = 'null', execution_evidence = 'null'", std::nullopt},  // as an ORM writes None
      {"health_snapshot_after = '{}'", "health_snapshot_after"},
      // large: named by its stored size, never expanded
      {"step_results = (SELECT jsonb_agg(jsonb_build_object('step_index', i, 'pad', md5(i::text))) "
       "FROM generate_series(1, 2000) i)", "bytes of JSON)"}};
  std::map<std::string, std::optional<std::string>> expected;  // by job_id
  for (std::size_t i = 0; i < preset.size(); ++i) {
    const std::string id = store->job_enqueue({"41000000-0000-0000-0000-00000000000" + std::to_string(i), kOneStep, 60, "tester"});
    db.exec("UPDATE governance_jobs SET " + preset[i].first + " WHERE job_id = '" + id + "'");
    expected[id] = preset[i].second;
  }
  const auto claimed = store->job_claim(joined_claim_of(10)).jobs;
  REQUIRE(claimed.size() == preset.size());
  for (const auto& job : claimed) {
    const auto& want = expected.at(job.job_id);
    INFO(job.job_id << ": " << job.preset.value_or("none"));
    if (want && want->starts_with("bytes"))
      CHECK_THAT(job.preset.value_or(""), Catch::StartsWith("step_results (") && Catch::EndsWith(*want));
    else
      CHECK(job.preset == want);
    CHECK(db.scalar("SELECT step_results::text || ' ' || (execution_evidence IS NULL) || ' ' || "
                    "(health_snapshot_after IS NULL) FROM governance_jobs WHERE job_id = '" + job.job_id + "'") ==
          "[] true true");
  }
}
