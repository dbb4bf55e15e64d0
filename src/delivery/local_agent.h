// The local delivery agent (master.cf service `local`, program `estafeta local`): serves the
// queue manager's delivery requests (qmgr/protocol.h) on a unix stream socket, with
// Postfix local(8) semantics. For each recipient of a request it reads the message from the
// queue (read-only: it never changes queue state), refuses a message that already carries
// `Delivered-To: <recipient>` (5.4.6 loop), plans the delivery (delivery/local_plan.h:
// aliases, .forward, :include:, mailbox) and carries out every final action through the
// privileged spawner (delivery/privileged_delivery.h) as the user the plan names: Maildir
// and mbox writes, commands, file reads. Addresses that are not local are forwarded as one
// new message per delivery through the maildrop directory (pickup trusts mail_owner's
// sender). Every final delivery is logged in Postfix's format (to=, orig_to=); a queue
// recipient is delivered when all its final actions were, deferred when one was deferred,
// else bounced. Maildir names derive from the queue id, the recipient index and (for an
// expansion) a hash of the target, so a redelivery after a crash finds its name taken.
// Requests run on a pool of threads.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "delivery/local_plan.h"
#include "delivery/privileged_delivery.h"
#include "log/logger.h"
#include "message/envelope.h"
#include "qmgr/protocol.h"
#include "queue/queue_store.h"

namespace estafeta::delivery {

struct LocalAgentOptions {
  std::string queue_directory;  // absolute
  std::string myhostname;       // for Maildir file names
  LocalPlanSettings plan;
  unsigned mbox_locks = 3;  // bit set of MboxLock (mailbox_delivery_lock)
  int lock_attempts = 20;
  int lock_delay_seconds = 1;
  int stale_lock_seconds = 500;
  uint64_t mailbox_size_limit = 51200000;  // 0: none
  int command_time_limit = 1000;
  int threads = 32;  // requests delivered in parallel
};

/// The lookups of the plan except file reads (which the agent does through the spawner).
/// Each must be thread-safe.
struct LocalAgentTables {
  std::function<maps::LookupResult(const std::string& name)> alias;
  std::function<UserLookup(const std::string& name)> user_by_name;
  std::function<UserLookup(uid_t uid)> user_by_uid;
  std::function<std::optional<bool>(const std::string& domain)> is_local_domain;
};

/// Password file lookups through NSS (getpwnam_r, getpwuid_r); errors are TempFail.
UserLookup system_user_by_name(const std::string& name);
UserLookup system_user_by_uid(uid_t uid);

class LocalAgent {
 public:
  /// Opens the queue store read-side (an error is logged; requests are then deferred).
  /// `spawner` must outlive the agent.
  LocalAgent(LocalAgentOptions options, LocalAgentTables tables, PrivilegedDelivery& spawner,
             log::Logger log);
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
  using LogLine = std::function<void(const std::string& to, const std::string& orig,
                                     int64_t began_us, qmgr::RecipientOutcome outcome,
                                     const std::string& dsn, const std::string& text)>;
  qmgr::RecipientReply deliver_recipient(const qmgr::AgentRequest& request,
                                         const qmgr::AgentRecipient& r,
                                         const message::Envelope& env, const std::string& content,
                                         const std::vector<std::string>& delivered_to,
                                         int64_t began_us, const LogLine& log_line);
  DeliveryTask task_for(const LocalAction& a, const qmgr::AgentRequest& request,
                        const qmgr::AgentRecipient& r, const message::Envelope& env) const;
  FileLookup read_file_as(const PlanUser& as, const std::string& path);
  Result<std::string> forward(const LocalAction& a, const message::Envelope& env,
                              const std::string& recipient, const std::string& content) const;
  LocalAgentOptions options_;
  log::Logger log_;
  LocalAgentTables tables_;
  PrivilegedDelivery& spawner_;
  std::unique_ptr<queue::QueueStore> store_;
};

}  // namespace estafeta::delivery
