#include <fcntl.h>
#include <sys/resource.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>

#include "executors/output_text.hpp"
#include "executors/process_executor.hpp"
#include "tests/support/step_runner.hpp"

using namespace govjobd;
using namespace govjobd::testing;
using executors::StepOutcome;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

long rss_kib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  return 0;
}

}  // namespace

TEST_CASE("exit 0 completes the step - any other exit fails it with the code and the tail of stderr", "[process]") {
  auto ok = run_process_step(process_settings({"/bin/sh", "-c", "echo hello; echo warn >&2"}), make_step());
  CHECK(ok.outcome == StepOutcome::Completed);
  CHECK(ok.exit_code == 0);
  CHECK(ok.output.at("stdout") == "hello\n");
  CHECK(ok.output.at("stderr") == "warn\n");
  CHECK(ok.output.at("exit_code") == 0);
  CHECK(ok.output.at("truncated") == false);

  auto bad = run_process_step(process_settings({"/bin/sh", "-c", "echo starting; echo 'disk full' >&2; exit 3"}),
                              make_step());
  CHECK(bad.outcome == StepOutcome::Failed);
  CHECK(bad.exit_code == 3);
  CHECK(bad.error == "exit code 3: disk full");

  // exit 15 is an exit code, not "killed by SIGTERM" (the raw wait status tells them apart)
  auto fifteen = run_process_step(process_settings({"/bin/sh", "-c", "exit 15"}), make_step());
  CHECK(fifteen.exit_code == 15);
  CHECK_FALSE(fifteen.signal.has_value());
  auto killed = run_process_step(process_settings({"/bin/sh", "-c", "kill -TERM $$"}), make_step());
  CHECK(killed.outcome == StepOutcome::Failed);
  CHECK(killed.signal == SIGTERM);
  CHECK(killed.error == "killed by SIGTERM");
  CHECK(zombie_children().empty());
}

TEST_CASE("a timeout kills the whole tree and leaves no process behind", "[process]") {
  const std::string marker = unique_marker();
  auto r = run_process_step(process_settings({"/bin/sh", "-c", "sleep " + marker + " & sleep " + marker}), make_step(1));
  CHECK(r.outcome == StepOutcome::TimedOut);
  CHECK(r.error == "step timeout of 1s exceeded (SIGTERM)");
  CHECK(r.duration >= 900ms);
  CHECK(r.duration < 10s);
  CHECK(processes_with(marker).empty());
  CHECK(zombie_children().empty());
}

TEST_CASE("a child that ignores SIGTERM is killed after the grace", "[process]") {
  const std::string marker = unique_marker();
  auto settings = process_settings({"/bin/sh", "-c", "trap '' TERM; sleep " + marker + " & sleep " + marker});
  settings.kill_grace = 700ms;
  auto r = run_process_step(settings, make_step(1));
  CHECK(r.outcome == StepOutcome::TimedOut);
  CHECK(r.error == "step timeout of 1s exceeded (SIGTERM, then SIGKILL after 700ms)");
  CHECK(r.duration >= 1600ms);
  CHECK(processes_with(marker).empty());
  CHECK(zombie_children().empty());
}

TEST_CASE("the job's timeout_at cuts a step short when it comes first", "[process]") {
  executors::StepContext context;
  context.job_deadline = model::now_utc() + std::chrono::milliseconds(800);
  auto r = run_process_step(process_settings({"/bin/sleep", "30"}), make_step(300), context);
  CHECK(r.outcome == StepOutcome::TimedOut);
  CHECK(r.error == "job timeout exceeded (SIGTERM)");
}

TEST_CASE("cancel stops a running step, its group included", "[process]") {
  const std::string marker = unique_marker();
  executors::StepContext context;
  context.cancel = std::make_shared<executors::CancelSignal>();
  auto r = run_process_step(process_settings({"/bin/sh", "-c", "sleep " + marker + " & sleep " + marker}), make_step(60),
                            context, [&](boost::asio::io_context& io) {
                              // owned by its handler: gone before the io_context is (ASan caught the old delete after)
                              auto timer = std::make_shared<boost::asio::steady_timer>(io, 200ms);
                              timer->async_wait([&, timer](auto) { context.cancel->request("operator said stop"); });
                            });
  CHECK(r.outcome == StepOutcome::Cancelled);
  CHECK(r.error == "cancelled: operator said stop (SIGTERM)");
  CHECK(r.duration < 5s);
  CHECK(processes_with(marker).empty());
}

TEST_CASE("a 100 MB output flood is capped and counted, and memory stays bounded", "[process]") {
  const long before = rss_kib();
  auto r = run_process_step(process_settings({"/bin/sh", "-c", "head -c 100000000 /dev/zero | tr '\\0' x; echo done >&2"}),
                            make_step());
  CHECK(r.outcome == StepOutcome::Completed);
  CHECK(r.output.at("stdout").get<std::string>().size() == 64 * 1024);
  CHECK(r.output.at("stdout_bytes") == 100000000);
  CHECK(r.output.at("truncated") == true);
  CHECK(r.output.at("stderr") == "done\n");
  CHECK(rss_kib() - before < 32 * 1024);  // 100 MB went through; well under 32 MB stayed
}

TEST_CASE("binary output, NULs and invalid UTF-8 never break recording", "[process]") {
  auto r = run_process_step(process_settings({"/usr/bin/printf", "ok\\000\\377\\376 caf\\303\\251\\n"}), make_step());
  CHECK(r.outcome == StepOutcome::Completed);
  const std::string out = r.output.at("stdout");
  CHECK(out == "ok\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd caf\xc3\xa9\n");
  CHECK_NOTHROW(r.output.dump());
  CHECK(out.find('\0') == std::string::npos);
}

TEST_CASE("a missing executable is spawn_failed with a clear error, and leaves no zombie", "[process]") {
  auto absolute = run_process_step(process_settings({"/nonexistent/govjobd-step"}), make_step());
  CHECK(absolute.outcome == StepOutcome::SpawnFailed);
  CHECK(absolute.error == "spawn failed: /nonexistent/govjobd-step: No such file or directory");
  auto relative = run_process_step(process_settings({"no-such-govjobd-command"}), make_step());
  CHECK(relative.outcome == StepOutcome::SpawnFailed);
  CHECK(relative.error == "spawn failed: executable 'no-such-govjobd-command' not found in PATH");
  // the program is never substituted: a target cannot choose what runs
  auto placeholder = run_process_step(process_settings({"{target}"}), make_step(30, nlohmann::json::object(), "sh"));
  CHECK(placeholder.error == "spawn failed: executable '{target}' not found in PATH");
  auto not_executable = run_process_step(process_settings({"/etc/hostname"}), make_step());
  CHECK(not_executable.outcome == StepOutcome::SpawnFailed);
  CHECK(zombie_children().empty());
}

TEST_CASE("50 children at once all complete", "[process]") {
  process::prepare_process_for_children();
  boost::asio::io_context io;
  executors::ProcessExecutor executor(io, process_settings({"/bin/sh", "-c", "sleep 0.3; echo $GOVJOBD_STEP_INDEX"}),
                                     test_reaper());
  std::map<int, executors::StepExecution> results;
  for (int i = 0; i < 50; ++i) {
    auto step = make_step();
    step.step_index = i;
    executor.start(step, {"job", "contract", "w", std::nullopt, nullptr, nullptr},
                   [&results, i](executors::StepExecution r) { results.emplace(i, std::move(r)); });
  }
  const auto started = std::chrono::steady_clock::now();
  io.run_for(60s);
  REQUIRE(results.size() == 50);
  for (auto& [i, r] : results) {
    CHECK(r.outcome == StepOutcome::Completed);
    CHECK(r.output.at("stdout") == std::to_string(i) + "\n");
  }
  CHECK(std::chrono::steady_clock::now() - started < 10s);  // concurrent, not 50 x 0.3 s one by one... generously
  CHECK(zombie_children().empty());
}

TEST_CASE("no file descriptor of the daemon leaks into a step", "[process]") {
  const int leaked = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  REQUIRE(leaked >= 0);
  REQUIRE(::dup2(leaked, 77) == 77);
  auto r = run_process_step(process_settings({"/bin/ls", "-1", "/proc/self/fd"}), make_step());
  ::close(77);
  ::close(leaked);
  CHECK(r.outcome == StepOutcome::Completed);
  // 0, 1, 2, and the directory ls itself opened to list them
  CHECK(lines(r.output.at("stdout")) == std::vector<std::string>{"0", "1", "2", "3"});
}

TEST_CASE("arguments with shell metacharacters reach the child verbatim", "[process]") {
  const std::vector<std::string> hostile{"; rm -rf /", "$(touch /tmp/govjobd-pwned)", "`id`", "'single' \"double\"",
                                         "a && b || c", "*", "$HOME", "line\\nbreak"};
  std::vector<std::string> command{"/usr/bin/printf", "%s\\n", "{target}", "pre-{step_index}-post"};
  command.insert(command.end(), hostile.begin(), hostile.end());
  auto r = run_process_step(process_settings(command), make_step(30, nlohmann::json::object(), "pay; $(reboot)"));
  REQUIRE(r.outcome == StepOutcome::Completed);
  std::vector<std::string> expected{"pay; $(reboot)", "pre-0-post"};
  expected.insert(expected.end(), hostile.begin(), hostile.end());
  CHECK(lines(r.output.at("stdout")) == expected);
  CHECK_FALSE(std::filesystem::exists("/tmp/govjobd-pwned"));
}

TEST_CASE("the step arrives as JSON on stdin and in an allowlisted environment", "[process]") {
  ::setenv("GOVJOBD_TEST_ALLOWED", "yes", 1);
  ::setenv("GOVJOBD_TEST_SECRET", "must-not-pass", 1);
  auto settings = process_settings({"/bin/sh", "-c", "cat; echo; env | sort"});
  settings.env = {"GOVJOBD_TEST_ALLOWED", "PATH"};
  settings.set_env = {{"FIXED", "1"}};
  executors::StepContext context{"11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222",
                                 "worker-1", std::nullopt, nullptr, nullptr};
  auto step = make_step(30, {{"reason", "it's \"maintenance\"; $(x)"}, {"count", 3}}, "payments");
  step.step_index = 4;
  auto r = run_process_step(settings, step, context);
  REQUIRE(r.outcome == StepOutcome::Completed);
  const auto out = lines(r.output.at("stdout"));
  REQUIRE(!out.empty());
  CHECK(nlohmann::json::parse(out[0]) ==
        nlohmann::json{{"job_id", context.job_id}, {"contract_id", context.contract_id}, {"step_index", 4},
                       {"step_type", "test_step"}, {"target", "payments"}, {"parameters", step.parameters}});
  const std::set<std::string> env(out.begin() + 1, out.end());
  CHECK(env.count("GOVJOBD_TEST_ALLOWED=yes"));
  CHECK(env.count("FIXED=1"));
  CHECK(env.count("GOVJOBD_JOB_ID=11111111-1111-1111-1111-111111111111"));
  CHECK(env.count("GOVJOBD_CONTRACT_ID=22222222-2222-2222-2222-222222222222"));
  CHECK(env.count("GOVJOBD_STEP_INDEX=4"));
  CHECK(env.count("GOVJOBD_STEP_TYPE=test_step"));
  CHECK(env.count("GOVJOBD_TARGET=payments"));
  CHECK(env.count("GOVJOBD_PARAM_REASON=it's \"maintenance\"; $(x)"));
  CHECK(env.count("GOVJOBD_PARAM_COUNT=3"));
  CHECK(env.count("GOVJOBD_PARAMETERS=" + step.parameters.dump()));
  for (const auto& line : env) CHECK(line.find("must-not-pass") == std::string::npos);
}

TEST_CASE("parameters whose keys become one environment variable fail the step, nothing run, and the operator's set_env "
          "is not overridden by a parameter", "[process]") {
  const auto marker = std::filesystem::temp_directory_path() / ("govjobd-ran-" + testing::unique_marker());
  auto settings = process_settings({"/bin/sh", "-c", "touch " + marker.string()});
  auto r = run_process_step(settings, make_step(30, {{"dry_run", true}, {"dry~run", false}}));
  CHECK(r.outcome == StepOutcome::Failed);
  CHECK(r.error == "parameters: keys 'dry_run' and 'dry~run' both become the environment variable GOVJOBD_PARAM_DRY_RUN; "
                   "nothing run");
  CHECK_FALSE(std::filesystem::exists(marker));
  settings.command = {"/bin/sh", "-c", "echo \"$GOVJOBD_PARAM_MODE\""};
  settings.set_env = {{"GOVJOBD_PARAM_MODE", "operator"}};
  auto fixed = run_process_step(settings, make_step(30, {{"mode", "job"}}));
  REQUIRE(fixed.outcome == StepOutcome::Completed);
  CHECK(fixed.output.at("stdout") == "operator\n");
}

TEST_CASE("output: json takes the last stdout line as the output object", "[process]") {
  auto settings = process_settings({"/bin/sh", "-c", "echo progress; echo '{\"changed\": true, \"count\": 2}'"});
  settings.output = "json";
  auto r = run_process_step(settings, make_step());
  CHECK(r.outcome == StepOutcome::Completed);
  CHECK(r.output == nlohmann::json{{"changed", true}, {"count", 2}});
  settings.command = {"/bin/sh", "-c", "echo not json"};
  auto bad = run_process_step(settings, make_step());
  CHECK(bad.outcome == StepOutcome::Failed);
  CHECK(bad.error == "output: the last line of stdout is not a JSON object");
}

TEST_CASE("a workdir and the example capability script", "[process]") {
  const auto dir = std::filesystem::temp_directory_path() / ("govjobd-cap-" + unique_marker());
  auto settings = process_settings({std::string(GOVJOBD_SOURCE_DIR) + "/executors/examples/capability.sh", "disable",
                                    "{target}"});
  settings.set_env = {{"CAPABILITY_STATE_DIR", dir.string()}};
  settings.output = "json";
  settings.workdir = "/";
  auto r = run_process_step(settings, make_step());
  REQUIRE(r.outcome == StepOutcome::Completed);
  CHECK(r.output == nlohmann::json{{"capability", "payments"}, {"previous", "unknown"}, {"state", "disabled"}});
  settings.command[1] = "enable";
  CHECK(run_process_step(settings, make_step()).output.at("previous") == "disabled");
  std::filesystem::remove_all(dir);
}

// sanitizing, capture bounds and tails: tests/process/output_text_test.cpp
TEST_CASE("output helpers: placeholders", "[process]") {
  using namespace executors;
  CHECK(substitute_placeholders("--id={job_id}/{unknown}/{target}", {{"job_id", "J"}, {"target", "{job_id}"}}) ==
        "--id=J/{unknown}/{job_id}");
}

TEST_CASE("a step runs as the configured user and group when the daemon is root", "[process]") {
  auto settings = process_settings({"/bin/sh", "-c", "id -u; id -g"});
  settings.user = "nobody";
  settings.group = "nogroup";
  if (::geteuid() != 0) {
    auto r = run_process_step(settings, make_step());
    CHECK(r.outcome == StepOutcome::SpawnFailed);
    CHECK_THAT(r.error, Catch::Contains("govjobd is not running as root"));
    return;
  }
  auto r = run_process_step(settings, make_step());
  REQUIRE(r.outcome == StepOutcome::Completed);
  CHECK(lines(r.output.at("stdout")) == std::vector<std::string>{"65534", "65534"});
}

TEST_CASE("a group without a user is refused by the executor too", "[process]") {
  boost::asio::io_context io;
  auto settings = process_settings({"/bin/true"});
  settings.group = "nogroup";
  CHECK_THROWS_WITH(executors::ProcessExecutor(io, settings, test_reaper()),
                    "group 'nogroup' without a user: the step would keep the daemon's user");
}

TEST_CASE("the workdir is entered as the step's user - one it cannot reach fails the step clearly", "[process]") {
  if (::geteuid() != 0) return;  // switching users needs root; the non-root case is covered above
  const auto dir = std::filesystem::temp_directory_path() / ("govjobd-private-" + unique_marker());
  std::filesystem::create_directory(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);  // root's alone: 0700
  auto settings = process_settings({"/bin/pwd"});
  settings.user = "nobody";
  settings.workdir = dir.string();
  auto refused = run_process_step(settings, make_step());
  CHECK(refused.outcome == StepOutcome::SpawnFailed);
  CHECK(refused.error == "spawn failed: cannot enter workdir '" + dir.string() + "' as user 'nobody': Permission denied");
  CHECK(zombie_children().empty());
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all | std::filesystem::perms::others_exec |
                                        std::filesystem::perms::group_exec);
  auto entered = run_process_step(settings, make_step());
  CHECK(entered.outcome == StepOutcome::Completed);
  CHECK(entered.output.at("stdout") == dir.string() + "\n");
  std::filesystem::remove_all(dir);
}

TEST_CASE("each stream is capped on its own at a configured max_output_bytes - a stderr flood alone, a stdout flood alone", "[process]") {
  auto settings = process_settings({"/bin/sh", "-c", "head -c 5000000 /dev/zero | tr '\\0' e >&2; echo out"});
  settings.max_output_bytes = 1000;
  const long before = rss_kib();
  auto err = run_process_step(settings, make_step());
  CHECK(err.outcome == StepOutcome::Completed);
  CHECK(err.output.at("stderr").get<std::string>() == std::string(1000, 'e'));
  CHECK(err.output.at("stderr_bytes") == 5000000);
  CHECK(err.output.at("stdout") == "out\n");
  CHECK(err.output.at("stdout_bytes") == 4);
  CHECK(err.output.at("truncated") == true);

  settings.command = {"/bin/sh", "-c", "head -c 5000000 /dev/zero | tr '\\0' o; echo err >&2"};
  auto out = run_process_step(settings, make_step());
  CHECK(out.outcome == StepOutcome::Completed);
  CHECK(out.output.at("stdout").get<std::string>() == std::string(1000, 'o'));
  CHECK(out.output.at("stdout_bytes") == 5000000);
  CHECK(out.output.at("stderr") == "err\n");
  CHECK(out.output.at("truncated") == true);
  CHECK(rss_kib() - before < 8 * 1024);  // 10 MB went through; the kept 2 KB and one shared read buffer stayed
}

TEST_CASE("running steps that print nothing hold no output buffers", "[process][no-sanitize]") {
  process::prepare_process_for_children();
  boost::asio::io_context io;
  executors::ProcessExecutor executor(io, process_settings({"/bin/sleep", "2"}), test_reaper());
  // one step first: the loop's own allocations (signal pipe, child bookkeeping) are not the steps'
  run_process_step(process_settings({"/bin/true"}), make_step());
  const int steps = 200;
  int spawned = 0, done = 0;
  long during = 0;
  const long before = rss_kib();
  for (int i = 0; i < steps; ++i) {
    executors::StepContext context{"job", "contract", "w", std::nullopt, nullptr, nullptr};
    context.on_spawned = [&] {
      if (++spawned == steps) during = rss_kib();
    };
    executor.start(make_step(), context, [&](executors::StepExecution r) {
      CHECK(r.outcome == StepOutcome::Completed);
      ++done;
    });
  }
  io.run_for(60s);
  REQUIRE(done == steps);
  REQUIRE(during > 0);
  INFO("RSS " << before << " KiB before, " << during << " KiB with " << steps << " steps running");
  CHECK((during - before) / steps < 24);  // KiB per running step (each held 2 x 64 KiB of read buffers before)
}

TEST_CASE("a spawn without descriptors left fails its step with a resource reason, and the next spawn succeeds", "[process][no-sanitize]") {
  process::prepare_process_for_children();
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  boost::asio::io_context io;
  executors::ProcessExecutor executor(io, process_settings({"/bin/true"}), test_reaper());
  std::optional<executors::StepExecution> starved;
  boost::asio::steady_timer reactor(io);  // the loop's own descriptors (epoll, eventfd, timerfd) exist before counting
  const int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // the lowest free descriptor: room for 2 more
  REQUIRE(probe >= 0);
  ::close(probe);
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(probe + 2);  // stdin's pipe opens, stdout's cannot
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  executor.start(make_step(), {"job", "contract", "w", std::nullopt, nullptr, nullptr},
                 [&](executors::StepExecution r) { starved = std::move(r); });
  ::setrlimit(RLIMIT_NOFILE, &saved);
  io.run_for(10s);
  REQUIRE(starved);
  CHECK(starved->outcome == StepOutcome::SpawnFailed);
  CHECK(starved->error == "spawn failed: too many open files");
  CHECK(starved->resource_shortage);
  auto next = run_process_step(process_settings({"/bin/true"}), make_step());
  CHECK(next.outcome == StepOutcome::Completed);
  CHECK_FALSE(next.resource_shortage);
  const int after = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // the failed spawn closed what it had opened
  CHECK(after == probe);
  ::close(after);
}
