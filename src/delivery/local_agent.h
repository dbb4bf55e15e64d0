// The local delivery agent (master.cf service `local`, program `estafeta local`): serves the
// queue manager's delivery requests (qmgr/protocol.h) on a unix stream socket. For each
// request it reads the message from the queue (read-only: it never changes queue state),
// delivers each recipient into <mail_spool_directory>/<localpart>/Maildir/new/ (Maildir names
// derived from the queue id and the recipient index, so a redelivery after a crash finds
// its name taken), makes the new/ entries durable, logs each recipient in Postfix's format
// and answers with an outcome per recipient. Requests run on a pool of threads; the fsyncs
// of new/ directories of concurrent deliveries are shared (queue::GroupSync).
//
// Runs as mail_owner for now (issue 17 moves the per-recipient step to the recipient's uid).
#pragma once

#include <memory>
#include <string>

#include "log/logger.h"
#include "qmgr/protocol.h"
#include "queue/group_sync.h"
#include "queue/queue_store.h"

namespace estafeta::delivery {

struct LocalAgentOptions {
  std::string queue_directory;       // absolute
  std::string mail_spool_directory;  // absolute; mail for local part L: <dir>/<L>/Maildir/
  std::string myhostname;            // for Maildir file names
  int threads = 32;                  // requests delivered in parallel
};

class LocalAgent {
 public:
  /// Opens the queue store read-side (an error is logged; requests are then deferred).
  LocalAgent(LocalAgentOptions options, log::Logger log);
  ~LocalAgent();
  LocalAgent(const LocalAgent&) = delete;
  LocalAgent& operator=(const LocalAgent&) = delete;

  /// Delivers one request and returns the reply. Thread-safe.
  qmgr::AgentReply deliver(const qmgr::AgentRequest& request);

  /// Accepts connections on `listen_fd` (a listening unix stream socket) and serves their
  /// requests until SIGTERM or SIGINT (blocked in the calling thread and read through a
  /// signalfd; call it before starting other threads). Finishes the requests in flight, then
  /// returns the exit code: 0 after a signal, 1 on set-up failure (logged).
  int serve(int listen_fd);

 private:
  LocalAgentOptions options_;
  log::Logger log_;
  std::unique_ptr<queue::QueueStore> store_;
  queue::GroupSync syncs_;
};

}  // namespace estafeta::delivery
