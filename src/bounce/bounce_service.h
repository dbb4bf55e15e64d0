// The bounce service (master.cf service `bounce`, program `estafeta bounce`): writes the
// delivery status notices the queue manager asks for (qmgr/protocol.h BounceRequest) on a
// unix stream socket, private/bounce. For each request it reads the message from the queue
// (read-only: it never changes the state of a queued message), decides what to send
// (notice_plan.h: the sender's notice, the postmaster's copies per notify_classes), builds
// each notice (message/dsn.h: RET=HDRS and bounce_size_limit honoured) and queues it through
// the Spool, durably (file fdatasync, rename into active/, fsync of active/), then answers
// with the new queue ids, or with a temporary error when a required notice could not be
// written. The queue manager records the recipients only after that answer (crash
// argument: docs/queue-format.md, "Notices").
//
// One thread: requests are served one at a time, in order (a notice costs one commit).
#pragma once

#include <memory>
#include <string>

#include "bounce/notice_plan.h"
#include "log/logger.h"
#include "qmgr/protocol.h"

namespace estafeta::queue {
class QueueStore;
class Spool;
}  // namespace estafeta::queue

namespace estafeta::bounce {

struct BounceServiceOptions {
  std::string queue_directory;  // absolute
  NoticeSettings notices;
};

class BounceService {
 public:
  /// Opens the queue store and the Spool (errors are logged; requests then fail).
  BounceService(BounceServiceOptions options, log::Logger log);
  ~BounceService();
  BounceService(const BounceService&) = delete;
  BounceService& operator=(const BounceService&) = delete;

  /// True when the queue could be opened.
  bool ready() const { return store_ != nullptr && spool_ != nullptr; }

  /// Serves one request: writes its notices and returns the reply.
  qmgr::BounceReply handle(const qmgr::BounceRequest& request);

  /// Accepts connections on `listen_fd` and serves their requests until SIGTERM or SIGINT
  /// (blocked in the calling thread and read through a signalfd). Returns the exit code: 0
  /// after a signal, 1 on set-up failure (logged).
  int serve(int listen_fd);

 private:
  BounceServiceOptions options_;
  log::Logger log_;
  std::unique_ptr<queue::QueueStore> store_;
  std::unique_ptr<queue::Spool> spool_;
};

}  // namespace estafeta::bounce
