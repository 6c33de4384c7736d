#include <sys/prctl.h>

#include "daemon/cli/cli.hpp"

int main(int argc, char** argv) {
  // Steps and command probes run under our uid: non-dumpable, our /proc/<pid>/environ, mem, maps and fds
  // (the database URL and password) are closed to them, and no core file holds the password. Our own
  // /proc/self stays readable; children are dumpable again after exec.
  ::prctl(PR_SET_DUMPABLE, 0);
  return govjobd::cli::run(argc, argv);
}
