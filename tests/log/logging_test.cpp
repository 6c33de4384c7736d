#include <catch2/catch.hpp>

#include "daemon/log/logging.hpp"

using govjobd::log::escape_line;

TEST_CASE("escape_line keeps a forged line and priority prefix on the line it came in", "[logging]") {
  CHECK(escape_line("wrong window\n<0>job 6012ca75 step - RUNNING -> COMPLETED: ok") ==
        "wrong window\\n<0>job 6012ca75 step - RUNNING -> COMPLETED: ok");
  CHECK(escape_line("a\r\nb\tc") == "a\\r\\nb\\tc");
  CHECK(escape_line(std::string("nul\0bell\a esc\x1b[2J del\x7f", 22)) == "nul\\x00bell\\x07 esc\\x1b[2J del\\x7f");
}

TEST_CASE("escape_line escapes C1 controls, Unicode line separators and bytes that are not UTF-8", "[logging]") {
  CHECK(escape_line("next\xc2\x85line csi\xc2\x9b") == "next\\u0085line csi\\u009b");
  CHECK(escape_line("ls\xe2\x80\xa8ps\xe2\x80\xa9") == "ls\\u2028ps\\u2029");
  CHECK(escape_line("lone \x9b byte \xff") == "lone \\x9b byte \\xff");
  CHECK(escape_line("truncated \xe2\x80") == "truncated \\xe2\\x80");
}

TEST_CASE("escape_line leaves printable text alone, UTF-8 included", "[logging]") {
  const std::string text = "job 6012ca75 step 1 RUNNING -> FAILED: exit code 4: disk full \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
  CHECK(escape_line(text) == text);
  CHECK(escape_line("") == "");
}

TEST_CASE("escape_line escapes what reorders or hides text, and a backslash, so that nothing a writer wrote reads as "
          "what it is not", "[logging]") {
  // "ops" + RIGHT-TO-LEFT OVERRIDE + "nimda" shows as "opsadmin" where bidi applies
  CHECK(escape_line("by ops\xe2\x80\xaenimda") == "by ops\\u202enimda");
  CHECK(escape_line("iso\xe2\x81\xa6late\xe2\x81\xa9 zw\xe2\x80\x8bsp bom\xef\xbb\xbf alm\xd8\x9c") ==
        "iso\\u2066late\\u2069 zw\\u200bsp bom\\ufeff alm\\u061c");
  // a writer's own backslash-n is not an escaped line break
  CHECK(escape_line("a\\nb") == "a\\\\nb");
  CHECK(escape_line("a\nb") == "a\\nb");
}

TEST_CASE("escape_line escapes what shows as nothing or as a plain space: a writer's name cannot read as govjobd's",
          "[logging]") {
  // NO-BREAK SPACE, COMBINING GRAPHEME JOINER, SOFT HYPHEN, an EN SPACE, HANGUL FILLER
  CHECK(escape_line("govjobd\xc2\xa0host-a") == "govjobd\\u00a0host-a");
  CHECK(escape_line("govjobd\xcd\x8f host\xc2\xad" "-a\xe2\x80\x82" "x\xe3\x85\xa4") == "govjobd\\u034f host\\u00ad-a\\u2002x\\u3164");
  // a tag character and a variation selector past U+FFFF: eight digits, never read as four and a letter
  CHECK(escape_line("a\xf3\xa0\x81\x81" "b\xf3\xa0\x84\x80") == "a\\U000e0041b\\U000e0100");
}

TEST_CASE("escape_line escapes every format character and space separator of Unicode 15 (Ogham, Mongolian, "
          "shorthand and hieroglyph format controls, Arabic number signs)", "[logging]") {
  CHECK(escape_line("govjobd\xe1\x9a\x80host-a") == "govjobd\\u1680host-a");
  CHECK(escape_line("a\xe1\xa0\x8b" "b\xe1\xa0\x8f" "c\xd8\x80" "d\xef\xbf\xbc") == "a\\u180bb\\u180fc\\u0600d\\ufffc");
  CHECK(escape_line("x\xf0\x9b\xb2\xa0" "y\xf0\x93\x90\xb0") == "x\\U0001bca0y\\U00013430");
}

TEST_CASE("shown leaves one plain word alone and quotes anything else as a JSON string", "[logging]") {
  using govjobd::log::shown;
  CHECK(shown("payments") == "payments");
  CHECK(shown("db-1.eu:5432/main@x") == "db-1.eu:5432/main@x");
  CHECK(shown("pay) in 0ms; job 1 step 0 COMPLETED (noop x") == "\"pay) in 0ms; job 1 step 0 COMPLETED (noop x\"");
  CHECK(shown("") == "\"\"");
  CHECK(shown("a\"b\n") == "\"a\\\"b\\n\"");
}
