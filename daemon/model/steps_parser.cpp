#include "daemon/model/steps_parser.hpp"

#include <algorithm>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "daemon/model/bounded_list.hpp"
#include "daemon/model/jsonb_safe.hpp"
#include "daemon/model/utf8.hpp"

namespace govjobd::model {

using nlohmann::json;

std::string StepProblem::text() const {
  std::string where = position ? fmt::format("steps[{}]", *position) : std::string("steps");
  if (!field.empty()) where += "." + field;
  return where + ": " + message;
}

std::string StepsParse::problems_text() const {
  BoundedList list(kMaxReportedProblems);
  for (const auto& p : problems)
    if (list.count()) list.add(p.text());
  return list.text("problems");
}

std::string describe_json_value(const json& value) {
  switch (value.type()) {
    case json::value_t::string: {
      std::string s = value.dump(-1, ' ', false, json::error_handler_t::replace);
      s = s.substr(1, s.size() - 2);  // drop the JSON quotes, keep the escapes (NULs stay visible)
      if (s.size() > 60) s = s.substr(0, 57) + "...";
      return "'" + s + "'";
    }
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    case json::value_t::null: return "null";
    default: return value.dump();
  }
}

bool is_clean_text(std::string_view text) {
  // a control character is one byte below 0x80, never part of a longer UTF-8 sequence
  const auto control = [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7f;
  };
  return std::none_of(text.begin(), text.end(), control) && is_valid_utf8(text);
}

namespace {

class StepReader {
 public:
  StepReader(const json& step, std::size_t position, std::vector<StepProblem>& problems)
      : step_(step), position_(position), problems_(problems) {}

  std::optional<JobStep> read() {
    if (!step_.is_object()) {
      problem("", "expected an object, got " + describe_json_value(step_));
      return std::nullopt;
    }
    JobStep out;
    const std::size_t before = problems_.size();
    read_int("step_index", true, 0, std::numeric_limits<int>::max(), "a non-negative integer", out.step_index);
    // any text: the creator's step_type is any string, and one no executor is named (executors' names are
    // letters, digits, '_', '-' and '.') fails at its step as the creator's rule says, "No handler registered"
    read_text("step_type", true, kMaxStepTypeLength, out.step_type);
    read_text("target", false, kMaxTargetLength, out.target);
    read_parameters(out.parameters);
    read_int("timeout_seconds", false, 1, kMaxTimeoutSeconds,
             fmt::format("a positive integer no larger than {}", kMaxTimeoutSeconds), out.timeout_seconds);
    if (problems_.size() != before) return std::nullopt;
    return out;
  }

 private:
  void problem(std::string field, std::string message) {
    problems_.push_back({position_, std::move(field), std::move(message)});
  }

  const json* field(const char* name, bool required) {
    const auto it = step_.find(name);
    if (it == step_.end() || (!required && it->is_null())) {
      if (required) problem(name, "missing");
      return nullptr;
    }
    return &*it;
  }

  void read_int(const char* name, bool required, long long min, long long max, const std::string& expected,
                int& out) {
    const json* v = field(name, required);
    if (!v) return;
    if (!v->is_number_integer() || v->get<long long>() < min || v->get<long long>() > max ||
        (v->is_number_unsigned() && v->get<unsigned long long>() > static_cast<unsigned long long>(max))) {
      problem(name, "expected " + expected + ", got " + describe_json_value(*v));
      return;
    }
    out = static_cast<int>(v->get<long long>());
  }

  void read_text(const char* name, bool required, std::size_t max_length, std::string& out) {
    const json* v = field(name, required);
    if (!v) return;
    if (!v->is_string()) {
      problem(name, "expected a string, got " + describe_json_value(*v));
      return;
    }
    const auto& s = v->get_ref<const std::string&>();
    if (required && s.empty()) problem(name, "must not be empty");
    else if (s.size() > max_length) problem(name, fmt::format("longer than {} bytes ({})", max_length, s.size()));
    else if (!is_clean_text(s))
      problem(name, "contains invalid UTF-8 or a control character: " + describe_json_value(*v));
    else out = s;
  }

  void read_parameters(json& out) {
    const json* v = field("parameters", false);
    if (!v) return;
    if (!v->is_object()) {
      problem("parameters", "expected an object, got " + describe_json_value(*v));
      return;
    }
    const std::size_t size = v->dump(-1, ' ', false, json::error_handler_t::replace).size();
    if (size > kMaxParametersBytes) {
      problem("parameters", fmt::format("larger than {} bytes ({})", kMaxParametersBytes, size));
      return;
    }
    out = *v;
  }

  const json& step_;
  std::size_t position_;
  std::vector<StepProblem>& problems_;
};

void check_indexes(const std::vector<std::pair<std::size_t, int>>& indexes, std::vector<StepProblem>& problems) {
  std::map<int, std::size_t> first_at;
  for (const auto& [position, index] : indexes) {
    auto [it, inserted] = first_at.emplace(index, position);
    if (!inserted)
      problems.push_back({position, "step_index",
                          fmt::format("duplicate step_index {} (also at steps[{}])", index, it->second)});
  }
  if (first_at.empty()) return;
  const int start = first_at.begin()->first;
  if (start > 1)
    problems.push_back({std::nullopt, "", fmt::format("step_index must start at 0 or 1, the first is {}", start)});
  long long expected = start;  // index + 1 of the largest index, INT_MAX, must not overflow
  for (const auto& [index, position] : first_at) {
    if (index != expected) {
      problems.push_back({std::nullopt, "",
                          expected + 1 == index ? fmt::format("step_index {} is missing", expected)
                                                : fmt::format("step_index {} to {} are missing", expected, index - 1)});
    }
    expected = static_cast<long long>(index) + 1;
  }
}

std::optional<int> valid_index(const json& step) {
  if (!step.is_object()) return std::nullopt;
  const auto it = step.find("step_index");
  if (it == step.end() || !it->is_number_integer()) return std::nullopt;
  const long long v = it->get<long long>();
  if (v < 0 || v > std::numeric_limits<int>::max() ||
      (it->is_number_unsigned() && it->get<unsigned long long>() > 0x7fffffffULL))
    return std::nullopt;
  return static_cast<int>(v);
}

}  // namespace

std::optional<JobStep> parse_step(const json& step, std::size_t position, std::vector<StepProblem>& problems) {
  return StepReader(step, position, problems).read();
}

StepsParse parse_steps(const json& steps) {
  StepsParse out;
  if (!steps.is_array()) {
    out.problems.push_back({std::nullopt, "", "expected an array of steps, got " + describe_json_value(steps)});
    return out;
  }
  if (steps.empty()) {
    out.problems.push_back({std::nullopt, "", "a job needs at least one step"});
    return out;
  }
  if (steps.size() > kMaxSteps) {
    out.problems.push_back(
        {std::nullopt, "", fmt::format("{} steps, more than the limit of {}", steps.size(), kMaxSteps)});
    return out;
  }
  std::vector<std::pair<std::size_t, int>> indexes;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (auto step = parse_step(steps[i], i, out.problems)) {
      indexes.emplace_back(i, step->step_index);
      out.steps.push_back(std::move(*step));
    } else if (auto index = valid_index(steps[i])) {
      indexes.emplace_back(i, *index);  // still checked for duplicates and gaps
    }
  }
  check_indexes(indexes, out.problems);
  std::sort(out.steps.begin(), out.steps.end(),
            [](const JobStep& a, const JobStep& b) { return a.step_index < b.step_index; });
  return out;
}

namespace {

// Invalid UTF-8 reaches us only from a database whose encoding is SQL_ASCII. JSON parsers refuse it
// outright, which would hide where it is: each invalid byte becomes U+FFFD, the text is parsed, and the
// strings that hold one are reported by their place in the steps.
void find_replaced(const json& value, std::optional<std::size_t> position, const std::string& field,
                   std::vector<StepProblem>& problems) {
  auto join = [&](const std::string& part) { return field.empty() ? part : field + "." + part; };
  if (value.is_string()) {
    if (value.get_ref<const std::string&>().find(kUtf8Replacement) != std::string::npos)
      problems.push_back({position, field, "contains invalid UTF-8"});
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if (key.find(kUtf8Replacement) != std::string::npos) problems.push_back({position, field, "a key contains invalid UTF-8"});
      find_replaced(item, position, join(key), problems);
    }
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (!position && field.empty()) find_replaced(value[i], i, "", problems);
      else find_replaced(value[i], position, field + "[" + std::to_string(i) + "]", problems);
    }
  }
}

}  // namespace

namespace {

// Where a text that nlohmann cannot read goes wrong: a SAX pass that keeps the path to the value being read.
// A number beyond double's range (valid JSON, and valid jsonb) is named by its position and field.
class FailureLocator : public json::json_sax_t {
 public:
  StepProblem problem;

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(json::number_integer_t) override { return value(); }
  bool number_unsigned(json::number_unsigned_t) override { return value(); }
  bool number_float(json::number_float_t, const json::string_t&) override { return value(); }
  bool string(json::string_t&) override { return value(); }
  bool binary(json::binary_t&) override { return value(); }
  bool start_object(std::size_t) override { return open(false); }
  bool key(json::string_t& key) override {
    path_.back().key = key;
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(true); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string& token, const json::exception& e) override {
    if (e.id != 406) return false;  // a syntax error: "not valid JSON", wherever it is
    if (path_.size() >= 1 && path_[0].array) problem.position = path_[0].index;
    if (path_.size() >= 2 && !path_[1].array) problem.field = path_[1].key;
    problem.message = fmt::format("a number out of range at byte {}: {}", position,
                                  describe_json_value(json(token.substr(0, 40))));
    return false;
  }

 private:
  struct Level {
    bool array;
    std::size_t index = 0;
    std::string key;
  };
  bool open(bool array) {
    path_.push_back(Level{array, 0, {}});
    return true;
  }
  bool close() {
    path_.pop_back();
    return value();
  }
  bool value() {
    if (!path_.empty() && path_.back().array) ++path_.back().index;
    return true;
  }
  std::vector<Level> path_;
};

}  // namespace

StepsParse parse_steps_text(std::string_view text) {
  std::string replaced;
  const bool invalid_utf8 = !is_valid_utf8(text);
  if (invalid_utf8) {
    replaced = replace_invalid_utf8(text);
    text = replaced;
  }
  auto [parsed, too_deep] = parse_bounded_json(text);  // every later walk of the steps recurses
  if (parsed.is_discarded()) {
    StepsParse out;
    FailureLocator locate;
    if (too_deep) locate.problem.message = fmt::format("nested deeper than {} levels", kMaxJsonDepth);
    else json::sax_parse(text.begin(), text.end(), &locate);
    if (locate.problem.message.empty()) locate.problem.message = "not valid JSON";
    if (invalid_utf8) locate.problem.message += " (and not valid UTF-8)";
    out.problems.push_back(std::move(locate.problem));
    return out;
  }
  StepsParse out = parse_steps(parsed);
  if (invalid_utf8) {
    std::vector<StepProblem> found;
    find_replaced(parsed, std::nullopt, "", found);
    // a duplicate key can hide the string that held it (JSON keeps the last): still a problem
    if (found.empty()) found.push_back({std::nullopt, "", "contains invalid UTF-8"});
    out.problems.insert(out.problems.begin(), found.begin(), found.end());
    out.steps.clear();  // never run a job that had to be repaired to be read
  }
  return out;
}

}  // namespace govjobd::model
