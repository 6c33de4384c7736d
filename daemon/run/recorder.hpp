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
  void write(store::JobWrite write, std::function<void(const store::WriteResult&)> done);

 private:
  void flush();
  boost::asio::io_context& io_;
  DbWorker& db_;
  // The writes of the next batch and, at the same index, whom to tell its outcome; two vectors so that the
  // store reads the writes where they are (a batch can be run again after a lost connection).
  struct Batch {
    std::vector<store::JobWrite> writes;
    std::vector<std::function<void(const store::WriteResult&)>> done;
  };
  Batch pending_;
  bool in_flight_ = false;
  bool flush_posted_ = false;
};

}  // namespace govjobd::run
