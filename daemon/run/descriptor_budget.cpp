#include "daemon/run/descriptor_budget.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "process/descriptors.hpp"

#include "daemon/run/metrics_server.hpp"

namespace govjobd::run {

namespace {

constexpr int kDatabase = 3 + 1;  // claims, writes, LISTEN; the LISTEN socket's dup() watched by the loop
constexpr int kStdio = 3;
constexpr int kEventLoop = 5;     // epoll, eventfd, timerfd, the signal_set's pipe
constexpr int kTransient = 3 + 2 + 3;  // a spawn's child pipe ends; a /proc scan; a config_update's lock, temp and target

int probe_descriptors(const config::ProbeSettings& p) {
  if (p.kind == "command" || p.kind == "systemd_unit") return DescriptorBudget::kPerStep;  // a process, as a step
  return 1;  // a socket, or the file being checked
}

}  // namespace

std::string DescriptorBudget::parts() const {
  return fmt::format("{} running steps x {}, health probes {}, database {}, metrics endpoint {}, the daemon's own {}, margin {}",
                     concurrency, kPerStep, probes, database, metrics, own, margin);
}

DescriptorBudget descriptor_budget(const config::Settings& settings) {
  DescriptorBudget b;
  b.concurrency = settings.worker.concurrency;
  b.steps = b.concurrency * DescriptorBudget::kPerStep;
  for (const auto& [name, probe] : settings.health.capabilities) b.probes += probe_descriptors(probe);
  if (settings.health.system.enabled) b.probes += 1;  // /proc files and statvfs, one at a time
  b.database = kDatabase;
  if (!settings.metrics.listen.empty()) b.metrics = 1 + static_cast<int>(MetricsServer::kMaxConnections) + 1;
  b.own = kStdio + kEventLoop + kTransient;
  return b;
}

std::optional<std::string> descriptor_shortfall(const DescriptorBudget& budget, long long limit) {
  if (budget.total() <= limit) return std::nullopt;
  return fmt::format(
      "worker.concurrency {} needs {} open files ({}) but RLIMIT_NOFILE allows {}: raise the limit (LimitNOFILE= in "
      "the unit) to at least {} or lower worker.concurrency to at most {}",
      budget.concurrency, budget.total(), budget.parts(), limit, budget.total(),
      std::max(0LL, (limit - (budget.total() - budget.steps)) / DescriptorBudget::kPerStep));
}

// The soft limit goes up to the hard one; a concurrency the hard limit cannot cover is refused (at start, and
// on reload) rather than met with EMFILE under load.
bool open_files_cover(const config::Settings& settings) {
  const auto files = process::raise_open_files_limit();
  if (files.soft != files.before) spdlog::info("open files: soft limit raised from {} to {}", files.before, files.soft);
  const auto budget = descriptor_budget(settings);
  if (auto shortfall = descriptor_shortfall(budget, files.soft)) {
    spdlog::error("{}: {}", settings.source, *shortfall);
    return false;
  }
  spdlog::debug("open files: {} budgeted ({}) of {}", budget.total(), budget.parts(), files.soft);
  return true;
}

}  // namespace govjobd::run
