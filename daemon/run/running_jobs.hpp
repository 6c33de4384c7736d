#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/run/end_reason.hpp"
#include "daemon/store/run_store.hpp"

namespace boost::asio {
class io_context;
}

namespace govjobd::run {

class DbWorker;
class JobRun;
struct RunEnv;

// The jobs this daemon runs now, by job_id, and the cancel requests that reach them.
class RunningJobs {
 public:
  // `finished` runs on the loop after a job is over and gone from here.
  RunningJobs(boost::asio::io_context& io, DbWorker& db, std::string worker_id, std::function<void()> finished);
  ~RunningJobs();

  void start(store::ClaimedJob job, RunEnv env);
  int size() const { return static_cast<int>(runs_.size()); }
  bool empty() const { return runs_.empty(); }
  bool contains(const std::string& job_id) const { return runs_.count(job_id) > 0; }
  int executing() const;  // not counting jobs whose end is being recorded
  // not counting jobs whose run is over (ended, or left for the reaper), gone from here on the loop's next turn
  int unfinished() const { return size() - finishing_; }
  std::vector<std::string> ids() const;
  // Cancel, shutdown or internal error: each job stops with `why`.
  void stop_all(const EndReason& why);
  // Reads this worker's cancel requests and stops the jobs they name. One read in flight at a time, and one
  // more after it when asked meanwhile: anyone may NOTIFY govjobd_cancel, and a flood of notifications must
  // not queue a flood of reads.
  void read_cancel_requests();

 private:
  boost::asio::io_context& io_;
  DbWorker& db_;
  std::string worker_id_;
  std::function<void()> finished_;
  std::map<std::string, std::shared_ptr<JobRun>> runs_;
  bool read_in_flight_ = false, read_again_ = false;
  int finishing_ = 0;
};

}  // namespace govjobd::run
