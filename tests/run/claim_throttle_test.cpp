#include <catch2/catch.hpp>

#include "daemon/run/claim_throttle.hpp"

using govjobd::run::ClaimThrottle;
using namespace std::chrono_literals;

TEST_CASE("claim throttle: claims all free slots until a spawn fails for lack of resources", "[throttle]") {
  ClaimThrottle t;
  const auto now = ClaimThrottle::Clock::now();
  CHECK(t.allowed(30, 0, now) == 30);
  CHECK_FALSE(t.on_spawned(5, 30, now));
  CHECK_FALSE(t.active());
}

TEST_CASE("claim throttle: after a shortage no more than ran, one probe per pause, the pause doubling up to 5 s", "[throttle]") {
  ClaimThrottle t;
  auto now = ClaimThrottle::Clock::now();
  // 30 claimed, 8 started, the others fail one after another
  CHECK(t.on_shortage(29, now));
  for (int executing = 28; executing >= 8; --executing) CHECK_FALSE(t.on_shortage(executing, now));
  CHECK(t.cap() == 8);
  CHECK(t.allowed(22, 8, now) == 0);   // paused: the failed jobs' slots are not refilled
  CHECK(t.allowed(22, 7, now) == 1);   // one that ended may be replaced
  CHECK(t.next_probe() > now);
  CHECK(t.next_probe() - now <= ClaimThrottle::kMaxPause);
  now = t.next_probe();
  CHECK(t.allowed(22, 8, now) == 1);   // the probe
  CHECK(t.allowed(22, 9, now) == 0);   // one probe at a time
  CHECK_FALSE(t.on_shortage(8, now));  // it failed too: the next pause is longer
  const auto pause = t.next_probe() - now;
  CHECK(pause >= ClaimThrottle::kMinPause);
  for (int i = 0; i < 10; ++i) {
    now = t.next_probe();
    t.on_shortage(8, now);
  }
  CHECK(t.next_probe() - now == ClaimThrottle::kMaxPause);
}

TEST_CASE("claim throttle: probes that start raise the cap, one by one at once, until the concurrency", "[throttle]") {
  ClaimThrottle t;
  auto now = ClaimThrottle::Clock::now();
  t.on_shortage(3, now);
  now = t.next_probe();
  for (int executing = 4; executing < 10; ++executing) {
    REQUIRE(t.allowed(10, executing - 1, now) == 1);
    CHECK_FALSE(t.on_spawned(executing, 10, now));
    CHECK(t.cap() == executing);
  }
  CHECK(t.on_spawned(10, 10, now));  // back at the concurrency: the shortage is over
  CHECK_FALSE(t.active());
  CHECK(t.allowed(10, 0, now) == 10);
}
