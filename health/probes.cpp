// The probe kinds: command, tcp, file, systemd_unit (http is in http_probe.cpp).
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "daemon/model/jsonb_safe.hpp"
#include "executors/process_executor.hpp"
#include "health/probe_base.hpp"

namespace govjobd::health {

namespace asio = boost::asio;

void ProbeBase::sample(std::function<void(ProbeResult)> done) {
  auto attempt = std::make_shared<Attempt>(io_, std::move(done), settings_.on_error == "DEGRADED"
                                                                     ? HealthState::Degraded
                                                                     : HealthState::Blocked);
  attempt->timer.expires_after(timeout_);
  attempt->timer.async_wait([attempt, timeout = timeout_](const boost::system::error_code& ec) {
    if (ec) return;
    attempt->fail(fmt::format("probe timed out after {}ms", timeout.count()));
    if (attempt->on_timeout) attempt->on_timeout();
  });
  start(attempt);
}

ProbeBase::Attempt::Attempt(asio::io_context& io, std::function<void(ProbeResult)> done, HealthState on_error)
    : timer(io), io_(io), done_(std::move(done)), on_error_(on_error) {}

void ProbeBase::Attempt::finish(HealthState state, nlohmann::json details) {
  if (finished_) return;
  finished_ = true;
  timer.cancel();
  ProbeResult r{state, std::move(details),
                std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_)};
  asio::post(io_, [done = std::move(done_), r = std::move(r)]() mutable { done(std::move(r)); });
}

void ProbeBase::Attempt::fail(const std::string& error) { finish(on_error_, {{"error", error}}); }

namespace {

class CommandProbe : public ProbeBase {
 public:
  CommandProbe(asio::io_context& io, const config::ProbeSettings& s, config::Duration timeout,
               std::vector<std::string> command, std::function<ProbeResult(const executors::StepExecution&)> rate)
      : ProbeBase(io, s, timeout), executor_(io, process_settings(std::move(command))), rate_(std::move(rate)) {}

 private:
  static config::ExecutorSettings process_settings(std::vector<std::string> command) {
    config::ExecutorSettings e;
    e.kind = "process";
    e.command = std::move(command);
    e.env = {"PATH", "LANG"};
    e.kill_grace = std::chrono::milliseconds(200);
    e.max_output_bytes = 16 * 1024;
    return e;
  }

  void start(std::shared_ptr<Attempt> attempt) override {
    auto cancel = std::make_shared<executors::CancelSignal>();
    attempt->on_timeout = [cancel] { cancel->request("probe timeout"); };
    executors::StepContext context{"", "", "health", std::nullopt, cancel, nullptr};
    const model::JobStep step{0, "health_probe", "", nlohmann::json::object(), 3600};
    executor_.start(step, context, [attempt, rate = rate_](executors::StepExecution r) {
      if (r.outcome == executors::StepOutcome::SpawnFailed) return attempt->fail(r.error);
      if (r.outcome == executors::StepOutcome::Cancelled) return;  // the timeout reported it
      ProbeResult rated = rate(r);
      attempt->finish(rated.state, std::move(rated.details));
    });
  }

  executors::ProcessExecutor executor_;
  std::function<ProbeResult(const executors::StepExecution&)> rate_;
};

ProbeResult rate_command(const executors::StepExecution& r, const std::vector<int>& degraded_codes) {
  ProbeResult out;
  const int code = r.exit_code.value_or(-1);
  out.state = code == 0 ? HealthState::Healthy
              : std::find(degraded_codes.begin(), degraded_codes.end(), code) != degraded_codes.end()
                  ? HealthState::Degraded
                  : HealthState::Blocked;
  out.details = {{"exit_code", r.exit_code ? nlohmann::json(code) : nlohmann::json()}};
  if (!r.error.empty()) out.details["error"] = r.error;
  // optional JSON on the last stdout line: {"state": "...", "details": {...}}
  const std::string stdout_text = r.output.value("stdout", "");
  const auto end = stdout_text.find_last_not_of("\n ");
  if (end != std::string::npos) {
    const auto start = stdout_text.rfind('\n', end);
    auto parsed = nlohmann::json::parse(stdout_text.substr(start == std::string::npos ? 0 : start + 1, end + 1),
                                        nullptr, false);
    if (parsed.is_object()) {
      if (auto s = parsed.contains("state") && parsed["state"].is_string()
                       ? parse_health_state(parsed["state"].get<std::string>())
                       : std::nullopt)
        out.state = worst(out.state, *s);
      if (parsed.contains("details")) {
        out.details["reported"] = parsed["details"];
        model::make_jsonb_safe(out.details["reported"]);  // storable in the job's snapshots
      }
    }
  }
  return out;
}

ProbeResult rate_unit(const executors::StepExecution& r) {
  std::string state = r.output.value("stdout", "");
  while (!state.empty() && (state.back() == '\n' || state.back() == ' ')) state.pop_back();
  ProbeResult out;
  out.state = state == "active" ? HealthState::Healthy
              : (state == "activating" || state == "reloading") ? HealthState::Degraded
                                                                  : HealthState::Blocked;
  out.details = {{"active_state", state.empty() ? "unknown" : state}};
  if (state.empty() && !r.error.empty()) out.details["error"] = r.error;
  return out;
}

class TcpProbe : public ProbeBase {
 public:
  using ProbeBase::ProbeBase;

 private:
  struct Io {
    explicit Io(asio::io_context& io) : resolver(io), socket(io) {}
    asio::ip::tcp::resolver resolver;
    asio::ip::tcp::socket socket;
  };

  void start(std::shared_ptr<Attempt> attempt) override {
    auto io = std::make_shared<Io>(io_);
    attempt->on_timeout = [io] {
      io->resolver.cancel();
      boost::system::error_code ignored;
      io->socket.close(ignored);
    };
    const std::string where = fmt::format("{}:{}", settings_.host, settings_.port);
    io->resolver.async_resolve(settings_.host, std::to_string(settings_.port),
        [attempt, io, where](const boost::system::error_code& ec, asio::ip::tcp::resolver::results_type results) {
          if (ec) return attempt->fail(fmt::format("cannot resolve {}: {}", where, ec.message()));
          asio::async_connect(io->socket, results,
                              [attempt, io, where](const boost::system::error_code& ec2, const asio::ip::tcp::endpoint&) {
                                if (ec2) return attempt->fail(fmt::format("cannot connect to {}: {}", where, ec2.message()));
                                attempt->finish(HealthState::Healthy, {{"connected", where}});
                              });
        });
  }
};

class FileProbe : public ProbeBase {
 public:
  using ProbeBase::ProbeBase;

 private:
  void start(std::shared_ptr<Attempt> attempt) override {
    struct stat st {};
    if (::stat(settings_.path.c_str(), &st) != 0)
      return attempt->finish(HealthState::Blocked, {{"path", settings_.path}, {"error", std::strerror(errno)}});
    const auto modified = std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec);
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - modified);
    nlohmann::json details{{"path", settings_.path}, {"age_seconds", age.count()}};
    if (settings_.max_age && age > *settings_.max_age) {
      details["max_age_seconds"] = std::chrono::duration_cast<std::chrono::seconds>(*settings_.max_age).count();
      return attempt->finish(HealthState::Blocked, std::move(details));
    }
    attempt->finish(HealthState::Healthy, std::move(details));
  }
};

}  // namespace

std::unique_ptr<Probe> make_http_probe(asio::io_context& io, const config::ProbeSettings& s, config::Duration timeout);

std::unique_ptr<Probe> make_probe(asio::io_context& io, const config::ProbeSettings& s, config::Duration default_timeout) {
  const config::Duration timeout = s.timeout.value_or(default_timeout);
  if (s.kind == "command")
    return std::make_unique<CommandProbe>(io, s, timeout, s.command,
                                          [codes = s.degraded_exit_codes](const executors::StepExecution& r) {
                                            return rate_command(r, codes);
                                          });
  if (s.kind == "systemd_unit")
    return std::make_unique<CommandProbe>(io, s, timeout, std::vector<std::string>{"systemctl", "is-active", s.unit},
                                          rate_unit);
  if (s.kind == "tcp") return std::make_unique<TcpProbe>(io, s, timeout);
  if (s.kind == "file") return std::make_unique<FileProbe>(io, s, timeout);
  if (s.kind == "http") return make_http_probe(io, s, timeout);
  throw std::invalid_argument("unknown probe kind '" + s.kind + "'");
}

}  // namespace govjobd::health
