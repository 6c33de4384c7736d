#include "config/health_settings_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "config/http_url.hpp"

namespace govjobd::config {

namespace {

using std::chrono::milliseconds;

void read_threshold(MapReader& parent, const char* key, Threshold& t, bool higher_is_worse, double max) {
  auto m = parent.map(key);
  if (!m) return;
  m->number("degraded", t.degraded, 0, max);
  m->number("blocked", t.blocked, 0, max);
  m->finish();
  if (higher_is_worse ? t.blocked < t.degraded : t.blocked > t.degraded)
    m->sink().add(m->node().Mark(), m->path(),
                  fmt::format("blocked must be {} than degraded", higher_is_worse ? "no lower" : "no higher"));
}

void read_system(MapReader& m, SystemHealthSettings& s) {
  m.boolean("enabled", s.enabled);
  read_threshold(m, "load_per_cpu", s.load_per_cpu, true, 1000);
  read_threshold(m, "memory_available_pct", s.memory_available_pct, false, 100);
  read_threshold(m, "disk_free_pct", s.disk_free_pct, false, 100);
  m.string_list("disks", s.disks);
  m.finish();
}

void require(MapReader& m, bool present, const char* key, const std::string& kind) {
  if (!present) m.sink().add(m.node().Mark(), m.path() + "." + key, fmt::format("required for a {} probe", kind));
}

// What is wrong with a ca_file ("" when nothing): checked at load so that a typo fails check-config instead
// of every sample. Its certificates are parsed when the probe starts (a bad one fails each sample, naming it).
std::string ca_file_problem(const std::string& path) {
  if (!path.starts_with('/')) return fmt::format("expected an absolute path, got '{}'", path);
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
    return fmt::format("{} is not a regular file", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return fmt::format("cannot read {}: {}", path, std::strerror(errno));
  constexpr std::size_t kMaxCaFile = 16 << 20;  // far beyond any CA bundle; the loader reads no more
  const auto size = std::filesystem::file_size(path, ec);
  std::string text(ec ? 0 : std::min<std::uintmax_t>(size, kMaxCaFile), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    return fmt::format("{} holds no PEM certificate ('-----BEGIN CERTIFICATE-----')", path);
  return "";
}

void check_http(MapReader& m, const ProbeSettings& p) {
  require(m, !p.url.empty(), "url", p.kind);
  std::string error;
  const auto url = p.url.empty() ? std::nullopt : parse_http_url(p.url, error);
  if (!p.url.empty() && !url) m.sink().add(m.node()["url"].Mark(), m.path() + ".url", error);
  const bool tls = url && url->tls;
  for (const char* key : {"ca_file", "tls_verify"})
    if (url && !tls && m.node()[key].IsDefined())
      m.sink().add(m.node()[key].Mark(), m.path() + "." + key, "applies to https:// URLs only");
  if (!tls || p.ca_file.empty()) return;
  if (!p.tls_verify)
    m.sink().add(m.node()["ca_file"].Mark(), m.path() + ".ca_file",
                 "has no effect with tls_verify: false (nothing is verified)");
  else if (const std::string problem = ca_file_problem(p.ca_file); !problem.empty())
    m.sink().add(m.node()["ca_file"].Mark(), m.path() + ".ca_file", problem);
}

void read_probe(MapReader& m, ProbeSettings& p) {
  m.choice("kind", p.kind, {"command", "tcp", "http", "file", "systemd_unit"});
  m.string_list("command", p.command);
  m.integer_list("degraded_exit_codes", p.degraded_exit_codes, 1, 255);
  m.text("host", p.host, false);
  m.integer("port", p.port, 1, 65535);
  m.text("url", p.url, false);
  m.text("ca_file", p.ca_file, false);
  m.boolean("tls_verify", p.tls_verify);
  m.integer_list("healthy_status", p.healthy_status, 100, 599);
  m.integer_list("degraded_status", p.degraded_status, 100, 599);
  m.text("path", p.path, false);
  m.optional_duration("max_age", p.max_age, milliseconds(1));
  m.text("unit", p.unit, false);
  m.optional_duration("timeout", p.timeout, milliseconds(1));
  m.choice("on_error", p.on_error, {"BLOCKED", "DEGRADED"});
  m.finish();
  if (p.kind.empty()) {
    if (!m.node()["kind"].IsDefined()) m.sink().add(m.node().Mark(), m.path() + ".kind", "missing");
  } else if (p.kind == "command") {
    require(m, !p.command.empty(), "command", p.kind);
  } else if (p.kind == "tcp") {
    require(m, !p.host.empty(), "host", p.kind);
    require(m, p.port != 0, "port", p.kind);
  } else if (p.kind == "http") {
    check_http(m, p);
  } else if (p.kind == "file") {
    require(m, !p.path.empty(), "path", p.kind);
  } else if (p.kind == "systemd_unit") {
    require(m, !p.unit.empty(), "unit", p.kind);
  }
}

}  // namespace

void read_health(MapReader& m, HealthSettings& h) {
  m.duration("probe_timeout", h.probe_timeout, milliseconds(1));
  m.duration("cache_ttl", h.cache_ttl, milliseconds(0));
  m.string_list("block_on", h.block_on);
  for (const auto& state : h.block_on)
    if (state != "BLOCKED" && state != "DEGRADED")
      m.sink().add(m.node()["block_on"].Mark(), m.path() + ".block_on",
                   fmt::format("expected BLOCKED and optionally DEGRADED, got '{}'", state));
  if (std::find(h.block_on.begin(), h.block_on.end(), "BLOCKED") == h.block_on.end())
    m.sink().add(m.node().Mark(), m.path() + ".block_on", "must contain BLOCKED: a BLOCKED target never runs");
  if (auto s = m.map("system")) read_system(*s, h.system);
  if (auto caps = m.map("capabilities")) {
    for (const std::string& name : caps->names())
      if (auto p = caps->map(name.c_str())) read_probe(*p, h.capabilities[name]);
    caps->finish();
  }
  m.finish();
}

}  // namespace govjobd::config
