#include "executors/config_update_executor.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "config/yaml_json.hpp"
#include "daemon/model/jsonb_safe.hpp"

namespace govjobd::executors {

namespace {

using nlohmann::json;

StepExecution failed(std::string error) { return StepExecution::ended(StepOutcome::Failed, std::move(error)); }

bool is_yaml(const std::string& path) { return path.ends_with(".yaml") || path.ends_with(".yml"); }

std::string errno_text() { return std::strerror(errno); }

// Writes text next to path and renames it over path, durably. Returns an error text or "".
std::string replace_file(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string temp = (dir / ("." + target.filename().string() + ".govjobd-XXXXXX")).string();
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) return fmt::format("cannot create a temporary file in {}: {}", dir.string(), errno_text());
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) ::fchmod(fd, st.st_mode & 07777);
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string e = errno_text();
      ::close(fd);
      ::unlink(temp.c_str());
      return fmt::format("cannot write {}: {}", temp, e);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string e = errno_text();
    ::unlink(temp.c_str());
    return fmt::format("cannot flush {}: {}", temp, e);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string e = errno_text();
    ::unlink(temp.c_str());
    return fmt::format("cannot replace {}: {}", path, e);
  }
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return "";
}

json::json_pointer pointer_for(const std::string& dotted) {
  std::string p;
  std::stringstream parts(dotted);
  for (std::string part; std::getline(parts, part, '.');) {
    std::string escaped;
    for (char c : part) escaped += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
    p += "/" + escaped;
  }
  return json::json_pointer(p);
}

}  // namespace

StepExecution update_config_file(const std::string& path, const json& parameters) {
  const auto key_it = parameters.find("key");
  if (key_it == parameters.end() || !key_it->is_string() || key_it->get_ref<const std::string&>().empty())
    return failed("parameters.key: expected a non-empty dotted path such as limits.max");
  if (!parameters.contains("new_value")) return failed("parameters.new_value: missing");
  const std::string key = key_it->get<std::string>();
  const json& new_value = parameters.at("new_value");

  std::ifstream in(path, std::ios::binary);
  if (!in) return failed(fmt::format("cannot read {}: {}", path, errno_text()));
  std::stringstream text;
  text << in.rdbuf();
  json document;
  try {
    document = is_yaml(path) ? config::yaml_to_json(YAML::Load(text.str())) : json::parse(text.str());
  } catch (const std::exception& e) {
    return failed(fmt::format("{} is not valid {}: {}", path, is_yaml(path) ? "YAML" : "JSON", e.what()));
  }
  if (document.is_null()) document = json::object();
  if (!document.is_object()) return failed(fmt::format("{}: expected a mapping at the top", path));

  const auto pointer = pointer_for(key);
  const json current = document.contains(pointer) ? document.at(pointer) : json();
  if (parameters.contains("old_value") && current != parameters.at("old_value"))
    return failed(fmt::format("{}: {} is {}, not the expected old_value {}; nothing changed", path, key,
                              document.contains(pointer) ? current.dump() : "absent", parameters.at("old_value").dump()));
  try {
    document[pointer] = new_value;
  } catch (const json::exception& e) {
    return failed(fmt::format("{}: cannot set {}: {}", path, key, e.what()));
  }
  const std::string rendered = is_yaml(path) ? config::json_to_yaml(document) : document.dump(2) + "\n";
  if (std::string error = replace_file(path, rendered); !error.empty()) return failed(error);
  json output{{"file", path}, {"key", key}, {"old_value", current}, {"new_value", new_value}};
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
  boost::asio::post(blocking_, [path = file->second, parameters = step.parameters, deliver = std::move(deliver)]() mutable {
    deliver(update_config_file(path, parameters));
  });
}

}  // namespace govjobd::executors
