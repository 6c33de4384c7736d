#pragma once

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

namespace govjobd::testing {

// One figure of the reliability suite: on stdout, and appended to $GOVJOBD_RELIABILITY_REPORT, which
// scripts/test --reliability prints at the end.
inline void report(const std::string& line) {
  std::cout << line << std::endl;
  if (const char* path = std::getenv("GOVJOBD_RELIABILITY_REPORT")) std::ofstream(path, std::ios::app) << line << "\n";
}

}  // namespace govjobd::testing
