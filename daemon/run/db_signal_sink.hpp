#pragma once

#include "executors/signal_sink.hpp"

namespace boost::asio {
class io_context;
}

namespace govjobd::run {

class DbWorker;

// signal_record steps write through a database thread; the outcome comes back on the loop.
class DbSignalSink : public executors::SignalSink {
 public:
  DbSignalSink(boost::asio::io_context& io, DbWorker& db) : io_(io), db_(db) {}
  void record(const executors::GovernanceSignal& s, std::function<void(Outcome)> done) override;

 private:
  boost::asio::io_context& io_;
  DbWorker& db_;
};

}  // namespace govjobd::run
