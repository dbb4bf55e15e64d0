// The local delivery agent: requests in, Maildir deliveries, replies out. See local_agent.h;
// the crash-safety argument is in docs/queue-format.md ("Delivering").
#include "delivery/local_agent.h"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "delivery/maildir.h"
#include "log/delay.h"
#include "message/write_failure.h"
#include "net/signal_fd.h"
#include "policy/mailbox_name.h"
#include "queue/background_thread.h"

namespace estafeta::delivery {
namespace {

qmgr::RecipientReply reply_for(const qmgr::AgentRecipient& r, qmgr::RecipientOutcome outcome,
                               std::string status, std::string reason) {
  qmgr::RecipientReply out;
  out.index = r.index;
  out.outcome = outcome;
  out.status = std::move(status);
  out.reason = std::move(reason);
  out.relay = "local";
  return out;
}

std::string_view status_word(qmgr::RecipientOutcome o) {
  switch (o) {
    case qmgr::RecipientOutcome::kDelivered: return "sent";
    case qmgr::RecipientOutcome::kBounced: return "bounced";
    case qmgr::RecipientOutcome::kDeferred: return "deferred";
  }
  return "deferred";
}

// A Maildir write that failed: what it means for the recipient (RFC 3463): 4.2.2 for a
// quota, 4.3.1 for a full disk, else 4.2.0 (message/write_failure.h).
std::string status_of_failure(const Error& e) {
  return std::string(message::mailbox_write_failure(e.code).dsn);
}

}  // namespace

LocalAgent::LocalAgent(LocalAgentOptions options, log::Logger log)
    : options_(std::move(options)), log_(std::move(log)) {
  if (options_.threads < 1) options_.threads = 1;
  auto store = queue::QueueStore::open({.queue_directory = options_.queue_directory});
  if (store) {
    store_ = std::move(*store);
  } else {
    log_.error(fmt::format("cannot open the queue: {}", store.error().message));
  }
}

LocalAgent::~LocalAgent() = default;

qmgr::AgentReply LocalAgent::deliver(const qmgr::AgentRequest& request) {
  const int64_t start_us = system_now_us();
  qmgr::AgentReply reply;
  reply.id = request.id;
  auto defer_all = [&](std::string status, std::string reason) {
    for (const auto& r : request.recipients) {
      reply.recipients.push_back(
          reply_for(r, qmgr::RecipientOutcome::kDeferred, status, reason));
    }
    log_.warning("{}: {}", request.queue_id, reason);
    return reply;
  };
  if (!store_) return defer_all("4.3.0", "queue not available");
  const queue::QueueName queue =
      request.queue == "deferred" ? queue::QueueName::kDeferred : queue::QueueName::kActive;
  auto read = store_->read_message(queue, request.queue_id);
  if (!read.ok()) return defer_all("4.3.0", "cannot read the queue file: " + read.reason);
  const message::Envelope& env = read.value->file.envelope;
  const std::string& content = read.value->file.content;

  std::vector<std::string> maildirs;  // each once: synced before any reply
  std::vector<std::string> lines;     // logged once durable
  auto line = [&](const qmgr::AgentRecipient& r, int64_t began_us, const qmgr::RecipientReply& out) {
    const int64_t end_us = system_now_us();
    return fmt::format(
        "{}: to=<{}>, relay=local, delay={}, delays={}/0/0/{}, dsn={}, status={} ({})",
        request.queue_id, r.address, log::format_delay(std::max<int64_t>(0, end_us - env.arrival_us) / 1e6),
        log::format_delay(std::max<int64_t>(0, start_us - env.arrival_us) / 1e6),
        log::format_delay((end_us - began_us) / 1e6), out.status, status_word(out.outcome), out.reason);
  };
  for (const qmgr::AgentRecipient& r : request.recipients) {
    const int64_t began_us = system_now_us();
    if (r.index >= env.recipients.size() || env.recipients[r.index].address != r.address) {
      reply.recipients.push_back(reply_for(r, qmgr::RecipientOutcome::kDeferred, "4.3.0",
                                           "recipient not in the queue file"));
      lines.push_back(line(r, began_us, reply.recipients.back()));
      continue;
    }
    const size_t at = r.address.rfind('@');
    std::string_view local =
        at == std::string::npos ? std::string_view(r.address) : std::string_view(r.address).substr(0, at);
    auto mailbox = policy::mailbox_name(local);
    if (!mailbox) {
      reply.recipients.push_back(reply_for(r, qmgr::RecipientOutcome::kBounced, "5.1.3",
                                           "illegal mailbox name"));
      lines.push_back(line(r, began_us, reply.recipients.back()));
      continue;
    }
    const std::string maildir = options_.mail_spool_directory + "/" + *mailbox + "/Maildir";
    const std::string name =
        maildir_file_name(env.arrival_us / 1000000, request.queue_id, r.index, options_.myhostname);
    auto linked = link_into_maildir(maildir, name, maildir_message(env.sender, r.address, content));
    if (!linked) {
      reply.recipients.push_back(
          reply_for(r, qmgr::RecipientOutcome::kDeferred, status_of_failure(linked.error()),
                    fmt::format("maildir delivery failed: {}", linked.error().message)));
      lines.push_back(line(r, began_us, reply.recipients.back()));
      continue;
    }
    reply.recipients.push_back(reply_for(r, qmgr::RecipientOutcome::kDelivered, "2.0.0",
                                         "delivered to maildir"));
    lines.push_back(line(r, began_us, reply.recipients.back()));
    if (std::find(maildirs.begin(), maildirs.end(), maildir) == maildirs.end()) {
      maildirs.push_back(maildir);
    }
  }
  // Delivered means durable: every new/ entry synced before the reply says so. Concurrent
  // requests share these syncs.
  for (const std::string& maildir : maildirs) {
    if (Status s = sync_maildir_new(maildir, syncs_); !s.ok()) {
      for (size_t i = 0; i < reply.recipients.size(); ++i) {
        auto& out = reply.recipients[i];
        if (out.outcome != qmgr::RecipientOutcome::kDelivered) continue;
        // The retry finds the name taken and syncs again.
        out.outcome = qmgr::RecipientOutcome::kDeferred;
        out.status = status_of_failure(s.error());
        out.reason = fmt::format("maildir delivery failed: {}", s.error().message);
        lines[i] = line(request.recipients[i], start_us, out);
      }
      break;
    }
  }
  for (const std::string& l : lines) log_.info("{}", l);
  return reply;
}

// ---- the socket side -----------------------------------------------------------------------

// One connection from the queue manager: a reader thread takes requests off it; the pool's
// threads write the replies (one at a time).
struct Connection {
  int fd = -1;
  std::mutex write_mutex;
  bool broken = false;  // guarded by write_mutex
  ~Connection() {
    if (fd >= 0) ::close(fd);
  }
  void send(const std::string& bytes) {
    std::lock_guard lock(write_mutex);
    std::string_view rest = bytes;
    while (!broken && !rest.empty()) {
      ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        broken = true;  // the queue manager went away: it defers what it did not hear of
        break;
      }
      rest.remove_prefix(size_t(n));
    }
  }
};

class LocalAgent::Server {
 public:
  explicit Server(LocalAgent& agent) : agent_(agent) {}

  void start_workers() {
    for (int i = 0; i < agent_.options_.threads; ++i) workers_.emplace_back([this] { work(); });
  }

  void add_connection(int fd) {
    auto c = std::make_shared<Connection>();
    c->fd = fd;
    std::lock_guard lock(mutex_);
    connections_.push_back(c);
    readers_.emplace_back([this, c] { read(c); });
  }

  // Stops reading new requests, lets the workers finish the queued ones, joins everything.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      for (auto& weak : connections_) {
        if (auto c = weak.lock()) ::shutdown(c->fd, SHUT_RD);
      }
    }
    for (auto& t : readers_) t.join();
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  struct Job {
    std::shared_ptr<Connection> connection;
    qmgr::AgentRequest request;
  };

  void read(std::shared_ptr<Connection> c) {
    std::string buffer;
    char chunk[64 * 1024];
    for (;;) {
      ssize_t n = ::recv(c->fd, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      buffer.append(chunk, size_t(n));
      for (;;) {
        auto taken = qmgr::take_request(buffer);
        if (!taken.ok()) {
          agent_.log_.warning("bad request from the queue manager: {}", taken.error().message);
          ::shutdown(c->fd, SHUT_RDWR);
          return;
        }
        if (!taken->has_value()) break;
        {
          std::lock_guard lock(mutex_);
          jobs_.push_back(Job{c, std::move(**taken)});
        }
        cv_.notify_one();
      }
    }
  }

  void work() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      qmgr::AgentReply reply = agent_.deliver(job.request);
      job.connection->send(qmgr::encode_reply(reply));
    }
  }

  LocalAgent& agent_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;  // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::vector<std::weak_ptr<Connection>> connections_;  // guarded by mutex_
  std::vector<std::thread> readers_;  // guarded by mutex_ while serving
  std::vector<std::thread> workers_;
};

int LocalAgent::serve(int listen_fd) {
  (void)queue::make_current_thread_background();
  if (!store_) return 1;  // the constructor logged why
  auto stop = net::block_into_signalfd({SIGTERM, SIGINT});
  if (!stop.ok()) {
    log_.fatal(stop.error().message);
    return 1;
  }
  const int sfd = *stop;
  Server server(*this);
  server.start_workers();
  for (;;) {
    pollfd fds[2] = {{sfd, POLLIN, 0}, {listen_fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log_.fatal(fmt::format("poll: {}", std::strerror(errno)));
      break;
    }
    if (fds[0].revents != 0) break;  // SIGTERM or SIGINT
    if (fds[1].revents != 0) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) server.add_connection(fd);
    }
  }
  server.stop();
  ::close(sfd);
  return 0;
}

}  // namespace estafeta::delivery
