// The bounce service: requests in, notices queued, replies out. See bounce_service.h.
#include "bounce/bounce_service.h"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "bounce/notice_writer.h"
#include "net/signal_fd.h"
#include "queue/queue_store.h"
#include "queue/spool.h"

namespace estafeta::bounce {
namespace {

// One connection from the queue manager and the bytes read from it.
struct Connection {
  int fd = -1;
  std::string in;
};

// Writes all of `bytes`; false when the peer went away.
bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(size_t(n));
  }
  return true;
}

}  // namespace

BounceService::BounceService(BounceServiceOptions options, log::Logger log)
    : options_(std::move(options)), log_(std::move(log)) {
  auto store = queue::QueueStore::open({.queue_directory = options_.queue_directory});
  if (!store) {
    log_.error(fmt::format("cannot open the queue: {}", store.error().message));
    return;
  }
  queue::Spool::Options spool_options;
  spool_options.queue_directory = options_.queue_directory;
  spool_options.sync_threads = 1;
  // The queue manager learns each notice's queue id from the reply and admits it at once.
  spool_options.send_wakeups = false;
  spool_options.warn = [this](const std::string& text) { log_.warning("{}", text); };
  auto spool = queue::Spool::open(spool_options);
  if (!spool) {
    log_.error(fmt::format("cannot open the queue: {}", spool.error().message));
    return;
  }
  store_ = std::move(*store);
  spool_ = std::move(*spool);
}

BounceService::~BounceService() = default;

qmgr::BounceReply BounceService::handle(const qmgr::BounceRequest& request) {
  qmgr::BounceReply reply;
  reply.id = request.id;
  auto fail = [&](std::string why) {
    log_.warning("{}: cannot queue the notice: {}", request.queue_id, why);
    reply.notice_ids.clear();
    reply.error = std::move(why);
    return reply;
  };
  if (!ready()) return fail("queue not available");
  const queue::QueueName queue =
      request.queue == "deferred" ? queue::QueueName::kDeferred : queue::QueueName::kActive;
  auto read = store_->read_message(queue, request.queue_id);
  if (!read.ok()) return fail("cannot read the message: " + read.reason);
  const message::Envelope& original = read.value->file.envelope;
  auto written = queue_notices(*spool_, plan_notices(request, original, options_.notices),
                               read.value->file.content, request.queue_id, log_);
  if (!written) return fail(written.error().message);
  reply.notice_ids = std::move(*written);
  return reply;
}

int BounceService::serve(int listen_fd) {
  if (!ready()) return 1;  // the constructor logged why
  auto stop = net::block_into_signalfd({SIGTERM, SIGINT});
  if (!stop.ok()) {
    log_.fatal(stop.error().message);
    return 1;
  }
  const int sfd = *stop;
  std::vector<Connection> connections;
  for (;;) {
    std::vector<pollfd> fds = {{sfd, POLLIN, 0}, {listen_fd, POLLIN, 0}};
    for (const Connection& c : connections) fds.push_back({c.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      log_.fatal(fmt::format("poll: {}", std::strerror(errno)));
      break;
    }
    if (fds[0].revents != 0) break;  // SIGTERM or SIGINT: a request in progress was finished
    if (fds[1].revents != 0) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) connections.push_back({fd, {}});
    }
    for (size_t i = 0; i < connections.size(); ++i) {
      if (fds[i + 2].revents == 0) continue;
      Connection& c = connections[i];
      bool keep = true;
      char chunk[16 * 1024];
      ssize_t n = ::recv(c.fd, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) keep = false;
      if (keep) c.in.append(chunk, size_t(n));
      while (keep) {
        auto taken = qmgr::take_bounce_request(c.in);
        if (!taken.ok()) {
          log_.warning("bad request from the queue manager: {}", taken.error().message);
          keep = false;
          break;
        }
        if (!taken->has_value()) break;
        // The queue manager that went away defers what it did not hear of.
        keep = send_all(c.fd, qmgr::encode_bounce_reply(handle(**taken)));
      }
      if (!keep) {
        ::close(c.fd);
        c.fd = -1;
      }
    }
    std::erase_if(connections, [](const Connection& c) { return c.fd < 0; });
  }
  for (const Connection& c : connections) ::close(c.fd);
  ::close(sfd);
  return 0;
}

}  // namespace estafeta::bounce
