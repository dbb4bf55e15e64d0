// The minimal delivery agent: active/<id> -> Maildir for local recipients (delivery
// threads) -> fsync of new/ for a batch and removal (the finishing thread), or -> deferred/
// for recipients in other domains. Every change of queue state goes through
// queue::QueueStore. See delivery_agent.h; the crash-safety argument is in
// docs/queue-format.md ("Delivery").
#include "delivery/delivery_agent.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <thread>

#include "base/ascii.h"
#include "delivery/fan_out.h"
#include "delivery/maildir.h"
#include "policy/mailbox_name.h"
#include "queue/background_thread.h"
#include "queue/queue_file.h"
#include "queue/queue_store.h"

namespace estafeta::delivery {
namespace {

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::string errno_text(std::string_view call, std::string_view what) {
  return fmt::format("{}({}): {}", call, what, std::strerror(errno));
}

bool is_queue_id(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
  });
}

// A closed file descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::string format_delay(double seconds) {
  if (!(seconds > 0)) return "0";
  if (seconds >= 100) return fmt::format("{}", static_cast<int64_t>(std::llround(seconds)));
  std::string s = fmt::format("{:.2f}", seconds);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

DeliveryAgent::DeliveryAgent(DeliveryAgentOptions options, log::Logger qmgr_log,
                             log::Logger local_log)
    : options_(std::move(options)),
      qmgr_log_(std::move(qmgr_log)),
      local_log_(std::move(local_log)) {
  if (options_.concurrency < 1) options_.concurrency = 1;
  if (options_.scan_interval_seconds < 1) options_.scan_interval_seconds = 1;
  auto store = queue::QueueStore::open({.queue_directory = options_.queue_directory});
  if (store) {
    store_ = std::move(*store);
  } else {
    qmgr_log_.error(fmt::format("cannot open the queue: {}", store.error().message));
  }
}

DeliveryAgent::~DeliveryAgent() = default;

policy::Match DeliveryAgent::is_local_domain(std::string_view domain) const {
  // RFC 5321 §4.1.1.3: "postmaster" without a domain is local.
  if (domain.empty()) return policy::Match::Yes;
  if (domain.back() == '.') domain.remove_suffix(1);
  return options_.local_domains.contains(domain);
}

Status DeliveryAgent::sync_dir(const std::string& path) {
  return syncs_.sync(path, [&path]() -> Status {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return make_error(errno_text("open", path));
    int rc;
    do {
      rc = ::fsync(fd);
    } while (rc != 0 && errno == EINTR);
    Status s = rc == 0 ? Status() : Status(make_error(errno_text("fsync", path)));
    ::close(fd);
    return s;
  });
}

bool DeliveryAgent::deliver_one(const std::string& queue_id) {
  Linked linked;
  switch (attempt(queue_id, linked)) {
    case Attempt::Gone:
      return true;
    case Attempt::Stays:
      return false;
    case Attempt::Linked:
      break;
  }
  std::vector<Linked> batch;
  batch.push_back(std::move(linked));
  FanOut on_this_thread(0);  // never the finishing thread's helpers: one caller at a time
  return finish(batch, on_this_thread) == 1;
}

DeliveryAgent::Attempt DeliveryAgent::attempt(const std::string& queue_id, Linked& linked) {
  const int64_t pickup_us = now_us();
  if (!store_) return Attempt::Stays;
  auto read = store_->read_message(queue::QueueName::kActive, queue_id);
  if (!read.ok()) {
    switch (read.failure) {
      case queue::ReadFailure::kGone:
        return Attempt::Gone;  // already delivered and removed
      case queue::ReadFailure::kError:
        qmgr_log_.warning("{}: {}", queue_id, read.reason);
        return Attempt::Stays;
      case queue::ReadFailure::kCorrupt: {
        // Never deliver an incomplete or damaged file; keep it for a human (Postfix corrupt/).
        const bool moved =
            store_->move(queue_id, queue::QueueName::kActive, queue::QueueName::kCorrupt).ok();
        qmgr_log_.warning("{}: corrupt queue file: {}{}", queue_id, read.reason,
                          moved ? "; moved to corrupt/" : "");
        return Attempt::Stays;
      }
    }
  }
  const queue::QueueFile* file = &read.value->file;
  const std::vector<queue::RecipientState>& status = read.value->recipients;
  const message::Envelope& env = file->envelope;
  const size_t nrcpt = env.recipients.size();
  qmgr_log_.info("{}: from=<{}>, size={}, nrcpt={} (queue active)", queue_id, env.sender,
                 file->content.size(), nrcpt);

  const double a = std::max<int64_t>(0, pickup_us - env.arrival_us) / 1e6;
  std::vector<queue::StatusEntry> outcomes;  // for the status log, when the file stays
  std::vector<size_t> remote;
  bool local_failed = false;
  auto result_line = [&](const message::Recipient& r, std::string_view relay, int64_t start_us,
                         std::string_view dsn, std::string_view status) {
    const int64_t end_us = now_us();
    return fmt::format("{}: to=<{}>, relay={}, delay={}, delays={}/{}/0/{}, dsn={}, status={}",
                       queue_id, r.address, relay,
                       format_delay(std::max<int64_t>(0, end_us - env.arrival_us) / 1e6),
                       format_delay(a), format_delay((start_us - pickup_us) / 1e6),
                       format_delay((end_us - start_us) / 1e6), dsn, status);
  };
  auto log_result = [&](const log::Logger& logger, const message::Recipient& r,
                        std::string_view relay, int64_t start_us, std::string_view dsn,
                        std::string_view status) {
    logger.info("{}", result_line(r, relay, start_us, dsn, status));
  };
  linked.queue_id = queue_id;

  for (size_t i = 0; i < nrcpt; ++i) {
    if (status[i].done) continue;
    const message::Recipient& r = env.recipients[i];
    const int64_t start_us = now_us();
    const size_t at = r.address.rfind('@');
    std::string_view local = at == std::string::npos ? std::string_view(r.address)
                                                     : std::string_view(r.address).substr(0, at);
    std::string_view domain =
        at == std::string::npos ? std::string_view() : std::string_view(r.address).substr(at + 1);
    policy::Match local_domain = is_local_domain(domain);
    if (local_domain == policy::Match::TempFail) {
      log_result(local_log_, r, "none", start_us, "4.3.0",
                 "deferred (mydestination lookup failed: temporary lookup failure)");
      local_failed = true;
      continue;
    }
    if (local_domain == policy::Match::No) {
      remote.push_back(i);
      continue;
    }
    auto mailbox = policy::mailbox_name(local);
    if (!mailbox) {
      // TODO(queue): a bounce message (later issue); for now the recipient is dropped.
      log_result(local_log_, r, "local", start_us, "5.1.3", "bounced (illegal mailbox name)");
      outcomes.push_back({queue::StatusKind::kBounced, uint32_t(i), now_us(), "5.1.3", "local",
                          "illegal mailbox name"});
      continue;
    }
    const std::string maildir = options_.mail_spool_directory + "/" + *mailbox + "/Maildir";
    const std::string name =
        maildir_file_name(env.arrival_us / 1000000, queue_id, i, options_.myhostname);
    auto outcome =
        link_into_maildir(maildir, name, maildir_message(env.sender, r.address, file->content));
    if (!outcome) {
      log_result(local_log_, r, "local", start_us, "4.2.0",
                 fmt::format("deferred (maildir delivery failed: {})", outcome.error().message));
      local_failed = true;
      continue;
    }
    // Logged once new/ is synced (below, or by finish()).
    linked.sent_lines.push_back(
        result_line(r, "local", start_us, "2.0.0", "sent (delivered to maildir)"));
    if (std::find(linked.maildirs.begin(), linked.maildirs.end(), maildir) ==
        linked.maildirs.end()) {
      linked.maildirs.push_back(maildir);
    }
    outcomes.push_back({queue::StatusKind::kDelivered, uint32_t(i), now_us(), "2.0.0", "local",
                        "delivered to maildir"});
  }

  if (remote.empty() && !local_failed) {
    // Every recipient is done: what is left (the syncs of new/, the removal) is finish()'s.
    linked.linked_at = std::chrono::steady_clock::now();
    return Attempt::Linked;
  }

  // Some recipients remain. Their Maildir entries become durable now, then the outcomes go
  // to the status log (durable before anything else happens), so that no later pass
  // repeats a finished recipient.
  for (const std::string& maildir : linked.maildirs) {
    if (Status s = sync_maildir_new(maildir, syncs_); !s.ok()) {
      qmgr_log_.warning("{}: {}; stays queued", queue_id, s.error().message);
      return Attempt::Stays;  // the retry finds the names taken and syncs again
    }
  }
  for (const std::string& line : linked.sent_lines) local_log_.info("{}", line);
  for (size_t i : remote) {
    log_result(qmgr_log_, env.recipients[i], "none", now_us(), "4.3.0",
               "deferred (remote delivery is not implemented yet)");
    outcomes.push_back({queue::StatusKind::kDeferred, uint32_t(i), now_us(), "4.3.0", "none",
                        "remote delivery is not implemented yet"});
  }
  if (Status s = store_->record(queue_id, outcomes); !s.ok()) {
    qmgr_log_.warning("{}: {}", queue_id, s.error().message);
    return Attempt::Stays;  // the retry finds the Maildir names taken
  }
  if (local_failed) return Attempt::Stays;  // in active/: the periodic scan retries it
  if (Status s = store_->move(queue_id, queue::QueueName::kActive, queue::QueueName::kDeferred);
      !s.ok()) {
    qmgr_log_.warning("{}: {}", queue_id, s.error().message);
    return Attempt::Stays;
  }
  return Attempt::Stays;
}

size_t DeliveryAgent::finish(std::vector<Linked>& batch, FanOut& fan_out) {
  // One fsync per Maildir serves every delivery of the batch into it; the syncs of
  // different Maildirs run in parallel on `fan_out`.
  std::vector<std::string> maildirs;
  for (const Linked& l : batch) {
    maildirs.insert(maildirs.end(), l.maildirs.begin(), l.maildirs.end());
  }
  std::sort(maildirs.begin(), maildirs.end());
  maildirs.erase(std::unique(maildirs.begin(), maildirs.end()), maildirs.end());
  std::vector<Status> synced(maildirs.size());
  fan_out.run(maildirs.size(),
              [&](size_t i) { synced[i] = sync_maildir_new(maildirs[i], syncs_); });
  auto sync_status = [&](const std::string& maildir) -> const Status& {
    auto it = std::lower_bound(maildirs.begin(), maildirs.end(), maildir);
    return synced[size_t(it - maildirs.begin())];
  };

  size_t gone = 0;
  log::LineBatch lines;  // the batch's "sent" and "removed" lines in one write
  for (const Linked& l : batch) {
    bool durable = true;
    for (const std::string& maildir : l.maildirs) {
      if (const Status& s = sync_status(maildir); !s.ok()) {
        lines.add_warning(qmgr_log_,
                          fmt::format("{}: {}; stays queued", l.queue_id, s.error().message));
        durable = false;
      }
    }
    // Not durable: the file stays in active/; the periodic scan retries it, finds the names
    // taken and syncs again.
    if (durable && remove_delivered(l, lines)) ++gone;
  }
  return gone;
}

bool DeliveryAgent::remove_delivered(const Linked& l, log::LineBatch& lines) {
  for (const std::string& line : l.sent_lines) lines.add(local_log_, line);
  // Every recipient is done: forget the file (and its status log, if it has one).
  // No fsync of active/ here (Postfix does none either): the next commit's fsync of
  // active/ makes this removal durable too, and if a crash undoes it first, the Maildir
  // names absorb the redelivery.
  if (Status s = store_->remove(queue::QueueName::kActive, l.queue_id); !s.ok()) {
    lines.add_warning(qmgr_log_, fmt::format("{}: {}", l.queue_id, s.error().message));
    return false;
  }
  lines.add(qmgr_log_, fmt::format("{}: removed", l.queue_id));
  return true;
}

void DeliveryAgent::enqueue(const std::string& queue_id) {
  size_t wake = 0;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || !pending_.insert(queue_id).second) return;  // already queued or running
    work_.push_back(Queued{queue_id, std::chrono::steady_clock::now()});
    if (work_.size() - released_ >= size_t(options_.concurrency)) {
      wake = release_all_locked();  // a full round for the delivery threads goes at once
    } else if (!window_watched_) {
      wake = 1;  // an idle thread starts watching the gathering window
    }
  }
  wake_workers(wake);
}

size_t DeliveryAgent::release_all_locked() {
  const size_t count = work_.size() - released_;
  released_ = work_.size();
  return count;
}

// Outside mutex_: a thread woken while the waker holds it would at once block on it again.
void DeliveryAgent::wake_workers(size_t count) {
  for (size_t i = 0; i < count; ++i) cv_.notify_one();
}

void DeliveryAgent::worker() {
  for (;;) {
    std::string id;
    size_t wake = 0;
    {
      std::unique_lock lock(mutex_);
      for (;;) {
        if (stopping_) return;  // undelivered ids stay in active/ for the next start
        if (released_ > 0) break;
        if (work_.empty() || window_watched_) {
          cv_.wait(lock);
          continue;
        }
        // Gathering: files that arrive close together are delivered together, in parallel,
        // so that their fdatasyncs share cache flushes (the block layer merges flushes that
        // wait for one in flight) and one fsync of new/ serves them all. One thread watches
        // the window; the others sleep until entries are released to them.
        const auto deadline = work_.front().queued_at + options_.gather_window;
        if (std::chrono::steady_clock::now() < deadline) {
          window_watched_ = true;
          cv_.wait_until(lock, deadline);
          window_watched_ = false;
          continue;
        }
        wake = release_all_locked() - 1;  // the first entry is this thread's
      }
      id = std::move(work_.front().queue_id);
      work_.pop_front();
      --released_;
    }
    wake_workers(wake);
    Linked linked;
    const bool to_finish = attempt(id, linked) == Attempt::Linked;
    bool wake_finisher = false;
    {
      std::lock_guard lock(mutex_);
      if (to_finish) {
        // The finisher erases the id from pending_ once the file is gone.
        wake_finisher = linked_.empty();  // else it is awake or waiting for the window
        linked_.push_back(std::move(linked));
      } else {
        // Only now: a scan while the delivery ran must not start a second one of the file.
        pending_.erase(id);
      }
    }
    if (wake_finisher) finish_cv_.notify_one();
  }
}

void DeliveryAgent::finisher() {
  for (;;) {
    std::vector<Linked> batch;
    {
      std::unique_lock lock(mutex_);
      for (;;) {
        if (linked_.empty()) {
          if (workers_gone_) return;
          finish_cv_.wait(lock);
          continue;
        }
        // Deliveries that finish close together share one fsync of their new/.
        const auto deadline = linked_.front().linked_at + options_.new_dir_sync_window;
        if (!stopping_ && std::chrono::steady_clock::now() < deadline) {
          finish_cv_.wait_until(lock, deadline);
          continue;
        }
        break;
      }
      batch.swap(linked_);
    }
    finish(batch, *fan_out_);
    std::lock_guard lock(mutex_);
    for (const Linked& l : batch) pending_.erase(l.queue_id);
  }
}

void DeliveryAgent::scan_active() {
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator(options_.queue_directory + "/active", ec)) {
    std::string name = e.path().filename().string();
    if (is_queue_id(name)) enqueue(name);
  }
  if (ec) qmgr_log_.warning("scan of active/: {}", ec.message());
}

int DeliveryAgent::run() {
  // Delivery is throughput work: it must not preempt smtpd's event loop (see
  // queue/background_thread.h). The delivery threads started below inherit this.
  (void)queue::make_current_thread_background();
  const std::string& q = options_.queue_directory;
  if (!store_) return 1;  // the constructor logged why
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigset_t old_mask;
  ::pthread_sigmask(SIG_BLOCK, &signals, &old_mask);
  Fd sfd(::signalfd(-1, &signals, SFD_CLOEXEC));
  if (sfd.get() < 0) {
    qmgr_log_.fatal(errno_text("signalfd", "SIGTERM,SIGINT"));
    return 1;
  }
  for (const char* sub : {"", "/active", "/deferred", "/public", "/pid"}) {
    (void)::mkdir((q + sub).c_str(), 0700);
  }
  const std::string lock_path = q + "/pid/qmgr.lock";
  Fd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (lock.get() < 0 || ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    qmgr_log_.fatal(fmt::format("{}: another delivery agent serves this queue ({})", lock_path,
                                std::strerror(errno)));
    return 1;
  }
  const std::string sock_path = q + "/public/qmgr";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (sock_path.size() >= sizeof addr.sun_path) {
    qmgr_log_.fatal(fmt::format("{}: path too long for a unix socket", sock_path));
    return 1;
  }
  std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
  Fd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  ::unlink(sock_path.c_str());  // stale socket of a previous agent; we hold the lock
  if (sock.get() < 0 ||
      ::bind(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    qmgr_log_.fatal(errno_text("bind", sock_path));
    return 1;
  }
  {
    std::lock_guard l(mutex_);
    stopping_ = false;
    workers_gone_ = false;
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < options_.concurrency; ++i) threads.emplace_back([this] { worker(); });
  fan_out_ = std::make_unique<FanOut>(options_.concurrency - 1);
  std::thread finishing([this] { finisher(); });
  scan_active();

  pollfd fds[2] = {{sock.get(), POLLIN, 0}, {sfd.get(), POLLIN, 0}};
  for (;;) {
    int n = ::poll(fds, 2, options_.scan_interval_seconds * 1000);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      qmgr_log_.warning(errno_text("poll", "public/qmgr"));
      break;
    }
    if (n == 0) {
      scan_active();
      continue;
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info{};
      (void)!::read(sfd.get(), &info, sizeof info);
      break;
    }
    if (fds[0].revents & POLLIN) {
      char buf[256];
      for (;;) {
        ssize_t got = ::recv(sock.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (got < 0) break;
        std::string_view id(buf, static_cast<size_t>(got));
        if (id.empty()) {
          scan_active();  // a wake-up was lost somewhere: look at everything
        } else if (is_queue_id(id)) {
          enqueue(std::string(id));
        }
      }
    }
  }
  {
    std::lock_guard l(mutex_);
    stopping_ = true;
    work_.clear();
    released_ = 0;
  }
  cv_.notify_all();
  for (auto& t : threads) t.join();
  {
    // What the workers linked is finished now (not redone by the next start).
    std::lock_guard l(mutex_);
    workers_gone_ = true;
  }
  finish_cv_.notify_all();
  finishing.join();
  fan_out_.reset();
  {
    std::lock_guard l(mutex_);
    pending_.clear();
  }
  ::unlink(sock_path.c_str());
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  return 0;
}

}  // namespace estafeta::delivery
