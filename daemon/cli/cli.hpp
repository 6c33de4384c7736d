#pragma once

namespace govjobd::cli {

// Parses the command line, runs one command, returns the process exit code (daemon/run/exit_codes.hpp).
int run(int argc, char** argv);

}  // namespace govjobd::cli
