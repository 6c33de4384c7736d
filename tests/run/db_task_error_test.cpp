#include <stdexcept>

#include <catch2/catch.hpp>

#include "daemon/run/db_worker.hpp"

using govjobd::run::error_unless_unavailable;
using govjobd::store::DatabaseUnavailable;
using govjobd::store::RequestRejected;

TEST_CASE("a database task's error is returned - a lost database is thrown on for the worker to retry", "[run]") {
  int ran = 0;
  CHECK_FALSE(error_unless_unavailable([&] { ++ran; }));
  CHECK(ran == 1);
  CHECK(error_unless_unavailable([] { throw RequestRejected("job x not found"); }) == "job x not found");
  CHECK(error_unless_unavailable([] { throw std::runtime_error("boom"); }) == "boom");
  CHECK_THROWS_AS(error_unless_unavailable([] { throw DatabaseUnavailable("database unreachable"); }), DatabaseUnavailable);
}
