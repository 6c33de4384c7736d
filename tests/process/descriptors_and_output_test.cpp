#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include <catch2/catch.hpp>

#include "process/descriptors.hpp"
#include "process/output_text.hpp"

using namespace govjobd;

// moved from tests/executors/process_executor_test.cpp ("output helpers: sanitizing, capture bounds,
// placeholders, tails"; the placeholders stayed there)
TEST_CASE("output helpers: sanitizing, capture bounds, tails", "[process]") {
  using namespace process;
  CHECK(sanitize_output("plain") == "plain");
  CHECK(sanitize_output(std::string("a\0b", 3)) == "a\xef\xbf\xbd" "b");
  CHECK(sanitize_output("\xe2\x82") == "\xef\xbf\xbd\xef\xbf\xbd");
  BoundedCapture c(4);
  c.append("abc", 3);
  c.append("defg", 4);
  CHECK(c.kept() == "abcd");
  CHECK(c.total() == 7);
  CHECK(c.truncated());
  CHECK(tail_of("one\ntwo\nthree\n", 7) == "three");
  CHECK(tail_of("short\n", 100) == "short");
}

TEST_CASE("when close_range fails, every descriptor is still marked close-on-exec one by one", "[process]") {
  int a[2], b[2];  // deliberately without O_CLOEXEC
  REQUIRE(::pipe(a) == 0);
  REQUIRE(::pipe(b) == 0);
  const int first = std::min({a[0], a[1], b[0], b[1]});
  const int last = std::max({a[0], a[1], b[0], b[1]});
  auto cloexec = [](int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; };
  process::cloexec_descriptors(0, first, last + 1);  // close_range did it: nothing more to do
  CHECK_FALSE(cloexec(a[0]));
  process::cloexec_descriptors(-1, first, last + 1);  // ENOSYS or EINVAL: the fallback
  for (int fd : {a[0], a[1], b[0], b[1]}) CHECK(cloexec(fd));
  for (int fd : {a[0], a[1], b[0], b[1]}) ::close(fd);
  CHECK(process::descriptor_limit() >= 3);
}

