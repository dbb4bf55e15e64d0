// The queue manager (master.cf service `qmgr`, program `estafeta qmgr`): the edge around the
// pure Scheduler. The only process that changes the state of committed messages: it reads
// envelopes (never content) through queue::QueueStore, routes each recipient to a transport
// (route/resolver.h: local, virtual, relay, smtp, error), sends delivery requests to the
// agent of each transport over its socket (private/<transport>, qmgr/protocol.h), records
// their outcomes in the status logs, moves deferred messages to deferred/ with their next
// attempt time, removes finished ones, and rescans
// the deferred queue every queue_run_delay. New mail is announced by smtpd's wake-up
// datagrams on public/qmgr (an empty datagram asks for a rescan of active/, as the queue
// tools do after a change); active/ is also rescanned every `active_rescan`. A flush request
// datagram (qmgr/flush_request.h: queue flush, sendmail -q, ETRN) starts a scan of deferred/
// at once that admits the matching messages whatever their next attempt time, exempt from
// defer_transports and, with a route, with the smtp and relay next hops replaced.
//
// Start-up recovery: a message found under two queue names (a crash between the two
// directory syncs of a move) keeps one; status logs without a message are removed; then
// every message in active/ and every due one in deferred/ is admitted again.
//
// Notices (RFC 3464) are written by the bounce service (bounce/bounce_service.h), which the
// queue manager asks over private/bounce (qmgr/protocol.h BounceRequest): a recipient that
// fails permanently or expires gets a non-delivery notice to the sender (NOTIFY=NEVER, or a
// NOTIFY without FAILURE, suppresses it), a delay warning once the message is older than
// delay_warning_time, a success notice for NOTIFY=SUCCESS, and with notify_classes
// `resource`/`software` a deferral by a full disk or a failed agent is reported to the
// postmaster. A bounced recipient is recorded as done only after the service has answered
// that its notice is queued; if it cannot be (the service is down: it is waited for
// `bounce_connect_patience`; it fails; or it does not answer within `bounce_reply_timeout`),
// the recipient is recorded as deferred and the message tried again after its backoff. The
// message's file stays where it is until every notice about it is answered, so the service
// can read it. The queue manager reads envelopes only, never message content.
//
// One thread;
// blocking file-system calls (a status record's fdatasync, a move's directory syncs) happen
// only off the common path (a message delivered at its first attempt costs an unlink).
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "base/clock.h"
#include "log/logger.h"
#include "message/notify_classes.h"
#include "route/route_settings.h"
#include "qmgr/settings.h"

namespace estafeta::qmgr {

struct QueueManagerOptions {
  std::string queue_directory;  // absolute
  route::RouteSettings route;  // which transport delivers each recipient (tables borrowed)
  /// The transports that have a delivery agent: requests for transport T go to the agent
  /// listening on <queue_directory>/private/T (master.cf rows whose command is a delivery
  /// agent: config::agent_transports). Requests for other transports are deferred ("remote
  /// delivery is not implemented yet"), except `error`, which bounces at once.
  std::set<std::string, std::less<>> agent_transports{"local"};
  /// Which deferrals are reported to the postmaster (`resource`, `software`; the bounce
  /// service applies the other classes).
  message::NotifyClasses notify_classes;
  /// How long notice requests wait for the bounce service to accept a connection before
  /// they fail (their recipients then stay pending until the next attempt).
  std::chrono::seconds bounce_connect_patience{5};
  /// How long requests wait for the bounce service's answer before the connection is given
  /// up (a hung service; the recipients then stay pending as above). Writing a notice takes
  /// one commit, so this is far above any healthy answer (Postfix's ipc_timeout is 3600 s).
  std::chrono::seconds bounce_reply_timeout{300};
  SchedulerSettings scheduler;
  std::chrono::seconds active_rescan{60};
};

class QueueManager {
 public:
  QueueManager(QueueManagerOptions options, log::Logger log, const Clock& clock);
  ~QueueManager();
  QueueManager(const QueueManager&) = delete;
  QueueManager& operator=(const QueueManager&) = delete;

  /// Runs until SIGTERM or SIGINT (blocked in the calling thread, read through a signalfd).
  /// Takes pid/qmgr.lock so that one queue manager serves a queue. Returns the exit code: 0
  /// after a signal, 1 on set-up failure (logged).
  int run();

 private:
  class Loop;
  QueueManagerOptions options_;
  log::Logger log_;
  const Clock& clock_;
};

}  // namespace estafeta::qmgr
