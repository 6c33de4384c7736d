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
#include "health/probe_base.hpp"
#include "process/runner.hpp"

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

// Runs its argv (never a shell) with PATH and LANG from the daemon's environment and nothing on stdin, and
// rates how it ended. It has no deadline of its own: the probe's timeout stops it.
class CommandProbe : public ProbeBase {
 public:
  using Rate = std::function<ProbeResult(const process::Result&)>;
  CommandProbe(asio::io_context& io, const config::ProbeSettings& s, config::Duration timeout,
               std::vector<std::string> command, std::shared_ptr<process::ChildReaper> reaper, Rate rate)
      : ProbeBase(io, s, timeout), command_(std::move(command)), reaper_(std::move(reaper)), rate_(std::move(rate)) {}

 private:
  void start(std::shared_ptr<Attempt> attempt) override {
    process::Spec spec;
    spec.argv = command_;
    spec.env = process::inherited_environment({"PATH", "LANG"});
    spec.kill_grace = std::chrono::milliseconds(200);
    spec.max_output_bytes = 16 * 1024;
    const process::Handle handle = process::run(io_, reaper_, std::move(spec), [attempt, rate = rate_](process::Result r) {
      if (r.spawn_error) return attempt->fail(*r.spawn_error);
      if (r.stopped_by == process::StopReason::Stopped) return;  // the timeout reported it
      ProbeResult rated = rate(r);
      attempt->finish(rated.state, std::move(rated.details));
    });
    attempt->on_timeout = [handle] { handle.stop(); };
  }

  std::vector<std::string> command_;
  std::shared_ptr<process::ChildReaper> reaper_;
  Rate rate_;
};

ProbeResult rate_command(const process::Result& r, const std::vector<int>& degraded_codes) {
  ProbeResult out;
  const int code = r.exit_code.value_or(-1);
  out.state = code == 0 ? HealthState::Healthy
              : std::find(degraded_codes.begin(), degraded_codes.end(), code) != degraded_codes.end()
                  ? HealthState::Degraded
                  : HealthState::Blocked;
  out.details = {{"exit_code", r.exit_code ? nlohmann::json(code) : nlohmann::json()}};
  if (const std::string error = process::exit_failure(r); !error.empty()) out.details["error"] = error;
  // optional JSON on the last stdout line: {"state": "...", "details": {...}}
  const std::string stdout_text = process::sanitize_output(r.out.kept());
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

ProbeResult rate_unit(const process::Result& r) {
  std::string state = process::sanitize_output(r.out.kept());
  while (!state.empty() && (state.back() == '\n' || state.back() == ' ')) state.pop_back();
  ProbeResult out;
  out.state = state == "active" ? HealthState::Healthy
              : (state == "activating" || state == "reloading") ? HealthState::Degraded
                                                                  : HealthState::Blocked;
  out.details = {{"active_state", state.empty() ? "unknown" : state}};
  if (const std::string error = process::exit_failure(r); state.empty() && !error.empty()) out.details["error"] = error;
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

std::unique_ptr<Probe> make_probe(asio::io_context& io, const config::ProbeSettings& s, config::Duration default_timeout,
                                  std::shared_ptr<process::ChildReaper> reaper) {
  const config::Duration timeout = s.timeout.value_or(default_timeout);
  if (s.kind == "command")
    return std::make_unique<CommandProbe>(io, s, timeout, s.command, std::move(reaper),
                                          [codes = s.degraded_exit_codes](const process::Result& r) {
                                            return rate_command(r, codes);
                                          });
  if (s.kind == "systemd_unit")
    return std::make_unique<CommandProbe>(io, s, timeout, std::vector<std::string>{"systemctl", "is-active", s.unit},
                                          std::move(reaper), rate_unit);
  if (s.kind == "tcp") return std::make_unique<TcpProbe>(io, s, timeout);
  if (s.kind == "file") return std::make_unique<FileProbe>(io, s, timeout);
  if (s.kind == "http") return make_http_probe(io, s, timeout);
  throw std::invalid_argument("unknown probe kind '" + s.kind + "'");
}

}  // namespace govjobd::health
