#include "daemon/log/logging.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/log/journal_sink.hpp"
#include "daemon/model/timestamp.hpp"
#include "daemon/model/utf8.hpp"

namespace govjobd::log {

namespace {

thread_local std::optional<JobFields> t_fields;

// Formats through `inner` with the payload escaped (escape_line), so that no caller can write a second line
// or a priority prefix: one place for every text and journal line.
class EscapingFormatter : public spdlog::formatter {
 public:
  explicit EscapingFormatter(std::unique_ptr<spdlog::formatter> inner) : inner_(std::move(inner)) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string payload = escape_line(std::string_view(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg escaped = msg;
    escaped.payload = spdlog::string_view_t(payload.data(), payload.size());
    inner_->format(escaped, dest);
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<EscapingFormatter>(inner_->clone());
  }

 private:
  std::unique_ptr<spdlog::formatter> inner_;
};

std::unique_ptr<spdlog::formatter> escaped_pattern(const std::string& pattern) {
  return std::make_unique<EscapingFormatter>(
      std::make_unique<spdlog::pattern_formatter>(pattern, spdlog::pattern_time_type::utc));
}

class JournalFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string line = fmt::format("<{}>{}\n", journal_priority(msg.level),
                                         std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JournalFormatter>(); }
};

class JsonFormatter : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string worker) : worker_(std::move(worker)) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::json j{
        {"ts", model::format_timestamp(std::chrono::time_point_cast<std::chrono::microseconds>(msg.time))},
        {"level", std::string(spdlog::level::to_string_view(msg.level).data(), spdlog::level::to_string_view(msg.level).size())},
        {"msg", std::string(msg.payload.data(), msg.payload.size())},
        {"worker", worker_}};
    if (t_fields) {
      j["job_id"] = t_fields->job_id;
      if (!t_fields->contract_id.empty()) j["contract_id"] = t_fields->contract_id;
      if (t_fields->step_index) j["step_index"] = *t_fields->step_index;
      if (!t_fields->step_type.empty()) j["step_type"] = t_fields->step_type;
      if (!t_fields->from.empty()) j["from"] = t_fields->from;
      if (!t_fields->to.empty()) j["to"] = t_fields->to;
    }
    // every character past ASCII as \uXXXX: a line separator (U+2028, U+0085), a bidi override or a C1
    // control from a row never reaches the file raw, for a reader that splits lines on them
    const std::string line = j.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace) + "\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(worker_); }

 private:
  std::string worker_;
};

// systemd connects stdout and stderr to the same journal stream; we write to stderr.
bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (!stream) return false;
  for (int fd : {2, 1}) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && fmt::format("{}:{}", st.st_dev, st.st_ino) == stream) return true;
  }
  return false;
}

}  // namespace

ScopedJob::ScopedJob(JobFields fields) : previous_(std::move(t_fields)) { t_fields = std::move(fields); }
ScopedJob::~ScopedJob() { t_fields = std::move(previous_); }

const JobFields* current_job() { return t_fields ? &*t_fields : nullptr; }

std::string effective_format(const config::LoggingSettings& settings) {
  if (!settings.format.empty()) return settings.format;
  return stderr_is_journal() ? "journal" : "text";
}

void configure(const config::LoggingSettings& settings, const std::string& worker_id) {
  const std::string format = effective_format(settings);
  auto sink = format == "journal" ? make_journal_sink(worker_id) : std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("govjobd", std::move(sink));
  if (format == "json")  // the JSON encoder escapes every control character of msg and the fields
    logger->set_formatter(std::make_unique<JsonFormatter>(worker_id));
  else if (format == "journal")  // the journal sink's stderr line when journald cannot take an event
    logger->set_formatter(std::make_unique<EscapingFormatter>(std::make_unique<JournalFormatter>()));
  else
    logger->set_formatter(escaped_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v"));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  set_level(settings.level);
}

void set_level(const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); }

void configure_cli() {
  auto logger = std::make_shared<spdlog::logger>("govjobd", std::make_shared<spdlog::sinks::stderr_sink_st>());
  logger->set_formatter(escaped_pattern("%n: %l: %v"));
  spdlog::set_default_logger(logger);
}

namespace {

// What a terminal or a log viewer would act on rather than show, or show as nothing or as a plain space: C1
// controls, the line and paragraph separators, the format characters that reorder or hide text (bidi
// embeddings, overrides and isolates, zero-width ones, the byte order mark, the soft hyphen, the combining
// grapheme joiner, variation selectors, tag characters), the blank fillers, and every space but U+0020 (a
// writer's "govjobd\u00a0host-a" must not read as govjobd's own "govjobd host-a"). Unicode 15's format
// characters (category Cf) and space separators (Zs) are all here, and the object replacement character.
// Migration 23's blanks of a cancel's requester are this same set: pg's blanks test compares them.
bool invisible(char32_t c) {
  return (c >= 0x80 && c <= 0xa0) || c == 0xad || c == 0x34f || (c >= 0x0600 && c <= 0x0605) || c == 0x061c ||
         c == 0x06dd || c == 0x070f || c == 0x0890 || c == 0x0891 || c == 0x08e2 || c == 0x115f || c == 0x1160 ||
         c == 0x1680 || c == 0x17b4 || c == 0x17b5 || (c >= 0x180b && c <= 0x180f) || (c >= 0x2000 && c <= 0x200f) ||
         (c >= 0x2028 && c <= 0x202f) || (c >= 0x205f && c <= 0x206f) || c == 0x2800 || c == 0x3000 || c == 0x3164 ||
         (c >= 0xfe00 && c <= 0xfe0f) || c == 0xfeff || c == 0xffa0 || (c >= 0xfff9 && c <= 0xfffc) ||
         c == 0x110bd || c == 0x110cd || (c >= 0x13430 && c <= 0x1343f) || (c >= 0x1bca0 && c <= 0x1bca3) ||
         (c >= 0x1d173 && c <= 0x1d17a) || (c >= 0xe0000 && c <= 0xe0fff);
}

}  // namespace

std::string escape_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t n = model::utf8_sequence_length(text, i);
    if (n == 0) {  // not UTF-8: the byte by its value
      out += fmt::format("\\x{:02x}", c);
      ++i;
      continue;
    }
    if (n == 1) {
      if (c == '\\') out += "\\\\";  // a writer's own "\n" text never reads as an escaped line break
      else if (c == '\n') out += "\\n";
      else if (c == '\r') out += "\\r";
      else if (c == '\t') out += "\\t";
      else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
      else out += static_cast<char>(c);
      ++i;
      continue;
    }
    const char32_t point = model::utf8_code_point(text.substr(i, n));
    if (invisible(point))  // (past U+FFFF as \U and eight digits: \ue0041 would read as U+E004 and "1")
      out += point > 0xffff ? fmt::format("\\U{:08x}", static_cast<unsigned>(point))
                            : fmt::format("\\u{:04x}", static_cast<unsigned>(point));
    else out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

std::string shown(std::string_view text) {
  const bool plain = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.' || c == ':' || c == '/' || c == '@';
  });
  if (plain) return std::string(text);
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace govjobd::log
