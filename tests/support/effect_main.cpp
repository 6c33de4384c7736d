// govjobd_test_effect FILE [SLEEP_MS]: a step's side effect for the tests, without a shell. Appends
// "<GOVJOBD_JOB_ID> <GOVJOBD_STEP_INDEX>\n" to FILE in one O_APPEND write (whole lines even when many
// steps append at once), then sleeps SLEEP_MS and exits 0.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  if (argc < 2) return 64;
  const char* job = std::getenv("GOVJOBD_JOB_ID");
  const char* index = std::getenv("GOVJOBD_STEP_INDEX");
  const std::string line = std::string(job ? job : "?") + " " + (index ? index : "?") + "\n";
  const int fd = ::open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 74;
  ::close(fd);
  // the point: a step that takes this long (a slow step, for drains, cancels and load)
  if (argc > 2) std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(argv[2])));
  return 0;
}
