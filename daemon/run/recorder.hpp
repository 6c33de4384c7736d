#pragma once

#include <functional>
#include <vector>

#include "daemon/run/db_worker.hpp"

namespace govjobd::run {

// The only writer of job results and transitions. Writes that arrive while a batch is being committed
// wait for the next batch: under load many jobs share one transaction (one commit, one fsync).
class Recorder {
 public:
  Recorder(boost::asio::io_context& io, DbWorker& db) : io_(io), db_(db) {}
  void write(store::JobWrite write, std::function<void(store::WriteOutcome)> done);

 private:
  void flush();
  boost::asio::io_context& io_;
  DbWorker& db_;
  std::vector<std::pair<store::JobWrite, std::function<void(store::WriteOutcome)>>> pending_;
  bool in_flight_ = false;
  bool flush_posted_ = false;
};

}  // namespace govjobd::run
