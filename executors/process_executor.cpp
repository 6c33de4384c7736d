#include "executors/process_executor.hpp"

#include <cctype>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "daemon/model/jsonb_safe.hpp"
#include "executors/output_text.hpp"
#include "process/runner.hpp"

namespace govjobd::executors {

namespace {

constexpr std::size_t kMaxParametersEnvBytes = 32 * 1024;

std::string env_name_for(const std::string& key) {
  std::string out = "GOVJOBD_PARAM_";
  for (char c : key) out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
  return out;
}

std::vector<std::string> step_argv(const config::ExecutorSettings& s, const model::JobStep& step,
                                   const StepContext& context) {
  const std::map<std::string, std::string> values{{"job_id", context.job_id},
                                                  {"contract_id", context.contract_id},
                                                  {"step_index", std::to_string(step.step_index)},
                                                  {"step_type", step.step_type},
                                                  {"target", step.target}};
  // the program is the config's, taken literally: a step's fields never choose what runs
  std::vector<std::string> out{s.command.front()};
  for (std::size_t i = 1; i < s.command.size(); ++i) out.push_back(substitute_placeholders(s.command[i], values));
  return out;
}

// Each string, number or boolean parameter as GOVJOBD_PARAM_<KEY> (a string that is empty, too long or holds
// a NUL is left out: it would not survive the environment). Two keys that become one name ("dry_run" and
// "dry~run") would give the program one of two values the row holds: the step fails instead, naming them.
std::string add_parameter_variables(std::map<std::string, std::string>& env, const nlohmann::json& parameters) {
  std::map<std::string, std::string> key_of;  // variable name -> the parameter key it came from
  for (const auto& [key, value] : parameters.items()) {
    if (!value.is_string() && !value.is_number() && !value.is_boolean()) continue;
    const std::string name = env_name_for(key);
    if (const auto [at, fresh] = key_of.emplace(name, key); !fresh)
      return fmt::format("parameters: keys '{}' and '{}' both become the environment variable {}; nothing run",
                         at->second, key, name);
    if (value.is_string()) {
      const auto& s = value.get_ref<const std::string&>();
      if (!s.empty() && s.size() <= kMaxParametersEnvBytes && s.find('\0') == std::string::npos) env[name] = s;
    } else {
      env[name] = value.dump();
    }
  }
  return "";
}

// The step's environment, or the reason it has none (parameters that would contradict each other there).
std::map<std::string, std::string> step_environment(const config::ExecutorSettings& s, const model::JobStep& step,
                                                    const StepContext& context, std::string& error) {
  std::map<std::string, std::string> env = process::inherited_environment(s.env);
  error = add_parameter_variables(env, step.parameters);
  for (const auto& [name, value] : s.set_env) env[name] = value;  // the operator's word over a job's
  env["GOVJOBD_JOB_ID"] = context.job_id;
  env["GOVJOBD_CONTRACT_ID"] = context.contract_id;
  env["GOVJOBD_WORKER_ID"] = context.worker_id.empty() ? std::string("-") : context.worker_id;
  env["GOVJOBD_STEP_INDEX"] = std::to_string(step.step_index);
  env["GOVJOBD_STEP_TYPE"] = step.step_type;
  env["GOVJOBD_TARGET"] = step.target.empty() ? std::string("-") : step.target;
  const std::string parameters = step.parameters.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (parameters.size() <= kMaxParametersEnvBytes) env["GOVJOBD_PARAMETERS"] = parameters;
  return env;
}

std::string stdin_document(const model::JobStep& step, const StepContext& context) {
  const nlohmann::json doc{{"job_id", context.job_id},         {"contract_id", context.contract_id},
                           {"step_index", step.step_index},     {"step_type", step.step_type},
                           {"target", step.target},             {"parameters", step.parameters}};
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

nlohmann::json captured_output(const process::Result& p) {
  return {{"stdout", process::sanitize_output(p.out.kept())},
          {"stderr", process::sanitize_output(p.err.kept())},
          {"exit_code", p.exit_code ? nlohmann::json(*p.exit_code) : nlohmann::json()},
          {"signal", p.signal ? nlohmann::json(process::signal_name(*p.signal)) : nlohmann::json()},
          {"truncated", p.out.truncated() || p.err.truncated()},
          {"stdout_bytes", p.out.total()},
          {"stderr_bytes", p.err.total()}};
}

// output: json. The JSON object on the last line of stdout becomes the step's output; anything else fails it.
void take_json_output(StepExecution& r, const process::Result& p) {
  const std::string last = process::tail_of(process::sanitize_output(p.out.kept()), std::string::npos);
  const auto nl = last.rfind('\n');
  auto parsed = nlohmann::json::parse(nl == std::string::npos ? last : last.substr(nl + 1), nullptr, false);
  if (parsed.is_object() && model::json_depth(parsed) > model::kMaxJsonDepth) {
    r.outcome = StepOutcome::Failed;
    r.error = fmt::format("output: the JSON object on the last line of stdout nests deeper than {} levels",
                          model::kMaxJsonDepth);
  } else if (parsed.is_object()) {
    model::make_jsonb_safe(parsed);  // a \u0000 in it becomes U+FFFD, as NUL bytes in captured text do
    r.output = std::move(parsed);
  } else {
    r.outcome = StepOutcome::Failed;
    r.error = p.out.truncated() ? "output: stdout was truncated before its last line"
                                : "output: the last line of stdout is not a JSON object";
  }
}

StepExecution step_result(const process::Result& p, const config::ExecutorSettings& s, const Deadline& deadline,
                          const StepContext& context) {
  StepExecution r;
  r.duration = p.duration;
  if (p.spawn_error) {
    r.outcome = StepOutcome::SpawnFailed;
    r.resource_shortage = p.resource_shortage;
    r.error = *p.spawn_error;
    return r;
  }
  r.exit_code = p.exit_code;
  r.signal = p.signal;
  r.output = captured_output(p);
  const std::string how = p.killed ? fmt::format(" (SIGTERM, then SIGKILL after {}ms)", s.kill_grace.count())
                                   : std::string(" (SIGTERM)");
  if (p.stopped_by == process::StopReason::Deadline) {
    r.outcome = StepOutcome::TimedOut;
    r.error = deadline.exceeded_message() + how;
    r.deadline = deadline.kind();
  } else if (p.stopped_by == process::StopReason::Stopped) {
    r.outcome = StepOutcome::Cancelled;
    r.error = "cancelled: " + (context.cancel ? context.cancel->reason() : std::string()) + how;
  } else if (r.exit_code == 0) {
    r.outcome = StepOutcome::Completed;
    if (s.output == "json") take_json_output(r, p);
  } else {
    r.outcome = StepOutcome::Failed;
    r.error = process::exit_failure(p);
  }
  return r;
}

}  // namespace

ProcessExecutor::ProcessExecutor(boost::asio::io_context& io, config::ExecutorSettings settings,
                                 std::shared_ptr<process::ChildReaper> reaper)
    : io_(io), settings_(std::make_shared<const config::ExecutorSettings>(std::move(settings))),
      reaper_(std::move(reaper)) {
  if (!reaper_) throw std::logic_error("a process executor needs the daemon's child reaper");
  const config::ExecutorSettings& s = *settings_;
  // the config loader refuses it too: a group alone would switch the group and keep the daemon's uid (root)
  if (s.user.empty() && !s.group.empty())
    throw std::invalid_argument("group '" + s.group + "' without a user: the step would keep the daemon's user");
  identity_ = process::Identity::resolve(s.user, s.group);
}

ProcessExecutor::~ProcessExecutor() = default;

void ProcessExecutor::start(const model::JobStep& step, const StepContext& context, StepDone done) {
  const Deadline deadline = step_deadline(step, context);
  process::Spec spec;
  spec.argv = step_argv(*settings_, step, context);
  std::string error;
  spec.env = step_environment(*settings_, step, context, error);
  if (!error.empty()) {
    boost::asio::post(io_, [done = std::move(done), error] { done(StepExecution::ended(StepOutcome::Failed, error)); });
    return;
  }
  spec.stdin_bytes = stdin_document(step, context);
  spec.workdir = settings_->workdir;
  spec.identity = identity_;
  spec.deadline = deadline.at;
  spec.kill_grace = settings_->kill_grace;
  spec.max_output_bytes = static_cast<std::size_t>(settings_->max_output_bytes);
  spec.on_spawned = context.on_spawned;
  auto finished = [settings = settings_, deadline, context, done = std::move(done)](process::Result r) {
    if (context.cancel) context.cancel->clear_handler();
    done(step_result(r, *settings, deadline, context));
  };
  const process::Handle handle = process::run(io_, reaper_, std::move(spec), std::move(finished));
  if (context.cancel) context.cancel->on_request([handle] { handle.stop(); });
}

}  // namespace govjobd::executors
