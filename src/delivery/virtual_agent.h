// The virtual delivery agent (master.cf service `virtual`, program `estafeta virtual`;
// Postfix virtual(8)): serves the queue manager's delivery requests for the virtual
// transport on private/<service name> (delivery/agent_server.h). For each recipient it
// decides through virtual_mailbox_maps, virtual_uid_maps and virtual_gid_maps where the mail
// goes and as whom (delivery/virtual_plan.h), and has the privileged spawner
// (delivery/privileged_delivery.h) write it as that uid/gid: a Maildir (file names derived
// from the queue id and the recipient index, so a redelivery after a crash finds its name
// taken) or an mbox file locked with virtual_mailbox_lock, at most virtual_mailbox_limit
// bytes. The Maildir deliveries that share an owner, of one request or of several that the
// queue manager sent together (and of other threads' requests while a batch is out:
// delivery/maildir_batcher.h), are one task of the Maildir worker for that owner, which
// writes them all, then syncs them and each new/ directory once. When the queue manager
// asks (release_wanted: a backlog waits for the domain), it hears as soon as a request's
// copies are all renamed into new/ that its destination is free (AgentReply::results_follow),
// so that the next delivery need not wait for the directory syncs; the results follow when
// they are done (Postfix's virtual(8) does not sync new/ at all). Reads the queue
// read-only; logs each recipient in Postfix's format (relay=virtual) and answers with an
// outcome per recipient. Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "delivery/agent_server.h"
#include "delivery/privileged_delivery.h"
#include "delivery/virtual_plan.h"
#include "log/logger.h"
#include "maps/map_set.h"
#include "qmgr/protocol.h"
#include "queue/queue_store.h"

namespace estafeta::delivery {

struct VirtualAgentOptions {
  std::string queue_directory;  // absolute
  std::string myhostname;       // for Maildir file names
  std::string myorigin;         // the domain of an address queued without one
  VirtualSettings settings;
  std::shared_ptr<const maps::MapSet> tables;                 // holds the specs below, opened
  std::vector<std::string> mailbox_maps, uid_maps, gid_maps;  // the parameters' specs
  int threads = 32;                                           // requests delivered in parallel
};

class VirtualAgent {
 public:
  /// `spawner` is borrowed and must outlive the agent. Opens the queue store read-side (an
  /// error is logged; requests are then deferred).
  VirtualAgent(VirtualAgentOptions options, PrivilegedDelivery& spawner, log::Logger log);
  ~VirtualAgent();
  VirtualAgent(const VirtualAgent&) = delete;
  VirtualAgent& operator=(const VirtualAgent&) = delete;

  /// Delivers one request and returns the reply. Thread-safe.
  qmgr::AgentReply deliver(const qmgr::AgentRequest& request);

  /// Delivers requests that came together: their Maildir copies for one owner go to its
  /// worker as one task. One reply per request, in order. Thread-safe.
  /// `results_follow` (when set) hears the ids of requests whose copies are in new/ before
  /// their replies (agent_server.h).
  std::vector<qmgr::AgentReply> deliver_all(const std::vector<qmgr::AgentRequest>& requests,
                                            const ResultsFollowFunction& results_follow = {});

  /// Serves `listen_fd` until SIGTERM or SIGINT (delivery/agent_server.h).
  int serve(int listen_fd);

 private:
  struct Prepared;
  // Reads the request's message, plans each recipient, answers those that bounce or defer
  // and delivers the mbox ones; the Maildir ones are left for deliver_maildirs().
  void prepare(Prepared& p);
  void deliver_maildirs(std::vector<Prepared>& prepared,
                        const ResultsFollowFunction& results_follow);
  // Logs each recipient and returns the reply.
  qmgr::AgentReply finish(Prepared& p);
  void answer(Prepared& p, size_t i, qmgr::RecipientOutcome outcome, std::string dsn,
              std::string reason);

  VirtualAgentOptions options_;
  PrivilegedDelivery& spawner_;
  log::Logger log_;
  std::unique_ptr<queue::QueueStore> store_;
};

}  // namespace estafeta::delivery
