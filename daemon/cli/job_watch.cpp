// govjobd jobs watch: the transitions table read forward every --interval, one line per transition.
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <set>

#include <fmt/format.h>

#include "config/duration.hpp"
#include "daemon/cli/command_support.hpp"
#include "daemon/cli/commands.hpp"
#include "daemon/cli/text_table.hpp"
#include "daemon/model/job_status.hpp"
#include "daemon/run/exit_codes.hpp"

namespace govjobd::cli {

namespace {

using namespace std::chrono_literals;

constexpr int kBatch = 1000;
// A transaction that got its transition_id before another but committed after it is still printed when no
// more than this many ids were committed past it meanwhile (identity values are taken, not committed, in order).
constexpr long long kLateWindow = 200;

std::chrono::milliseconds watch_interval(const std::string& text) {
  const auto d = config::parse_duration(text);
  if (!d || *d < 100ms || *d > 60s)
    throw InputError(fmt::format("--interval '{}': expected a duration from 100ms to 60s", text));
  return *d;
}

// The transitions not printed yet, oldest first.
class TransitionFeed {
 public:
  TransitionFeed(store::Store& store, std::optional<std::string> job_id, long long after)
      : store_(store), job_id_(std::move(job_id)), floor_(after) {}

  // Prints what is new; false when a batch was full (more is waiting).
  bool print_new() {
    const long long from = seen_.empty() ? floor_ : std::max(floor_, *seen_.rbegin() - kLateWindow);
    const auto rows = store_.transitions_after(from, job_id_, kBatch);
    for (const auto& t : rows)
      if (seen_.insert(t.transition_id).second) print(t);
    while (seen_.size() > 2 * kLateWindow) {
      floor_ = *seen_.begin();
      seen_.erase(seen_.begin());
    }
    std::fflush(stdout);
    return rows.size() < static_cast<std::size_t>(kBatch);
  }

 private:
  static void print(const store::TransitionRow& t) {
    const std::string step = t.step_index ? fmt::format("  step {}", *t.step_index) : "";
    fmt::print("{}\n", one_line(fmt::format("{}  {}  {} -> {}{}  by {}  {}",
                                            second_time(t.transitioned_at ? model::format_timestamp(*t.transitioned_at) : ""),
                                            t.job_id.substr(0, 8), t.from_status.value_or("-"), t.to_status, step,
                                            t.transitioned_by, t.reason),
                                1'000'000));
  }
  store::Store& store_;
  std::optional<std::string> job_id_;
  long long floor_;
  std::set<long long> seen_;
};

// Waits up to `interval` for SIGINT or SIGTERM (blocked, so only here are they taken); true when one came.
bool stop_requested(const sigset_t& signals, std::chrono::milliseconds interval) {
  const timespec ts{static_cast<time_t>(interval.count() / 1000), static_cast<long>(interval.count() % 1000) * 1'000'000};
  const int got = ::sigtimedwait(&signals, nullptr, &ts);
  return got == SIGINT || got == SIGTERM;
}

// Whether the watched job has ended: terminal, or gone (InputError).
bool ended(const std::optional<std::string>& job_id, const std::optional<std::string>& status) {
  if (!job_id) return false;
  if (!status) throw InputError(fmt::format("job {} no longer exists", *job_id));
  const auto parsed = model::parse_job_status(*status);
  return parsed && model::is_terminal(*parsed);
}

}  // namespace

int command_jobs_watch(const CommonOptions& common, const WatchOptions& options) {
  const auto interval = watch_interval(options.interval);
  const auto store = open_store(common);
  store->set_timeouts({10s, 5s});  // a read never holds up Ctrl-C for long
  std::optional<std::string> job_id;
  if (options.job_id) job_id = resolve_job_id(*store, *options.job_id);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);
  // one job: its whole history first; every job: from now on
  TransitionFeed feed(*store, job_id, job_id ? 0 : store->transition_last_id());
  if (job_id)
    fmt::print(stderr, "watching job {} until it ends (Ctrl-C to stop)\n", *job_id);
  else
    fmt::print(stderr, "watching every job's transitions from now on (Ctrl-C to stop)\n");
  for (;;) {
    const auto status = job_id ? store->job_status(*job_id) : std::nullopt;  // read before its transitions
    while (!feed.print_new()) {
    }
    if (ended(job_id, status)) return run::kExitOk;
    if (stop_requested(signals, interval)) return run::kExitOk;
  }
}

}  // namespace govjobd::cli
