// The process runner on its own: real children, real signals, no step around them.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>

#include "process/child_reaper.hpp"
#include "process/runner.hpp"
#include "tests/support/step_runner.hpp"

using namespace govjobd;
using namespace govjobd::testing;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

process::Spec shell(const std::string& script) {
  process::Spec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.env = process::inherited_environment({"PATH"});
  spec.kill_grace = 500ms;
  return spec;
}

// Runs `spec` on its own loop; `during` may schedule things on it. Fails the test unless it ends within 60 s.
process::Result run_to_end(process::Spec spec, std::function<void(boost::asio::io_context&, process::Handle)> during = {},
                           std::shared_ptr<process::ChildReaper> reaper = std::make_shared<process::ChildReaper>()) {
  process::prepare_process_for_children();
  boost::asio::io_context io;
  std::optional<process::Result> result;
  const auto handle = process::run(io, reaper, std::move(spec), [&](process::Result r) { result = std::move(r); });
  if (during) during(io, handle);
  io.run_for(60s);
  REQUIRE(result.has_value());
  return std::move(*result);
}

// Waits up to 10 s for `done`, checking every 10 ms.
template <class Condition>
bool eventually(Condition done) {
  const auto until = steady::now() + 10s;
  while (!done()) {
    if (steady::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

}  // namespace

TEST_CASE("a deadline sends SIGTERM to the whole group - children that obey need no SIGKILL", "[runner]") {
  const std::string marker = unique_marker();
  auto spec = shell("sleep " + marker + " & sleep " + marker);
  spec.deadline = steady::now() + 300ms;
  const auto r = run_to_end(std::move(spec));
  CHECK(r.stopped_by == process::StopReason::Deadline);
  CHECK(r.signal == SIGTERM);
  CHECK_FALSE(r.killed);
  CHECK_FALSE(r.spawn_error);
  CHECK(r.duration >= 250ms);
  CHECK(processes_with(marker).empty());  // the background sleep too: the group was signalled
  CHECK(zombie_children().empty());
}

TEST_CASE("a group that ignores SIGTERM gets SIGKILL after the grace, grandchildren included", "[runner]") {
  const std::string marker = unique_marker();
  auto spec = shell("trap '' TERM; sleep " + marker + " & sleep " + marker);
  spec.deadline = steady::now() + 300ms;
  spec.kill_grace = 700ms;
  const auto r = run_to_end(std::move(spec));
  CHECK(r.stopped_by == process::StopReason::Deadline);
  CHECK(r.killed);
  CHECK(r.signal == SIGKILL);
  CHECK(r.duration >= 950ms);  // deadline + grace
  CHECK(r.duration < 10s);
  CHECK(processes_with(marker).empty());
  CHECK(zombie_children().empty());
}

TEST_CASE("a leader that ignores SIGTERM is killed after the grace when stopped through its handle", "[runner]") {
  const std::string marker = unique_marker();
  auto spec = shell("trap '' TERM; while :; do sleep " + marker + "; done");
  spec.kill_grace = 300ms;
  const auto r = run_to_end(std::move(spec), [](boost::asio::io_context& io, process::Handle handle) {
    auto timer = std::make_shared<boost::asio::steady_timer>(io, 200ms);
    timer->async_wait([timer, handle](auto) { handle.stop(); });
  });
  CHECK(r.stopped_by == process::StopReason::Stopped);
  CHECK(r.killed);
  CHECK(r.signal == SIGKILL);
  CHECK(processes_with(marker).empty());
  CHECK(zombie_children().empty());
}

TEST_CASE("a child that exits by itself is not stopped, and its exit code is its own", "[runner]") {
  auto spec = shell("echo out; echo err >&2; exit 15");
  spec.deadline = steady::now() + 30s;
  const auto r = run_to_end(std::move(spec));
  CHECK(r.stopped_by == process::StopReason::None);
  CHECK(r.exit_code == 15);  // not "killed by SIGTERM": the raw wait status tells them apart
  CHECK_FALSE(r.signal);
  CHECK(r.out.kept() == "out\n");
  CHECK(process::exit_failure(r) == "exit code 15: err");
}

TEST_CASE("capture keeps max_output_bytes of each stream and counts the rest", "[runner]") {
  auto spec = shell("head -c 3000000 /dev/zero | tr '\\0' o; head -c 5000 /dev/zero | tr '\\0' e >&2");
  spec.max_output_bytes = 1000;
  const auto r = run_to_end(std::move(spec));
  CHECK(r.exit_code == 0);
  CHECK(r.out.kept() == std::string(1000, 'o'));
  CHECK(r.out.total() == 3000000);
  CHECK(r.out.truncated());
  CHECK(r.err.kept() == std::string(1000, 'e'));
  CHECK(r.err.total() == 5000);
}

TEST_CASE("stdin bytes reach the child exactly, then EOF", "[runner]") {
  const std::string bytes("line one\nbinary \0\xff end", 22);
  process::Spec spec;
  spec.argv = {"/bin/cat"};
  spec.stdin_bytes = bytes;
  const auto r = run_to_end(std::move(spec));
  CHECK(r.exit_code == 0);
  CHECK(r.out.kept() == bytes);
}

TEST_CASE("the environment is exactly the spec's, and a child's stdin may stay unread", "[runner]") {
  ::setenv("GOVJOBD_RUNNER_SECRET", "must-not-pass", 1);
  process::Spec spec;
  spec.argv = {"/usr/bin/env"};
  spec.env = {{"ONLY", "this"}};
  spec.stdin_bytes = std::string(1 << 20, 'x');  // more than a pipe holds: EPIPE, never SIGPIPE for us
  const auto r = run_to_end(std::move(spec));
  CHECK(r.exit_code == 0);
  CHECK(r.out.kept() == "ONLY=this\n");
}

TEST_CASE("a spawn failure says what failed - no process, no zombie", "[runner]") {
  process::Spec missing;
  missing.argv = {"no-such-govjobd-runner-command"};
  const auto r = run_to_end(std::move(missing));
  CHECK(r.spawn_error == "spawn failed: executable 'no-such-govjobd-runner-command' not found in PATH");
  CHECK_FALSE(r.resource_shortage);
  process::Spec absolute;
  absolute.argv = {"/nonexistent/govjobd-runner"};
  CHECK(run_to_end(std::move(absolute)).spawn_error == "spawn failed: /nonexistent/govjobd-runner: No such file or directory");
  CHECK(zombie_children().empty());
}

TEST_CASE("a spawn that runs out of descriptors is reported as a resource shortage", "[runner][no-sanitize]") {
  process::prepare_process_for_children();
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  boost::asio::io_context io;
  boost::asio::steady_timer reactor(io);  // the loop's own descriptors exist before counting
  const int lowest = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(lowest >= 0);
  ::close(lowest);
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(lowest + 2);  // stdin's pipe opens, stdout's cannot
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  std::optional<process::Result> starved;
  process::Spec spec;
  spec.argv = {"/bin/true"};
  process::run(io, std::make_shared<process::ChildReaper>(), spec, [&](process::Result r) { starved = std::move(r); });
  ::setrlimit(RLIMIT_NOFILE, &saved);
  io.run_for(10s);
  REQUIRE(starved);
  CHECK(starved->spawn_error == "spawn failed: too many open files");
  CHECK(starved->resource_shortage);
  CHECK(run_to_end(spec).exit_code == 0);
}

TEST_CASE("the reaper reaps stray zombies and leaves the leaders the runner tracks alone", "[runner]") {
  process::prepare_process_for_children();
  REQUIRE(zombie_children().empty());
  auto reaper = std::make_shared<process::ChildReaper>();
  boost::asio::io_context io;
  std::optional<process::Result> result;
  process::run(io, reaper, shell("exit 7"), [&](process::Result r) { result = std::move(r); });
  const pid_t stray = ::fork();  // a child no one tracks, as a step's setsid escapee handed to us would be
  REQUIRE(stray >= 0);
  if (stray == 0) ::_exit(0);
  // the loop has not run: the leader's exit is not collected yet, so both are zombies now
  REQUIRE(eventually([] { return zombie_children().size() == 2; }));
  CHECK(reaper->reap_strays() == 1);
  CHECK(zombie_children().size() == 1);  // the tracked leader, left for the runner
  io.run_for(30s);
  REQUIRE(result);
  CHECK(result->exit_code == 7);  // its status was not stolen
  CHECK(zombie_children().empty());
  CHECK(reaper->reap_strays() == 0);
}
