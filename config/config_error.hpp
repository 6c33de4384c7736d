#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace govjobd::config {

// One problem in a config file: where it is (1-based line and column; 0 when unknown) and which key.
struct ConfigIssue {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key;  // dotted path, e.g. "worker.concurrency"; empty for the document itself
  std::string message;

  // "govjobd.yaml:3:16: worker.concurrency: expected a positive integer, got 'ten'"
  std::string text() const;
};

// Every problem found in one file, collected before anything is reported.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<ConfigIssue> issues);
  const std::vector<ConfigIssue>& issues() const { return issues_; }

 private:
  std::vector<ConfigIssue> issues_;
};

}  // namespace govjobd::config
