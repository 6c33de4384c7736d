#include "daemon/log/journal_sink.hpp"

#include <sys/uio.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>

// sd_journal_sendv would otherwise add CODE_FILE, CODE_LINE and CODE_FUNC naming this sink for every event.
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <systemd/sd-journal.h>

namespace govjobd::log {

namespace {

// `text` cut to kJournalFieldCap bytes with the count of what was cut; the cut backs off to the start of a
// UTF-8 sequence (escaped text is valid UTF-8), so the field stays valid UTF-8.
std::string bounded(std::string text) {
  if (text.size() <= kJournalFieldCap) return text;
  const std::size_t total = text.size();
  std::size_t keep = kJournalFieldCap - 32;  // room for the note
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xc0) == 0x80) --keep;
  text.resize(keep);
  return text + fmt::format(" ({} bytes cut)", total - keep);
}

void add(std::vector<std::string>& fields, std::string_view name, std::string_view value) {
  fields.push_back(fmt::format("{}={}", name, bounded(escape_line(value))));
}

// sd_journal_sendv returns success when journald's socket does not exist (it fails silently "if the journal is
// not available"): without this look the event would be lost. A socket left by a stopped journald refuses the
// send instead, and one that systemd holds queues it for the next journald.
bool journald_listening() { return ::access("/run/systemd/journal/socket", F_OK) == 0; }

class JournalSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit JournalSink(std::string worker_id) : worker_(std::move(worker_id)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const auto fields = journal_fields(std::string_view(msg.payload.data(), msg.payload.size()),
                                       journal_priority(msg.level), current_job(), worker_);
    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (const auto& f : fields) iov.push_back({const_cast<char*>(f.data()), f.size()});
    if (journald_listening() && sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0) return;
    spdlog::memory_buf_t line;  // journald cannot take it: the stderr line, so the event is not lost
    formatter_->format(msg, line);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }
  void flush_() override {}

 private:
  std::string worker_;
};

}  // namespace

int journal_priority(int spdlog_level) {
  switch (static_cast<spdlog::level::level_enum>(spdlog_level)) {
    case spdlog::level::trace:
    case spdlog::level::debug: return 7;
    case spdlog::level::info: return 6;
    case spdlog::level::warn: return 4;
    case spdlog::level::err: return 3;
    default: return 2;
  }
}

std::vector<std::string> journal_fields(std::string_view payload, int priority, const JobFields* job,
                                        const std::string& worker) {
  std::vector<std::string> fields;
  add(fields, "MESSAGE", payload);
  add(fields, "PRIORITY", std::to_string(priority));
  add(fields, "SYSLOG_IDENTIFIER", "govjobd");
  add(fields, "GOVJOBD_WORKER", worker);
  if (!job) return fields;
  add(fields, "GOVJOBD_JOB_ID", job->job_id);
  if (!job->contract_id.empty()) add(fields, "GOVJOBD_CONTRACT_ID", job->contract_id);
  if (job->step_index) add(fields, "GOVJOBD_STEP_INDEX", std::to_string(*job->step_index));
  if (!job->step_type.empty()) add(fields, "GOVJOBD_STEP_TYPE", job->step_type);
  if (!job->from.empty()) add(fields, "GOVJOBD_FROM", job->from);
  if (!job->to.empty()) add(fields, "GOVJOBD_TO", job->to);
  return fields;
}

std::shared_ptr<spdlog::sinks::sink> make_journal_sink(std::string worker_id) {
  return std::make_shared<JournalSink>(std::move(worker_id));
}

}  // namespace govjobd::log
