#include "daemon/run/reload.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/run/metrics_server.hpp"

namespace govjobd::run {

std::vector<std::string> keys_needing_restart(const config::Settings& running, const config::Settings& next) {
  std::vector<std::string> keys;
  // database.url holds the password of database.password_file by now: comparing it covers both
  if (next.database.url != running.database.url) keys.push_back("database.url (or database.password_file)");
  if (next.database.jobs_schema != running.database.jobs_schema) keys.push_back("database.jobs_schema");
  if (!(next.contract == running.contract)) keys.push_back("contract");
  if (next.worker.id != running.worker.id) keys.push_back("worker.id");
  if (next.logging.format != running.logging.format) keys.push_back("logging.format");
  // the endpoint's gauges are fed only when it was configured at start
  if (running.metrics.listen.empty() && !next.metrics.listen.empty()) keys.push_back("metrics.listen (off at start)");
  return keys;
}

namespace {

void keep_running_values(const config::Settings& running, config::Settings& next) {
  next.database = running.database;
  next.contract = running.contract;
  next.worker.id = running.worker.id;
  next.logging.format = running.logging.format;
  if (running.metrics.listen.empty()) next.metrics.listen.clear();
}

void move_metrics(boost::asio::io_context& io, const std::string& from, config::Settings& next,
                  std::unique_ptr<MetricsServer>& metrics) {
  if (!metrics || next.metrics.listen == from) return;
  metrics->stop();  // first: the new address may be the same port on another host, or every address
  if (next.metrics.listen.empty()) {
    metrics.reset();
    return spdlog::info("reload: metrics endpoint on {} closed (metrics.listen removed)", from);
  }
  try {
    metrics = std::make_unique<MetricsServer>(io, next.metrics.listen, metrics->renderer());
    return spdlog::info("reload: metrics moved from {} to http://{}/metrics", from, next.metrics.listen);
  } catch (const std::exception& e) {
    spdlog::error("reload: {}; metrics stay on {}", e.what(), from);
  }
  next.metrics.listen = from;
  try {
    metrics = std::make_unique<MetricsServer>(io, from, metrics->renderer());
  } catch (const std::exception& e) {
    spdlog::error("reload: {}; no metrics endpoint until a restart", e.what());
    metrics.reset();
  }
}

}  // namespace

void apply_reload(boost::asio::io_context& io, const config::Settings& running, config::Settings& next,
                  std::unique_ptr<MetricsServer>& metrics) {
  if (const auto keys = keys_needing_restart(running, next); !keys.empty())
    spdlog::warn("reload: changed, applies only after a restart (systemctl restart govjobd): {}", fmt::join(keys, ", "));
  keep_running_values(running, next);
  move_metrics(io, running.metrics.listen, next, metrics);
}

}  // namespace govjobd::run
