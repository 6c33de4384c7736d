#include "executors/config_update_executor.hpp"

#include <algorithm>
#include <iomanip>
#include <ostream>
#include <streambuf>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "config/config_key.hpp"
#include "config/yaml_json.hpp"
#include "daemon/model/jsonb_safe.hpp"
#include "executors/locked_file.hpp"
#include "executors/yaml_splice.hpp"

namespace govjobd::executors {

namespace {

using nlohmann::json;
static_assert(config::kMaxYamlToJsonDepth == model::kMaxJsonDepth);

// An output buffer that keeps the first `limit` bytes written to it and counts them all.
class BoundedText : public std::streambuf {
 public:
  explicit BoundedText(std::size_t limit) : limit_(limit) {}
  std::size_t total() const { return total_; }
  std::string take() { return std::move(text_); }

 protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) {
      const char ch = traits_type::to_char_type(c);
      xsputn(&ch, 1);
    }
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    const auto count = static_cast<std::size_t>(n);
    total_ += count;
    if (text_.size() < limit_) text_.append(s, std::min(count, limit_ - text_.size()));
    return n;
  }

 private:
  std::size_t limit_;
  std::size_t total_ = 0;
  std::string text_;
};

StepExecution failed(std::string error) { return StepExecution::ended(StepOutcome::Failed, std::move(error)); }

bool is_yaml(const std::string& path) { return path.ends_with(".yaml") || path.ends_with(".yml"); }

// parameters.key, checked against the file's allowlist before the file is opened.
std::string read_key(const config::ConfigFileSettings& file, const json& parameters, config::ConfigKey& key) {
  const auto it = parameters.find("key");
  if (it == parameters.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    return "parameters.key: expected a non-empty dotted path such as limits.max";
  std::string error;
  key = config::ConfigKey::parse(it->get<std::string>(), error);
  if (!error.empty()) return "parameters.key: " + error;
  if (!file.keys.empty() && std::find(file.keys.begin(), file.keys.end(), key.text) == file.keys.end())
    return fmt::format("parameters.key: {} is not among the keys allowed for {}; nothing changed", key.text, file.path);
  return "";
}

// The file's document as JSON. Parse errors say where, never what (the file may hold secrets).
std::string parse_document(const std::string& path, const std::string& text, json& document, YAML::Node& yaml) {
  if (is_yaml(path)) {
    try {
      yaml = YAML::Load(text);
      document = config::yaml_to_json(yaml);
    } catch (const YAML::Exception& e) {
      const bool deep = e.msg.starts_with("nested deeper");
      return fmt::format("{} is not valid YAML for config_update (line {}, column {}{})", path, e.mark.line + 1,
                         e.mark.column + 1, deep ? ": " + e.msg : "");
    }
  } else {
    auto parsed = model::parse_bounded_json(text);
    if (parsed.too_deep) return fmt::format("{}: nested deeper than {} levels", path, model::kMaxJsonDepth);
    if (parsed.value.is_discarded()) {
      try {
        [[maybe_unused]] const json unused = json::parse(text);  // only for where it fails
      } catch (const json::parse_error& e) {
        return fmt::format("{} is not valid JSON (at byte {})", path, e.byte);
      }
    }
    document = std::move(parsed.value);
  }
  if (document.is_null()) document = json::object();
  if (!document.is_object()) return fmt::format("{}: expected a mapping at the top", path);
  return "";
}

// The file's new text with key set to new_value: JSON is written again whole (it has no comments); YAML
// has the value's text replaced in place.
std::string render(const std::string& path, const std::string& text, const YAML::Node& yaml, json document,
                   const config::ConfigKey& key, const json& new_value, std::string& out) {
  if (is_yaml(path)) {
    auto splice = splice_yaml_scalar(text, yaml, key, new_value);
    if (splice.error.empty() && splice.text.size() > kMaxConfigFileBytes)
      return fmt::format("{} would hold {} bytes, more than the {} a config file may hold; nothing changed", path,
                         splice.text.size(), kMaxConfigFileBytes);
    out = std::move(splice.text);
    return splice.error;
  }
  if (std::string error = config::set_at(document, key, new_value); !error.empty()) return error;
  // indented, as people write it, into a buffer that keeps kMaxConfigFileBytes at most and counts the rest
  BoundedText text_out(kMaxConfigFileBytes);
  std::ostream stream(&text_out);
  try {
    stream << std::setw(2) << document << "\n";
  } catch (const json::exception& e) {
    return fmt::format("{}: the new document cannot be written as JSON ({})", path, e.what());
  }
  if (text_out.total() > kMaxConfigFileBytes)
    return fmt::format("{} would hold {} bytes, more than the {} a config file may hold; nothing changed", path,
                       text_out.total(), kMaxConfigFileBytes);
  out = text_out.take();
  return "";
}

}  // namespace

StepExecution update_config_file(const config::ConfigFileSettings& file, const json& parameters,
                                 const Deadline& deadline, const std::function<void()>& before_rename) {
  config::ConfigKey key;
  if (std::string error = read_key(file, parameters, key); !error.empty()) return failed(error);
  const auto new_it = parameters.find("new_value");
  if (new_it == parameters.end()) return failed("parameters.new_value: missing");
  if (model::json_depth(*new_it) > model::kMaxJsonDepth)
    return failed(fmt::format("parameters.new_value: nested deeper than {} levels", model::kMaxJsonDepth));

  LockedFile locked;
  bool timed_out = false;
  if (std::string error = locked.open(file.path, file.allow_symlink, deadline.at, timed_out); !error.empty())
    return timed_out ? deadline.timed_out(" " + error)
                     : failed(error);
  const std::string& path = locked.path();
  std::string text;
  json document;
  YAML::Node yaml;
  if (std::string error = locked.read(text, kMaxConfigFileBytes); !error.empty()) return failed(error);
  if (std::string error = parse_document(path, text, document, yaml); !error.empty()) return failed(error);

  std::string error;
  const json* found = config::find_at(document, key, error);
  if (!error.empty()) return failed(error);
  const json current = found ? *found : json();
  if (parameters.contains("old_value") && current != parameters.at("old_value"))
    return failed(fmt::format("{}: {} is {}, not the expected old_value {}; nothing changed", path, key.text,
                              found ? current.dump(-1, ' ', false, json::error_handler_t::replace) : "absent",
                              parameters.at("old_value").dump(-1, ' ', false, json::error_handler_t::replace)));
  std::string rendered;
  if (error = render(path, text, yaml, std::move(document), key, *new_it, rendered); !error.empty()) return failed(error);
  if (error = locked.replace(rendered, before_rename); !error.empty()) return failed(error);
  json output{{"file", path}, {"key", key.text}, {"old_value", current}, {"new_value", *new_it}};
  model::make_jsonb_safe(output);  // the old value comes from the file: storable in the step's result
  return StepExecution::completed(std::move(output));
}

void ConfigUpdateExecutor::start(const model::JobStep& step, const StepContext& context, StepDone done) {
  const auto started = std::chrono::steady_clock::now();
  const auto file = files_.find(step.target);
  auto deliver = [this, done = std::move(done), started](StepExecution r) mutable {
    r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    boost::asio::post(io_, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  };
  if (file == files_.end()) return deliver(failed(fmt::format("no config file configured for target '{}'", step.target)));
  if (context.cancel && context.cancel->requested())
    return deliver(StepExecution::ended(StepOutcome::Cancelled, "cancelled: " + context.cancel->reason()));
  boost::asio::post(blocking_, [file = file->second, parameters = step.parameters, deadline = step_deadline(step, context),
                                deliver = std::move(deliver)]() mutable {
    deliver(guarded([&] { return update_config_file(file, parameters, deadline); }));
  });
}

}  // namespace govjobd::executors
