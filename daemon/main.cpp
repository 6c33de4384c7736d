#include "daemon/cli/cli.hpp"

int main(int argc, char** argv) { return govjobd::cli::run(argc, argv); }
