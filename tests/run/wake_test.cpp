// Who claims a new job (daemon/run/wake.hpp): every daemon computes the same ranks from the same live list.
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "daemon/run/wake.hpp"

using govjobd::run::WakeRanks;

namespace {

const std::vector<std::string> kFleet = {"host-a", "host-b", "host-c", "host-d", "host-e", "host-f", "host-g", "host-h"};

std::string job(int i) {
  char id[37];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
  return id;
}

}  // namespace

TEST_CASE("a wake names a job in PostgreSQL's uuid text, with an optional rank, and anything else wakes every daemon", "[wake]") {
  const auto plain = WakeRanks::parse("0b1a2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
  REQUIRE(plain);
  CHECK(plain->rank == 0);
  const auto passed = WakeRanks::parse("0b1a2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d 1");
  REQUIRE(passed);
  CHECK(passed->rank == 1);
  CHECK(WakeRanks::payload(*passed) == "0b1a2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d 1");
  for (const char* other : {"", " ", "0B1A2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D", "0b1a2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d 12",
                            "0b1a2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d x", "0b1a2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d ",
                            "0b1a2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4", "x'; DROP TABLE governance_jobs; --",
                            "0b1a2c3d04e5f-4a6b-8c7d-9e0f1a2b3c4d"})
    CHECK_FALSE(WakeRanks::parse(other));
}

TEST_CASE("for every job exactly one live daemon claims at each rank and exactly one is its backup, the load spread", "[wake]") {
  std::map<std::string, WakeRanks> fleet;
  for (const auto& w : kFleet) fleet.emplace(w, WakeRanks(w)).first->second.set_live(kFleet);
  std::map<std::string, int> first;
  for (int i = 0; i < 800; ++i) {
    for (int rank = 0; rank < WakeRanks::kRanks; ++rank) {
      int claims = 0, backups = 0;
      for (const auto& [name, ranks] : fleet) {
        const auto act = ranks.act_on({job(i), rank});
        claims += act == WakeRanks::Act::Claim;
        backups += act == WakeRanks::Act::Backup;
        if (rank == 0 && act == WakeRanks::Act::Claim) ++first[name];
      }
      CHECK(claims == 1);
      CHECK(backups == 1);
    }
    // after kRanks daemons passed, every daemon claims
    for (const auto& [name, ranks] : fleet) CHECK(ranks.act_on({job(i), WakeRanks::kRanks}) == WakeRanks::Act::Claim);
  }
  REQUIRE(first.size() == kFleet.size());
  for (const auto& [name, n] : first) CHECK(n > 50);  // 100 each on average
}

TEST_CASE("before its first heartbeat, or alone, a daemon claims every wake, and it learns when a live worker is gone", "[wake]") {
  WakeRanks alone("host-a");
  CHECK(alone.act_on({job(1), 0}) == WakeRanks::Act::Claim);
  CHECK_FALSE(alone.set_live({}));  // the heartbeat's read may not show its own new row yet: it counts itself
  CHECK(alone.live() == 1);
  CHECK(alone.act_on({job(1), 0}) == WakeRanks::Act::Claim);
  CHECK(alone.act_on({job(1), 1}) == WakeRanks::Act::Claim);
  CHECK_FALSE(alone.set_live({"host-a", "host-b"}));
  CHECK(alone.live() == 2);
  CHECK(alone.set_live({"host-a"}));  // host-b lost: its jobs wait for a claim
}
