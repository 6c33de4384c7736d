// The only file that includes Boost.Process (its headers compile slowly). Every trap of Boost.Process v1
// listed in STACK_NOTES.md is handled here; each is named where it is handled.
#include "executors/process_executor.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include <boost/asio.hpp>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/posix.hpp>
#include <fmt/format.h>

#include "daemon/model/jsonb_safe.hpp"
#include "executors/output_text.hpp"

namespace govjobd::executors {

namespace asio = boost::asio;
namespace bp = boost::process;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

struct ProcessExecutor::Identity {
  std::string user;
  std::string group;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::vector<gid_t> groups;
};

namespace {

// Leaders of running steps, whose exit Boost.Process reaps: reap_stray_children() must leave them alone.
std::mutex g_leaders_mutex;
std::set<pid_t> g_leaders;

void track_leader(pid_t pid, bool running) {
  std::lock_guard lock(g_leaders_mutex);
  if (running) g_leaders.insert(pid);
  else g_leaders.erase(pid);
}

// The RLIMIT_NOFILE steps get: the daemon's own as it was before raise_open_files_limit(). Set once at start-up,
// before any spawn; read between vfork and exec.
bool g_restore_child_nofile = false;
rlimit g_child_nofile{};

constexpr milliseconds kGroupPollInterval{10};
constexpr milliseconds kDrainTimeout{500};    // after the group is gone, how long a stray writer may hold a pipe
constexpr milliseconds kReapGiveUp{2000};     // after SIGKILL, how long to wait for the group to be reaped
constexpr std::size_t kErrorTailBytes = 512;
constexpr std::size_t kMaxParametersEnvBytes = 32 * 1024;

// Which part of the child's set-up failed. The child writes it into the parent's memory (vfork shares it).
enum class SetupFailure { None, Groups, Gid, Uid, Workdir };

// Runs in the child between vfork and exec: async-signal-safe calls only, no allocation.
struct ChildSetup : bp::extend::handler {
  const gid_t* groups = nullptr;
  std::size_t group_count = 0;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  const char* workdir = nullptr;  // null: the daemon's
  int fd_limit = 0;               // descriptor_limit(), read by the parent
  SetupFailure* failure = nullptr;

  // The parent sees a failed spawn with errno's message (vfork: the executor's error is in shared memory);
  // the message text is empty because a longer one would allocate here.
  template <class Executor>
  void fail(Executor& exec, SetupFailure what) {
    const int error = errno;
    *failure = what;
    exec.set_error(std::error_code(error, std::system_category()), "");
    ::_exit(126);
  }

  template <class Executor>
  void on_exec_setup(Executor& exec) {
    ::setpgid(0, 0);  // trap 6: its own group, so that the whole tree can be signalled
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    // trap 1: no inherited descriptors (stdio is already in place), without bp::limit_handles
    cloexec_descriptors(::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC), 3, fd_limit);
    if (g_restore_child_nofile) ::setrlimit(RLIMIT_NOFILE, &g_child_nofile);  // lowering the soft limit: cannot fail
    // raw syscalls: glibc's set*id would signal the parent's other threads from a vfork child
    if (gid) {
      if (::syscall(SYS_setgroups, group_count, groups) != 0) fail(exec, SetupFailure::Groups);
      if (::syscall(SYS_setresgid, *gid, *gid, *gid) != 0) fail(exec, SetupFailure::Gid);
    }
    if (uid && ::syscall(SYS_setresuid, *uid, *uid, *uid) != 0) fail(exec, SetupFailure::Uid);
    // after the drop: the step's user must be able to reach its workdir, root's access proves nothing
    if (workdir && ::chdir(workdir) != 0) fail(exec, SetupFailure::Workdir);
  }

  // trap 5: a failed exec leaves a zombie; reap it here
  template <class Executor>
  void on_error(Executor& exec, const std::error_code&) {
    if (exec.pid > 0) {
      int status = 0;
      while (::waitpid(exec.pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
};

// What a failed spawn says: which part of the child's set-up failed, as whom, and errno's message.
std::string spawn_error(SetupFailure failure, const std::string& exe, const std::error_code& ec,
                        const config::ExecutorSettings& s) {
  const std::string as_user = s.user.empty() ? std::string() : fmt::format(" as user '{}'", s.user);
  switch (failure) {
    case SetupFailure::None: return fmt::format("{}: {}", exe, ec.message());
    case SetupFailure::Groups: return fmt::format("cannot set the groups of user '{}': {}", s.user, ec.message());
    case SetupFailure::Gid:
      return fmt::format("cannot switch to group '{}': {}", s.group.empty() ? "of " + s.user : s.group, ec.message());
    case SetupFailure::Uid: return fmt::format("cannot switch to user '{}': {}", s.user, ec.message());
    case SetupFailure::Workdir: return fmt::format("cannot enter workdir '{}'{}: {}", s.workdir, as_user, ec.message());
  }
  return ec.message();
}

// Descriptors, processes or memory ran out: the step cannot start now, and the next one may (the daemon then
// claims more slowly). Said the way the issue reporter reads it: "spawn failed: too many open files".
bool is_resource_shortage(const std::error_code& ec) {
  return ec.category() == std::system_category() &&
         (ec.value() == EMFILE || ec.value() == ENFILE || ec.value() == EAGAIN || ec.value() == ENOMEM);
}

std::string shortage_text(const std::error_code& ec) {
  std::string text = ec.message();
  if (!text.empty()) text.front() = static_cast<char>(std::tolower(static_cast<unsigned char>(text.front())));
  return text;
}

// The read end of a pipe as an Asio descriptor: Boost.Process 1.74 hands out only a const reference to it.
asio::posix::stream_descriptor& read_end(bp::async_pipe& pipe) {
  return const_cast<asio::posix::stream_descriptor&>(pipe.source());
}

// One read buffer for every stream of every step: a stream is read only once it is readable, and the capture
// takes what it keeps before the next read (loop thread only). An idle step holds no buffer at all.
constexpr std::size_t kReadBufferBytes = 64 * 1024;
char* read_buffer() {
  static thread_local std::array<char, kReadBufferBytes> buffer;
  return buffer.data();
}

std::string signal_name(int sig) {
  const char* name = ::sigabbrev_np(sig);
  return name ? fmt::format("SIG{}", name) : fmt::format("signal {}", sig);
}

std::string env_name_for(const std::string& key) {
  std::string out = "GOVJOBD_PARAM_";
  for (char c : key) out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
  return out;
}

// One running child and everything it needs until its result is delivered.
class ProcessRun : public std::enable_shared_from_this<ProcessRun> {
 public:
  ProcessRun(asio::io_context& io, std::shared_ptr<const config::ExecutorSettings> settings,
             const model::JobStep& step, const StepContext& context, StepDone done)
      : io_(io), settings_holder_(std::move(settings)), settings_(*settings_holder_), step_(step), context_(context), done_(std::move(done)),
        deadline_timer_(io), grace_timer_(io), poll_timer_(io), drain_timer_(io),
        stdout_(static_cast<std::size_t>(settings_.max_output_bytes)),
        stderr_(static_cast<std::size_t>(settings_.max_output_bytes)) {}

  void launch(const ProcessExecutor::Identity* identity);

 private:
  struct Stream {
    std::optional<bp::async_pipe>* pipe;
    BoundedCapture* capture;
    bool open = true;
  };

  std::vector<std::string> argv() const;
  bp::environment environment() const;
  std::string stdin_document() const;
  void read(Stream& s);
  void stop(StepOutcome why);
  void signal_group(int sig);
  bool group_alive() const;
  void on_leader_exit();
  void poll_group();
  void maybe_finish();
  void finish();
  void fail_to_spawn(std::string error, bool resource_shortage = false);
  bool open_pipes();
  StepExecution result() const;

  asio::io_context& io_;
  std::shared_ptr<const config::ExecutorSettings> settings_holder_;  // outlives a SIGHUP swap
  const config::ExecutorSettings& settings_;
  model::JobStep step_;
  StepContext context_;
  StepDone done_;
  std::optional<bp::async_pipe> in_, out_, err_;  // opened by launch(): EMFILE there fails the step, not the daemon
  asio::steady_timer deadline_timer_, grace_timer_, poll_timer_, drain_timer_;
  BoundedCapture stdout_, stderr_;
  Stream out_stream_{&out_, &stdout_};
  Stream err_stream_{&err_, &stderr_};
  std::shared_ptr<std::string> stdin_doc_;
  bp::child child_;
  pid_t pgid_ = 0;
  Deadline deadline_;
  steady::time_point started_{};
  std::optional<StepOutcome> ended_by_;  // TimedOut or Cancelled, when we stopped it
  bool term_sent_ = false;
  bool kill_sent_ = false;
  steady::time_point kill_sent_at_{};
  bool leader_exited_ = false;
  int raw_status_ = 0;
  bool group_gone_ = false;
  bool drained_ = false;
  bool finished_ = false;
};

std::vector<std::string> ProcessRun::argv() const {
  const std::map<std::string, std::string> values{{"job_id", context_.job_id},
                                                  {"contract_id", context_.contract_id},
                                                  {"step_index", std::to_string(step_.step_index)},
                                                  {"step_type", step_.step_type},
                                                  {"target", step_.target}};
  // the program is the config's, taken literally: a step's fields never choose what runs
  std::vector<std::string> out{settings_.command.front()};
  for (std::size_t i = 1; i < settings_.command.size(); ++i)
    out.push_back(substitute_placeholders(settings_.command[i], values));
  return out;
}

bp::environment ProcessRun::environment() const {
  bp::environment env;
  for (const auto& name : settings_.env)
    if (const char* value = std::getenv(name.c_str())) env[name] = value;
  for (const auto& [name, value] : settings_.set_env) env[name] = value;
  env["GOVJOBD_JOB_ID"] = context_.job_id;
  env["GOVJOBD_CONTRACT_ID"] = context_.contract_id;
  env["GOVJOBD_WORKER_ID"] = context_.worker_id.empty() ? std::string("-") : context_.worker_id;
  env["GOVJOBD_STEP_INDEX"] = std::to_string(step_.step_index);
  env["GOVJOBD_STEP_TYPE"] = step_.step_type;
  env["GOVJOBD_TARGET"] = step_.target.empty() ? std::string("-") : step_.target;
  const std::string parameters = step_.parameters.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (parameters.size() <= kMaxParametersEnvBytes) env["GOVJOBD_PARAMETERS"] = parameters;
  for (const auto& [key, value] : step_.parameters.items()) {
    if (value.is_string()) {
      const auto& s = value.get_ref<const std::string&>();
      if (!s.empty() && s.size() <= kMaxParametersEnvBytes && s.find('\0') == std::string::npos)
        env[env_name_for(key)] = s;
    } else if (value.is_number() || value.is_boolean()) {
      env[env_name_for(key)] = value.dump();
    }
  }
  return env;
}

std::string ProcessRun::stdin_document() const {
  const nlohmann::json doc{{"job_id", context_.job_id},         {"contract_id", context_.contract_id},
                           {"step_index", step_.step_index},     {"step_type", step_.step_type},
                           {"target", step_.target},             {"parameters", step_.parameters}};
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void ProcessRun::launch(const ProcessExecutor::Identity* identity) {
  started_ = steady::now();
  deadline_ = step_deadline(step_, context_);
  std::vector<std::string> args = argv();
  boost::filesystem::path exe = args.front();
  if (args.front().find('/') == std::string::npos) {
    exe = bp::search_path(args.front());
    if (exe.empty()) return fail_to_spawn(fmt::format("executable '{}' not found in PATH", args.front()));
  }
  if (identity && ::geteuid() != 0)
    return fail_to_spawn(fmt::format("cannot run as user '{}' group '{}': govjobd is not running as root",
                                     identity->user, identity->group));
  args.erase(args.begin());
  if (!open_pipes()) return;

  SetupFailure failure = SetupFailure::None;
  ChildSetup setup;
  setup.failure = &failure;
  setup.fd_limit = descriptor_limit();
  if (!settings_.workdir.empty()) setup.workdir = settings_.workdir.c_str();
  if (identity) {
    setup.uid = identity->uid;
    setup.gid = identity->gid;
    setup.groups = identity->groups.data();
    setup.group_count = identity->groups.size();
  }
  auto self = shared_from_this();
  // trap 2: never act inside on_exit (it runs while Boost iterates its waiter list); post out of it
  auto on_exit = [self](int, const std::error_code&) { asio::post(self->io_, [self] { self->on_leader_exit(); }); };
  std::error_code ec;
  // trap 8: vfork (built with BOOST_POSIX_HAS_VFORK=1), so the loop is not blocked copying page tables
  child_ = bp::child(bp::exe = exe, bp::args = args, bp::std_in < *in_, bp::std_out > *out_, bp::std_err > *err_,
                     environment(), io_, bp::on_exit = on_exit, bp::posix::use_vfork, setup, ec);
  if (ec && failure == SetupFailure::None && is_resource_shortage(ec)) return fail_to_spawn(shortage_text(ec), true);
  if (ec || !child_.valid())
    return fail_to_spawn(spawn_error(failure, exe.string(), ec, settings_), is_resource_shortage(ec));
  if (context_.on_spawned) context_.on_spawned();

  pgid_ = child_.id();
  track_leader(pgid_, true);
  ::setpgid(pgid_, pgid_);  // the child did it already (vfork returns after exec); harmless if so
  child_.detach();  // trap 3 and 6: we never wait(); the child object lives until on_exit, we signal the group

  stdin_doc_ = std::make_shared<std::string>(stdin_document());
  asio::async_write(*in_, asio::buffer(*stdin_doc_), [self](const boost::system::error_code&, std::size_t) {
    boost::system::error_code ignored;
    self->in_->close(ignored);  // EOF for the child; EPIPE when it does not read is fine (SIGPIPE is ignored)
  });
  read(out_stream_);
  read(err_stream_);

  deadline_timer_.expires_at(deadline_.at);
  deadline_timer_.async_wait([self](const boost::system::error_code& e) {
    if (!e) self->stop(StepOutcome::TimedOut);
  });
  if (context_.cancel) {
    std::weak_ptr<ProcessRun> weak = self;
    context_.cancel->on_request([weak] {
      if (auto run = weak.lock()) run->stop(StepOutcome::Cancelled);
    });
  }
}

bool ProcessRun::open_pipes() {
  try {
    in_.emplace(io_);
    out_.emplace(io_);
    err_.emplace(io_);
    read_end(*out_).non_blocking(true);
    read_end(*err_).non_blocking(true);
    return true;
  } catch (const std::system_error& e) {  // pipe(2): EMFILE, ENFILE
    fail_to_spawn(is_resource_shortage(e.code()) ? shortage_text(e.code()) : e.what(), is_resource_shortage(e.code()));
    return false;
  }
}

// Waits until the stream is readable, then reads what is there into the shared buffer (a few reads at most,
// so that a flood does not starve the loop) and waits again: no memory is held while a step prints nothing.
void ProcessRun::read(Stream& s) {
  auto self = shared_from_this();
  read_end(**s.pipe).async_wait(asio::posix::stream_descriptor::wait_read, [self, &s](const boost::system::error_code& ec) {
    boost::system::error_code rec = ec;
    for (int i = 0; i < 16 && !rec; ++i) {
      const std::size_t n = read_end(**s.pipe).read_some(asio::buffer(read_buffer(), kReadBufferBytes), rec);
      if (n > 0) s.capture->append(read_buffer(), n);
    }
    if (rec && rec != asio::error::would_block) {  // EOF, or closed by finish()
      s.open = false;
      self->maybe_finish();
      return;
    }
    self->read(s);
  });
}

void ProcessRun::signal_group(int sig) {
  if (pgid_ > 0) ::kill(-pgid_, sig);
  if (sig == SIGTERM) term_sent_ = true;
  if (sig == SIGKILL && !kill_sent_) {
    kill_sent_ = true;
    kill_sent_at_ = steady::now();
  }
}

bool ProcessRun::group_alive() const { return pgid_ > 0 && (::kill(-pgid_, 0) == 0 || errno == EPERM); }

// SIGTERM to the group now, SIGKILL after kill_grace unless the group is gone by then.
void ProcessRun::stop(StepOutcome why) {
  if (finished_ || group_gone_) return;
  if (!ended_by_ && !leader_exited_) ended_by_ = why;
  if (term_sent_) return;
  signal_group(SIGTERM);
  grace_timer_.expires_after(settings_.kill_grace);
  grace_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
    if (!e && !self->group_gone_) self->signal_group(SIGKILL);
  });
  poll_group();
}

void ProcessRun::on_leader_exit() {
  leader_exited_ = true;
  track_leader(pgid_, false);
  raw_status_ = child_.native_exit_code();  // trap 4: the raw wait status tells exit 15 from SIGTERM
  deadline_timer_.cancel();
  // trap 7: whatever the leader left in its group (background children holding the pipes) goes too
  if (group_alive()) stop(ended_by_.value_or(StepOutcome::Completed));
  poll_group();
}

void ProcessRun::poll_group() {
  if (group_gone_ || finished_) return;
  if (leader_exited_) {
    // Orphans of the group are ours to reap (subreaper); only the group's pids, never another child's.
    while (::waitpid(-pgid_, nullptr, WNOHANG) > 0) {
    }
    const bool gave_up = kill_sent_ && steady::now() - kill_sent_at_ > kReapGiveUp;
    if (!group_alive() || gave_up) {
      group_gone_ = true;
      grace_timer_.cancel();
      poll_timer_.cancel();
      drain_timer_.expires_after(kDrainTimeout);
      drain_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
        if (e) return;
        self->drained_ = true;
        self->maybe_finish();
      });
      maybe_finish();
      return;
    }
  }
  poll_timer_.expires_after(kGroupPollInterval);
  poll_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
    if (!e) self->poll_group();
  });
}

void ProcessRun::maybe_finish() {
  if (finished_ || !leader_exited_ || !group_gone_) return;
  if ((out_stream_.open || err_stream_.open) && !drained_) return;
  finish();
}

void ProcessRun::finish() {
  finished_ = true;
  for (auto* timer : {&deadline_timer_, &grace_timer_, &poll_timer_, &drain_timer_}) timer->cancel();
  boost::system::error_code ignored;
  in_->close(ignored);
  out_->close(ignored);
  err_->close(ignored);
  if (context_.cancel) context_.cancel->clear_handler();
  asio::post(io_, [done = std::move(done_), r = result()]() mutable { done(std::move(r)); });
}

void ProcessRun::fail_to_spawn(std::string error, bool resource_shortage) {
  finished_ = true;
  StepExecution r;
  r.outcome = StepOutcome::SpawnFailed;
  r.resource_shortage = resource_shortage;
  r.error = "spawn failed: " + std::move(error);
  r.output = nlohmann::json::object();
  r.duration = std::chrono::duration_cast<milliseconds>(steady::now() - started_);
  asio::post(io_, [done = std::move(done_), r = std::move(r)]() mutable { done(std::move(r)); });
}

StepExecution ProcessRun::result() const {
  StepExecution r;
  r.duration = std::chrono::duration_cast<milliseconds>(steady::now() - started_);
  if (WIFEXITED(raw_status_)) r.exit_code = WEXITSTATUS(raw_status_);
  if (WIFSIGNALED(raw_status_)) r.signal = WTERMSIG(raw_status_);
  const std::string out = sanitize_output(stdout_.kept());
  const std::string err = sanitize_output(stderr_.kept());
  r.output = {{"stdout", out},
              {"stderr", err},
              {"exit_code", r.exit_code ? nlohmann::json(*r.exit_code) : nlohmann::json()},
              {"signal", r.signal ? nlohmann::json(signal_name(*r.signal)) : nlohmann::json()},
              {"truncated", stdout_.truncated() || stderr_.truncated()},
              {"stdout_bytes", stdout_.total()},
              {"stderr_bytes", stderr_.total()}};
  const std::string tail = tail_of(err, kErrorTailBytes);
  const std::string with_tail = tail.empty() ? std::string() : ": " + tail;
  const std::string how = kill_sent_ ? fmt::format(" (SIGTERM, then SIGKILL after {}ms)", settings_.kill_grace.count())
                                     : std::string(" (SIGTERM)");
  if (ended_by_ == StepOutcome::TimedOut) {
    r.outcome = StepOutcome::TimedOut;
    r.error = deadline_.exceeded_message() + how;
    r.deadline = deadline_.kind();
  } else if (ended_by_ == StepOutcome::Cancelled) {
    r.outcome = StepOutcome::Cancelled;
    r.error = "cancelled: " + (context_.cancel ? context_.cancel->reason() : std::string()) + how;
  } else if (r.exit_code == 0) {
    r.outcome = StepOutcome::Completed;
    if (settings_.output == "json") {
      const std::string last = tail_of(out, std::string::npos);
      const auto nl = last.rfind('\n');
      auto parsed = nlohmann::json::parse(nl == std::string::npos ? last : last.substr(nl + 1), nullptr, false);
      if (parsed.is_object() && model::json_depth(parsed) > model::kMaxJsonDepth) {
        r.outcome = StepOutcome::Failed;
        r.error = fmt::format("output: the JSON object on the last line of stdout nests deeper than {} levels",
                              model::kMaxJsonDepth);
      } else if (parsed.is_object()) {
        model::make_jsonb_safe(parsed);  // a \u0000 in it becomes U+FFFD, as NUL bytes in captured text do
        r.output = std::move(parsed);
      } else {
        r.outcome = StepOutcome::Failed;
        r.error = stdout_.truncated() ? "output: stdout was truncated before its last line"
                                      : "output: the last line of stdout is not a JSON object";
      }
    }
  } else if (r.exit_code) {
    r.outcome = StepOutcome::Failed;
    r.error = fmt::format("exit code {}{}", *r.exit_code, with_tail);
  } else {
    r.outcome = StepOutcome::Failed;
    r.error = fmt::format("killed by {}{}", r.signal ? signal_name(*r.signal) : "a signal", with_tail);
  }
  return r;
}

}  // namespace

ProcessExecutor::ProcessExecutor(asio::io_context& io, config::ExecutorSettings settings)
    : io_(io), settings_(std::make_shared<const config::ExecutorSettings>(std::move(settings))) {
  const config::ExecutorSettings& s = *settings_;
  if (s.user.empty() && s.group.empty()) return;
  // the config loader refuses it too: a group alone would switch the group and keep the daemon's uid (root)
  if (s.user.empty())
    throw std::invalid_argument("group '" + s.group + "' without a user: the step would keep the daemon's user");
  auto identity = std::make_shared<Identity>();
  identity->user = s.user;
  identity->group = s.group;
  if (!s.user.empty()) {
    const passwd* pw = ::getpwnam(s.user.c_str());
    if (!pw) throw std::invalid_argument("no such user '" + s.user + "'");
    identity->uid = pw->pw_uid;
    identity->gid = pw->pw_gid;
    int count = 64;
    identity->groups.resize(static_cast<std::size_t>(count));
    if (::getgrouplist(pw->pw_name, pw->pw_gid, identity->groups.data(), &count) < 0) {
      identity->groups.resize(static_cast<std::size_t>(count));
      ::getgrouplist(pw->pw_name, pw->pw_gid, identity->groups.data(), &count);
    }
    identity->groups.resize(static_cast<std::size_t>(count));
  }
  if (!s.group.empty()) {
    const group* gr = ::getgrnam(s.group.c_str());
    if (!gr) throw std::invalid_argument("no such group '" + s.group + "'");
    identity->gid = gr->gr_gid;
  }
  identity_ = std::move(identity);
}

ProcessExecutor::~ProcessExecutor() = default;

void ProcessExecutor::start(const model::JobStep& step, const StepContext& context, StepDone done) {
  auto run = std::make_shared<ProcessRun>(io_, settings_, step, context, std::move(done));
  run->launch(identity_.get());
}

namespace {

// A small /proc file, read with plain read(2): the process may be gone by the time it is read (ESRCH),
// which must be a "no", never an exception.
std::optional<std::string> read_proc_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    ::close(fd);
    if (n < 0) return std::nullopt;
    return out;
  }
}

}  // namespace

std::vector<int> zombie_children(int parent) {
  std::vector<int> out;
  const std::string wanted = std::to_string(parent);
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc", ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto stat = read_proc_file("/proc/" + name + "/stat");
    if (!stat) continue;
    const auto close = stat->rfind(')');  // the command name may hold spaces and parentheses
    if (close == std::string::npos || close + 4 >= stat->size()) continue;
    std::istringstream rest(stat->substr(close + 2));
    std::string state, ppid;
    rest >> state >> ppid;
    if (state == "Z" && ppid == wanted) out.push_back(std::stoi(name));
  }
  return out;
}

int reap_stray_children() {
  int reaped = 0;
  for (const int pid : zombie_children(::getpid())) {
    {
      std::lock_guard lock(g_leaders_mutex);
      if (g_leaders.count(pid)) continue;
    }
    if (::waitpid(pid, nullptr, WNOHANG) == pid) ++reaped;
  }
  return reaped;
}

void cloexec_descriptors(long close_range_result, int first, int limit) {
  if (close_range_result == 0) return;
  for (int fd = first; fd < limit; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // EBADF for the closed ones: fine
}

int descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1 << 20;  // the kernel's default fs.nr_open
  return limit.rlim_cur > static_cast<rlim_t>(INT_MAX) ? INT_MAX : static_cast<int>(limit.rlim_cur);
}

OpenFilesLimit raise_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
  const auto as_number = [](rlim_t v) { return v == RLIM_INFINITY ? LLONG_MAX : static_cast<long long>(v); };
  OpenFilesLimit out{as_number(limit.rlim_cur), as_number(limit.rlim_cur), as_number(limit.rlim_max)};
  if (limit.rlim_cur == limit.rlim_max) return out;
  if (!g_restore_child_nofile) {
    g_child_nofile = limit;
    g_restore_child_nofile = true;
  }
  rlimit raised{limit.rlim_max, limit.rlim_max};
  if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) out.soft = out.hard;
  return out;
}

void prepare_process_for_children() {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::signal(SIGPIPE, SIG_IGN);
}

}  // namespace govjobd::executors
