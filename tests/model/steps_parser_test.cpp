#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "daemon/model/jsonb_safe.hpp"
#include "daemon/model/steps_parser.hpp"

using namespace govjobd::model;
using nlohmann::json;

namespace {
std::vector<std::string> problems_of(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& p : parse_steps_text(text).problems) out.push_back(p.text());
  return out;
}
}  // namespace

TEST_CASE("valid steps are returned in step_index order, whatever the JSON order", "[steps]") {
  const auto parsed = parse_steps_text(R"([
    {"step_index":2,"step_type":"noop","target":"c"},
    {"step_index":0,"step_type":"noop","target":"a","timeout_seconds":5},
    {"step_index":1,"step_type":"config_update","target":"b","parameters":{"key":"k"}}])");
  REQUIRE(parsed.ok());
  REQUIRE(parsed.steps.size() == 3);
  CHECK(parsed.steps[0].target == "a");
  CHECK(parsed.steps[0].timeout_seconds == 5);
  CHECK(parsed.steps[1].parameters == json{{"key", "k"}});
  CHECK(parsed.steps[2].step_index == 2);
  CHECK(parse_steps_text(R"([{"step_index":1,"step_type":"noop","target":""}])").ok());  // 1-based is fine
}

TEST_CASE("every problem is reported with its position and field, not just the first", "[steps]") {
  const auto problems = problems_of(R"([
    {"step_index":0,"step_type":"","timeout_seconds":-5},
    {"step_index":"1","step_type":7,"target":["x"],"parameters":[],"timeout_seconds":1.5},
    "not a step"])");
  CHECK(problems == std::vector<std::string>{
                        "steps[0].step_type: must not be empty",
                        "steps[0].timeout_seconds: expected a positive integer no larger than 604800, got -5",
                        "steps[1].step_index: expected a non-negative integer, got '1'",
                        "steps[1].step_type: expected a string, got 7",
                        "steps[1].target: expected a string, got an array",
                        "steps[1].parameters: expected an object, got an array",
                        "steps[1].timeout_seconds: expected a positive integer no larger than 604800, got 1.5",
                        "steps[2]: expected an object, got 'not a step'",
                    });
}

TEST_CASE("each field's validation message", "[steps]") {
  using V = std::vector<std::string>;
  CHECK(problems_of(R"({"step_index":0})") == V{"steps: expected an array of steps, got an object"});
  CHECK(problems_of(R"("[]")") == V{"steps: expected an array of steps, got '[]'"});
  CHECK(problems_of("[]") == V{"steps: a job needs at least one step"});
  CHECK(problems_of("[{") == V{"steps: not valid JSON"});
  CHECK(problems_of(R"([{"step_type":"noop"}])") == V{"steps[0].step_index: missing"});
  CHECK(problems_of(R"([{"step_index":-1,"step_type":"noop"}])") ==
        V{"steps[0].step_index: expected a non-negative integer, got -1"});
  CHECK(problems_of(R"([{"step_index":0}])") == V{"steps[0].step_type: missing"});
  // a type no executor can be named is a type without a handler (the job fails at that step), not malformed
  CHECK(problems_of(R"([{"step_index":0,"step_type":"rm -rf"}])").empty());
  CHECK(problems_of(R"([{"step_index":0,"step_type":"noop","timeout_seconds":0}])") ==
        V{"steps[0].timeout_seconds: expected a positive integer no larger than 604800, got 0"});
  CHECK(problems_of(R"([{"step_index":0,"step_type":"noop","timeout_seconds":99999999999999999999}])") ==
        V{"steps[0].timeout_seconds: expected a positive integer no larger than 604800, got 1e+20"});
  CHECK(problems_of(R"([{"step_index":0,"step_type":"noop","target":"a\u0000b"}])") ==
        V{"steps[0].target: contains invalid UTF-8 or a control character: 'a\\u0000b'"});
  CHECK(problems_of(R"([{"step_index":0,"step_type":"noop","target":null,"timeout_seconds":null}])").empty());
}

TEST_CASE("duplicate and missing step indexes are named", "[steps]") {
  using V = std::vector<std::string>;
  CHECK(problems_of(R"([{"step_index":0,"step_type":"a"},{"step_index":0,"step_type":"b"}])") ==
        V{"steps[1].step_index: duplicate step_index 0 (also at steps[0])"});
  CHECK(problems_of(R"([{"step_index":0,"step_type":"a"},{"step_index":3,"step_type":"b"}])") ==
        V{"steps: step_index 1 to 2 are missing"});
  CHECK(problems_of(R"([{"step_index":0,"step_type":"a"},{"step_index":2,"step_type":"b"}])") ==
        V{"steps: step_index 1 is missing"});
  CHECK(problems_of(R"([{"step_index":4,"step_type":"a"}])") == V{"steps: step_index must start at 0 or 1, the first is 4"});
  // an index is still checked when another field of its step is wrong
  CHECK(problems_of(R"([{"step_index":0,"step_type":"a"},{"step_index":0,"step_type":""}])") ==
        V{"steps[1].step_type: must not be empty", "steps[1].step_index: duplicate step_index 0 (also at steps[0])"});
}

TEST_CASE("sizes are bounded: steps, target, parameters", "[steps]") {
  json many = json::array();
  for (int i = 0; i < 10000; ++i) many.push_back({{"step_index", i}, {"step_type", "noop"}});
  const auto parsed = parse_steps(many);
  REQUIRE(parsed.problems.size() == 1);
  CHECK(parsed.problems[0].text() == "steps: 10000 steps, more than the limit of 1000");

  json big = json::array({{{"step_index", 0}, {"step_type", "noop"}, {"target", std::string(2000, 't')},
                           {"parameters", {{"blob", std::string(2 * 1024 * 1024, 'x')}}}}});
  const auto texts = parse_steps(big).problems;
  REQUIRE(texts.size() == 2);
  CHECK(texts[0].text() == "steps[0].target: longer than 1024 bytes (2000)");
  CHECK(texts[1].text().starts_with("steps[0].parameters: larger than 1048576 bytes"));
}

TEST_CASE("invalid UTF-8 in a target is a problem, never a crash", "[steps]") {
  json step = {{"step_index", 0}, {"step_type", "noop"}, {"target", std::string("pay\xff\xfe", 5)}};
  const auto parsed = parse_steps(json::array({step}));
  REQUIRE(parsed.problems.size() == 1);
  CHECK(parsed.problems[0].text().starts_with("steps[0].target: contains invalid UTF-8"));
}

TEST_CASE("invalid UTF-8 in the stored text (a SQL_ASCII database) is reported where it is", "[steps]") {
  using V = std::vector<std::string>;
  const std::string text = "[{\"step_index\":0,\"step_type\":\"noop\",\"target\":\"pay\xff\"},"
                           "{\"step_index\":1,\"step_type\":\"noop\",\"parameters\":{\"note\":[\"ok\",\"b\xc3\"]}}]";
  const auto parsed = parse_steps_text(text);
  CHECK(problems_of(text) == V{"steps[0].target: contains invalid UTF-8", "steps[1].parameters.note[1]: contains invalid UTF-8"});
  CHECK(parsed.steps.empty());
  CHECK(problems_of("[\"\xff\"") == V{"steps: not valid JSON (and not valid UTF-8)"});
  // found by the fuzzer: a duplicate key hides the string with the bad byte; still refused
  CHECK(problems_of("[{\"step_index\":0,\"step_type\":\"noop\",\"x\":{\"k\":\"\xf0\",\"k\":\"ok\"}}]") ==
        V{"steps: contains invalid UTF-8"});
}

TEST_CASE("problems_text joins at most 50 problems", "[steps]") {
  json steps = json::array();
  for (int i = 0; i < 60; ++i) steps.push_back(i);
  const auto text = parse_steps(steps).problems_text();
  CHECK(text.starts_with("steps[0]: expected an object, got 0; steps[1]: "));
  CHECK(text.ends_with("; and 10 more problems"));
}

TEST_CASE("is_clean_text accepts UTF-8 and rejects control characters and bad sequences", "[steps]") {
  CHECK(is_clean_text("plain"));
  CHECK(is_clean_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK_FALSE(is_clean_text(std::string("a\0b", 3)));
  CHECK_FALSE(is_clean_text("tab\there"));
  CHECK_FALSE(is_clean_text("\xc3"));          // truncated
  CHECK_FALSE(is_clean_text("\xc0\xaf"));      // overlong
  CHECK_FALSE(is_clean_text("\xed\xa0\x80"));  // surrogate
}

TEST_CASE("a number beyond a double's range is named by its position and field, not as invalid JSON", "[steps]") {
  const auto parsed = parse_steps_text(
      R"([{"step_index": 0, "step_type": "noop"}, {"step_index": 1, "step_type": "noop", "timeout_seconds": -1e400}])");
  REQUIRE(parsed.problems.size() == 1);
  CHECK_THAT(parsed.problems_text(), Catch::StartsWith("steps[1].timeout_seconds: a number out of range"));
  const auto broken = parse_steps_text(R"([{"step_index": 0,)");
  CHECK(broken.problems_text() == "steps: not valid JSON");
}

TEST_CASE("steps nested a million levels deep are refused at parse time, never walked", "[steps]") {
  // nlohmann parses iteratively, but dump(), copy and == recurse: 500,000 levels overflow the stack
  const std::size_t levels = 512 * 1024;
  const std::string deep = std::string(levels, '[') + std::string(levels, ']');
  for (const std::string& text : {R"([{"step_index":0,"step_type":"noop","parameters":{"a":)" + deep + "}}]", deep,
                                  "[" + std::string(levels, '[')}) {  // unclosed: the depth is found first
    const auto parsed = parse_steps_text(text);
    CHECK_FALSE(parsed.ok());
    CHECK(parsed.problems_text() == fmt::format("steps: nested deeper than {} levels", kMaxJsonDepth));
  }
  // the steps array, the step and its parameters are 3 levels: 97 more make exactly kMaxJsonDepth
  auto nested = [](int arrays) {
    return R"([{"step_index":0,"step_type":"noop","parameters":{"a":)" + std::string(arrays, '[') +
           std::string(arrays, ']') + "}}]";
  };
  CHECK(parse_steps_text(nested(kMaxJsonDepth - 3)).ok());
  CHECK(parse_steps_text(nested(kMaxJsonDepth - 2)).problems_text() ==
        fmt::format("steps: nested deeper than {} levels", kMaxJsonDepth));
}

TEST_CASE("the largest step_index is checked without overflow", "[steps]") {
  // UBSan: index + 1 overflowed int when the last index was INT_MAX (found by the poison matrix)
  CHECK(problems_of(R"([{"step_index": 2147483647, "step_type": "noop"}])") ==
        std::vector<std::string>{"steps: step_index must start at 0 or 1, the first is 2147483647"});
  CHECK(problems_of(R"([{"step_index": 0, "step_type": "noop"}, {"step_index": 2147483647, "step_type": "noop"}])") ==
        std::vector<std::string>{"steps: step_index 1 to 2147483646 are missing"});
}
