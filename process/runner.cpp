// The only file that includes Boost.Process (its headers compile slowly). Every trap of Boost.Process v1
// listed in STACK_NOTES.md is handled in process/; each is named where it is handled (trap 6 and 7 in
// process_group.cpp, the others here).
#include "process/runner.hpp"

#include <linux/close_range.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <map>
#include <optional>
#include <string>
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it
#include <vector>

#include <boost/asio.hpp>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/posix.hpp>
#include <fmt/format.h>

#include "process/child_reaper.hpp"
#include "process/descriptors.hpp"
#include "process/process_group.hpp"
#include "process/spawn_failure.hpp"

namespace govjobd::process {

namespace asio = boost::asio;
namespace bp = boost::process;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

namespace {

constexpr milliseconds kDrainTimeout{500};  // after the group is gone, how long a stray writer may hold a pipe

// The child's environment, exactly the spec's. Not bp::environment: in Boost 1.74 its operator[] looks a name
// up with std::equal over the name's length, reading past the end of a shorter entry (ASan: heap-buffer-
// overflow in basic_environment_impl::find). Built before the spawn; execve reads `envp`.
struct ExactEnvironment : bp::extend::handler {
  explicit ExactEnvironment(const std::map<std::string, std::string>& env) {
    entries.reserve(env.size());
    for (const auto& [name, value] : env) entries.push_back(name + "=" + value);
    for (auto& entry : entries) envp.push_back(entry.data());
    envp.push_back(nullptr);
  }
  template <class Executor>
  void on_setup(Executor& e) const {
    e.env = const_cast<char**>(envp.data());
  }
  std::vector<std::string> entries;
  std::vector<char*> envp;
};

// Runs in the child between vfork and exec: async-signal-safe calls only, no allocation.
struct ChildSetup : bp::extend::handler {
  const gid_t* groups = nullptr;
  std::size_t group_count = 0;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  const char* workdir = nullptr;    // null: the daemon's
  int fd_limit = 0;                 // descriptor_limit(), read by the parent
  const rlimit* nofile = nullptr;   // child_open_files_limit(), read by the parent
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
    if (nofile) ::setrlimit(RLIMIT_NOFILE, nofile);  // lowering the soft limit: cannot fail
    // raw syscalls: glibc's set*id would signal the parent's other threads from a vfork child
    if (gid) {
      if (::syscall(SYS_setgroups, group_count, groups) != 0) fail(exec, SetupFailure::Groups);
      if (::syscall(SYS_setresgid, *gid, *gid, *gid) != 0) fail(exec, SetupFailure::Gid);
    }
    if (uid && ::syscall(SYS_setresuid, *uid, *uid, *uid) != 0) fail(exec, SetupFailure::Uid);
    // after the drop: the child's user must be able to reach its workdir, root's access proves nothing
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

// The read end of a pipe as an Asio descriptor: Boost.Process 1.74 hands out only a const reference to it.
asio::posix::stream_descriptor& read_end(bp::async_pipe& pipe) {
  return const_cast<asio::posix::stream_descriptor&>(pipe.source());
}

// One read buffer for every stream of every child: a stream is read only once it is readable, and the capture
// takes what it keeps before the next read (loop thread only). An idle child holds no buffer at all.
constexpr std::size_t kReadBufferBytes = 64 * 1024;
char* read_buffer() {
  static thread_local std::array<char, kReadBufferBytes> buffer;
  return buffer.data();
}

}  // namespace

// One running child and everything it needs until its result is delivered.
class Run : public std::enable_shared_from_this<Run> {
 public:
  Run(asio::io_context& io, std::shared_ptr<ChildReaper> reaper, Spec spec, std::function<void(Result)> done)
      : io_(io), reaper_(std::move(reaper)), spec_(std::move(spec)), done_(std::move(done)), deadline_timer_(io),
        drain_timer_(io), stdout_(spec_.max_output_bytes), stderr_(spec_.max_output_bytes) {}

  void launch();
  void stop(StopReason why);

 private:
  struct Stream {
    std::optional<bp::async_pipe>* pipe;
    BoundedCapture* capture;
    bool open = true;
  };

  std::optional<boost::filesystem::path> program();
  bool open_pipes();
  ChildSetup child_setup(SetupFailure* failure) const;
  bool spawn(const boost::filesystem::path& exe);
  void start_io();
  void read(Stream& s);
  void on_leader_exit();
  void on_group_gone();
  void maybe_finish();
  void finish();
  void fail_to_spawn(std::string error, bool resource_shortage = false);

  asio::io_context& io_;
  std::shared_ptr<ChildReaper> reaper_;
  Spec spec_;
  std::function<void(Result)> done_;
  std::optional<bp::async_pipe> in_, out_, err_;  // opened by launch(): EMFILE there fails the run, not the daemon
  asio::steady_timer deadline_timer_, drain_timer_;
  BoundedCapture stdout_, stderr_;
  Stream out_stream_{&out_, &stdout_};
  Stream err_stream_{&err_, &stderr_};
  bp::child child_;
  pid_t leader_ = 0;  // the child, and the id of its process group
  std::shared_ptr<ProcessGroup> group_;
  steady::time_point started_{};
  StopReason stopped_by_ = StopReason::None;
  bool leader_exited_ = false;
  int raw_status_ = 0;
  bool group_gone_ = false;
  bool drained_ = false;
  bool finished_ = false;
};

void Run::launch() {
  started_ = steady::now();
  const auto exe = program();
  if (!exe) return;
  if (spec_.identity && ::geteuid() != 0)
    return fail_to_spawn(fmt::format("cannot run as user '{}' group '{}': govjobd is not running as root",
                                     spec_.identity->user, spec_.identity->group));
  if (!open_pipes() || !spawn(*exe)) return;
  if (spec_.on_spawned) spec_.on_spawned();
  start_io();
}

std::optional<boost::filesystem::path> Run::program() {
  if (spec_.argv.empty()) {
    fail_to_spawn("no program to run");
    return std::nullopt;
  }
  const std::string& name = spec_.argv.front();
  if (name.find('/') != std::string::npos) return boost::filesystem::path(name);
  boost::filesystem::path found = bp::search_path(name);
  if (found.empty()) {
    fail_to_spawn(fmt::format("executable '{}' not found in PATH", name));
    return std::nullopt;
  }
  return found;
}

bool Run::open_pipes() {
  try {
    in_.emplace(io_);
    out_.emplace(io_);
    err_.emplace(io_);
    read_end(*out_).non_blocking(true);
    read_end(*err_).non_blocking(true);
    return true;
  } catch (const std::system_error& e) {  // pipe(2): EMFILE, ENFILE
    const bool shortage = is_resource_shortage(e.code());
    fail_to_spawn(shortage ? shortage_text(e.code()) : e.what(), shortage);
    return false;
  }
}

ChildSetup Run::child_setup(SetupFailure* failure) const {
  ChildSetup setup;
  setup.failure = failure;
  setup.fd_limit = descriptor_limit();
  setup.nofile = child_open_files_limit();
  if (!spec_.workdir.empty()) setup.workdir = spec_.workdir.c_str();
  if (const Identity* identity = spec_.identity.get()) {
    setup.uid = identity->uid;
    setup.gid = identity->gid;
    setup.groups = identity->groups.data();
    setup.group_count = identity->groups.size();
  }
  return setup;
}

bool Run::spawn(const boost::filesystem::path& exe) {
  SetupFailure failure = SetupFailure::None;
  ChildSetup setup = child_setup(&failure);
  const std::vector<std::string> args(spec_.argv.begin() + 1, spec_.argv.end());
  const ExactEnvironment env(spec_.env);
  auto self = shared_from_this();
  // trap 2: never act inside on_exit (it runs while Boost iterates its waiter list); post out of it
  auto on_exit = [self](int, const std::error_code&) { asio::post(self->io_, [self] { self->on_leader_exit(); }); };
  std::error_code ec;
  // trap 8: vfork (built with BOOST_POSIX_HAS_VFORK=1), so the loop is not blocked copying page tables
  child_ = bp::child(bp::exe = exe, bp::args = args, bp::std_in < *in_, bp::std_out > *out_, bp::std_err > *err_,
                     env, io_, bp::on_exit = on_exit, bp::posix::use_vfork, setup, ec);
  if (ec && failure == SetupFailure::None && is_resource_shortage(ec)) {
    fail_to_spawn(shortage_text(ec), true);
    return false;
  }
  if (ec || !child_.valid()) {
    fail_to_spawn(spawn_error_text(failure, exe.string(), ec, spec_.identity.get(), spec_.workdir),
                  is_resource_shortage(ec));
    return false;
  }
  leader_ = child_.id();
  reaper_->track(leader_, true);
  ::setpgid(leader_, leader_);  // the child did it already (vfork returns after exec); harmless if so
  child_.detach();  // trap 3 and 6: we never wait(); the child object lives until on_exit, we signal the group
  group_ = std::make_shared<ProcessGroup>(io_, leader_, spec_.kill_grace);
  return true;
}

void Run::start_io() {
  auto self = shared_from_this();
  asio::async_write(*in_, asio::buffer(spec_.stdin_bytes), [self](const boost::system::error_code&, std::size_t) {
    boost::system::error_code ignored;
    self->in_->close(ignored);  // EOF for the child; EPIPE when it does not read is fine (SIGPIPE is ignored)
  });
  read(out_stream_);
  read(err_stream_);
  if (!spec_.deadline) return;
  deadline_timer_.expires_at(*spec_.deadline);
  deadline_timer_.async_wait([self](const boost::system::error_code& e) {
    if (!e) self->stop(StopReason::Deadline);
  });
}

// Waits until the stream is readable, then reads what is there into the shared buffer (a few reads at most,
// so that a flood does not starve the loop) and waits again: no memory is held while a child prints nothing.
void Run::read(Stream& s) {
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

// SIGTERM to the group now, SIGKILL after kill_grace unless the group is gone by then.
void Run::stop(StopReason why) {
  if (finished_ || group_gone_ || !group_) return;
  if (stopped_by_ == StopReason::None && !leader_exited_) stopped_by_ = why;
  group_->terminate();
}

void Run::on_leader_exit() {
  leader_exited_ = true;
  reaper_->track(leader_, false);
  raw_status_ = child_.native_exit_code();  // trap 4: the raw wait status tells exit 15 from SIGTERM
  deadline_timer_.cancel();
  group_->leader_exited([self = shared_from_this()] { self->on_group_gone(); });
}

void Run::on_group_gone() {
  group_gone_ = true;
  // trap 7: a process outside the group (setsid) may still hold a pipe: stop reading after a short drain
  drain_timer_.expires_after(kDrainTimeout);
  drain_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
    if (e) return;
    self->drained_ = true;
    self->maybe_finish();
  });
  maybe_finish();
}

void Run::maybe_finish() {
  if (finished_ || !leader_exited_ || !group_gone_) return;
  if ((out_stream_.open || err_stream_.open) && !drained_) return;
  finish();
}

void Run::finish() {
  finished_ = true;
  deadline_timer_.cancel();
  drain_timer_.cancel();
  group_->close();
  boost::system::error_code ignored;
  in_->close(ignored);
  out_->close(ignored);
  err_->close(ignored);
  Result r;
  r.duration = std::chrono::duration_cast<milliseconds>(steady::now() - started_);
  if (WIFEXITED(raw_status_)) r.exit_code = WEXITSTATUS(raw_status_);
  if (WIFSIGNALED(raw_status_)) r.signal = WTERMSIG(raw_status_);
  r.stopped_by = stopped_by_;
  r.killed = group_->killed();
  r.out = std::move(stdout_);
  r.err = std::move(stderr_);
  asio::post(io_, [done = std::move(done_), r = std::move(r)]() mutable { done(std::move(r)); });
}

void Run::fail_to_spawn(std::string error, bool resource_shortage) {
  finished_ = true;
  Result r;
  r.spawn_error = "spawn failed: " + std::move(error);
  r.resource_shortage = resource_shortage;
  r.duration = std::chrono::duration_cast<milliseconds>(steady::now() - started_);
  asio::post(io_, [done = std::move(done_), r = std::move(r)]() mutable { done(std::move(r)); });
}

void Handle::stop() const {
  if (auto run = run_.lock()) run->stop(StopReason::Stopped);
}

Handle run(asio::io_context& io, std::shared_ptr<ChildReaper> reaper, Spec spec, std::function<void(Result)> done) {
  auto r = std::make_shared<Run>(io, std::move(reaper), std::move(spec), std::move(done));
  r->launch();
  return Handle(r);
}

}  // namespace govjobd::process
