#include "config/executor_settings_reader.hpp"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "config/target_pattern.hpp"
#include "config/yaml_json.hpp"
#include "config/config_key.hpp"

namespace govjobd::config {

namespace {

bool is_known_placeholder(std::string_view name) {
  return std::any_of(std::begin(kCommandPlaceholders), std::end(kCommandPlaceholders),
                     [&](const char* p) { return name == p; });
}

void check_placeholders(MapReader& m, const ExecutorSettings& s) {
  for (std::size_t i = 1; i < s.command.size(); ++i) {  // the program, command[0], is checked by check_program
    const std::string& arg = s.command[i];
    for (std::size_t open = arg.find('{'); open != std::string::npos; open = arg.find('{', open + 1)) {
      const auto close = arg.find('}', open);
      if (close == std::string::npos) break;
      const std::string name = arg.substr(open + 1, close - open - 1);
      if (!is_known_placeholder(name))
        m.sink().add(m.node()["command"][i].Mark(), fmt::format("{}.command[{}]", m.path(), i),
                     fmt::format("unknown placeholder {{{}}}; known: {{job_id}} {{contract_id}} {{step_index}} "
                                 "{{step_type}} {{target}}", name));
    }
  }
}

// What runs is the config's choice alone: an absolute path, never substituted from a step's fields, never
// looked up in PATH.
void check_program(MapReader& m, const ExecutorSettings& s) {
  if (s.command.empty() || s.command.front().empty()) return;  // reported as an empty command
  const std::string& program = s.command.front();
  const auto mark = m.node()["command"][0].Mark();
  const std::string key = m.path() + ".command[0]";
  if (program.find('{') != std::string::npos)
    m.sink().add(mark, key, "the program is taken literally: no placeholder or '{' in it");
  else if (program.front() != '/')
    m.sink().add(mark, key, fmt::format("expected an absolute path to the program, got '{}'", program));
}

// A key that only some kinds use, written for another kind, is a mistake worth reporting.
void refuse_for_kind(MapReader& m, const ExecutorSettings& s, const char* key, std::initializer_list<const char*> kinds) {
  if (!m.node()[key].IsDefined()) return;
  for (const char* k : kinds)
    if (s.kind == k) return;
  m.sink().add(m.node()[key].Mark(), m.path() + "." + key,
               fmt::format("not used by kind {} (only by {})", s.kind, *kinds.begin()));
}

void check_identity(MapReader& m, const ExecutorSettings& s) {
  if (!s.user.empty() && ::getpwnam(s.user.c_str()) == nullptr)
    m.sink().add(m.node()["user"].Mark(), m.path() + ".user", fmt::format("no such user '{}'", s.user));
  if (!s.group.empty() && ::getgrnam(s.group.c_str()) == nullptr)
    m.sink().add(m.node()["group"].Mark(), m.path() + ".group", fmt::format("no such group '{}'", s.group));
  if (!s.group.empty() && s.user.empty())
    m.sink().add(m.node()["group"].Mark(), m.path() + ".group",
                 "needs user: a group alone would leave the step running as the daemon's user");
}

void read_target_pattern(MapReader& m, ExecutorSettings& s) {
  std::string pattern;
  m.text("target_pattern", pattern, false);
  if (pattern.empty()) return;  // absent, or reported
  try {
    compile_target_pattern(pattern);
    s.target_pattern = pattern;
  } catch (const std::regex_error& e) {
    m.sink().add(m.node()["target_pattern"].Mark(), m.path() + ".target_pattern",
                 fmt::format("not a valid regular expression (ECMAScript): {}", e.what()));
  }
}

void read_file_keys(MapReader& m, ConfigFileSettings& f) {
  m.string_list("keys", f.keys);
  for (std::size_t i = 0; i < f.keys.size(); ++i) {
    std::string error;
    ConfigKey::parse(f.keys[i], error);
    if (!error.empty()) m.sink().add(m.node()["keys"][i].Mark(), fmt::format("{}.keys[{}]", m.path(), i), error);
  }
}

// files: target -> a path, or {path, keys, allow_symlink}.
void read_files(MapReader& m, std::map<std::string, ConfigFileSettings>& out) {
  auto files = m.map("files");
  if (!files) return;
  for (const std::string& target : files->names()) {
    const YAML::Node value = std::as_const(files->node())[target];
    if (!value.IsDefined()) continue;  // a key yaml-cpp cannot find by its own text: nothing to read
    ConfigFileSettings f;
    if (value.IsScalar()) {
      f.path = value.Scalar();
    } else if (auto fm = files->map(target.c_str())) {
      fm->text("path", f.path, false);
      read_file_keys(*fm, f);
      fm->boolean("allow_symlink", f.allow_symlink);
      fm->finish();
    }
    if (f.path.empty() && (value.IsScalar() || value.IsMap()))
      files->sink().add(value.Mark(), files->path() + "." + target + (value.IsMap() ? ".path" : ""),
                        "expected the path of a JSON or YAML file");
    out[target] = std::move(f);
  }
  files->finish();
}

// rollback_action: a non-empty text, or a mapping (stored as JSON, like a step's output).
void read_rollback_action(MapReader& m, ExecutorSettings& s) {
  const YAML::Node value = m.any("rollback_action");
  if (!value.IsDefined()) return;
  const bool text = value.IsScalar() && !value.Scalar().empty();
  if (!text && !value.IsMap()) {
    m.sink().add(value.Mark(), m.path() + ".rollback_action", "expected a non-empty text or a mapping");
    return;
  }
  try {
    s.rollback_action = text ? nlohmann::json(value.Scalar()) : yaml_to_json(value);
  } catch (const YAML::Exception& e) {
    m.sink().add(e.mark, m.path() + ".rollback_action", e.msg);
  }
}

void read_executor(MapReader& m, ExecutorSettings& s) {
  m.choice("kind", s.kind, {"process", "noop", "sleep", "signal_record", "config_update"});
  m.string_list("command", s.command);
  m.string_list("env", s.env);
  m.string_map("set_env", s.set_env);
  m.text("workdir", s.workdir, false);
  m.text("user", s.user, false);
  m.text("group", s.group, false);
  m.integer("max_output_bytes", s.max_output_bytes, 1, 64 * 1024 * 1024);
  m.duration("kill_grace", s.kill_grace, std::chrono::milliseconds(0));
  m.choice("output", s.output, {"text", "json"});
  read_target_pattern(m, s);
  m.duration("max_timeout", s.max_timeout, std::chrono::seconds(1));
  read_files(m, s.files);
  read_rollback_action(m, s);
  m.finish();
  if (s.kind.empty()) {
    if (!m.node()["kind"].IsDefined()) m.sink().add(m.node().Mark(), m.path() + ".kind", "missing");
    return;
  }
  for (const char* key : {"command", "env", "set_env", "workdir", "user", "group", "max_output_bytes", "kill_grace", "output"})
    refuse_for_kind(m, s, key, {"process"});
  refuse_for_kind(m, s, "files", {"config_update"});
  if (s.kind == "process") {
    const bool reported = m.node()["command"].IsDefined() && s.command.empty();  // not a list: said already
    if (!reported && (s.command.empty() || s.command.front().empty()))
      m.sink().add(m.node().Mark(), m.path() + ".command", "a process executor needs a non-empty command list");
    check_program(m, s);
    check_placeholders(m, s);
    check_identity(m, s);
  }
  if (s.kind == "config_update" && s.files.empty())
    m.sink().add(m.node().Mark(), m.path() + ".files", "a config_update executor needs files: {target: path}");
}

}  // namespace

void read_executors(MapReader& section, std::map<std::string, ExecutorSettings>& out) {
  for (const std::string& step_type : section.names()) {
    const bool valid_name = !step_type.empty() && std::all_of(step_type.begin(), step_type.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
    if (!valid_name) {
      for (const auto& kv : section.node())
        if (kv.first.Scalar() == step_type)
          section.sink().add(kv.first.Mark(), section.path() + "." + step_type,
                             "expected letters, digits, '_', '-' or '.' in a step type");
      continue;
    }
    if (auto m = section.map(step_type.c_str())) {
      ExecutorSettings s;
      read_executor(*m, s);
      out[step_type] = std::move(s);
    }
  }
  section.finish();
}

}  // namespace govjobd::config
