#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace govjobd::store {

struct Notification {
  std::string channel;
  std::string payload;
};

// A dedicated connection that LISTENs (libpqxx reports no notifications while a transaction is open, so
// it never runs one). wait() blocks up to `timeout`; meant for a thread of its own. Throws
// DatabaseUnavailable when the connection is lost: make a new Listener.
class Listener {
 public:
  static std::unique_ptr<Listener> connect(const std::string& url, const std::vector<std::string>& channels);
  ~Listener();
  std::vector<Notification> wait(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  explicit Listener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace govjobd::store
