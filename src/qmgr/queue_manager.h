// The queue manager (master.cf service `qmgr`, program `estafeta qmgr`): the edge around the
// pure Scheduler. The only process that changes the state of committed messages: it reads
// envelopes (never content) through queue::QueueStore, routes each recipient to a transport
// (local for mydestination, otherwise smtp), sends delivery requests to the agents over
// their sockets (qmgr/protocol.h), records their outcomes in the status logs, moves deferred
// messages to deferred/ with their next attempt time, removes finished ones, and rescans
// the deferred queue every queue_run_delay. New mail is announced by smtpd's wake-up
// datagrams on public/qmgr (an empty datagram asks for a rescan of active/, as the queue
// tools do after a change); active/ is also rescanned every `active_rescan`.
//
// Start-up recovery: a message found under two queue names (a crash between the two
// directory syncs of a move) keeps one; status logs without a message are removed; then
// every message in active/ and every due one in deferred/ is admitted again.
//
// Notices (RFC 3464, message/dsn.h): a recipient that fails permanently or expires gets a
// non-delivery notice to the sender (NOTIFY=NEVER, or a NOTIFY without FAILURE, suppresses
// it), a delay warning once the message is older than delay_warning_time, a success notice
// for NOTIFY=SUCCESS. The notice is queued (through the Spool, from MAILER-DAEMON with the
// null sender) before the recipients are recorded as done. A failed notice (null sender) is
// reported to double_bounce_recipient from double-bounce@myhostname; a failed report of that
// kind is dropped and logged, so no notice ever loops. XXX: until the bounce service exists,
// the queue manager reads a message's content for this (and only for this).
//
// One thread;
// blocking file-system calls (a status record's fdatasync, a move's directory syncs) happen
// only off the common path (a message delivered at its first attempt costs an unlink).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "base/clock.h"
#include "log/logger.h"
#include "policy/address_list.h"
#include "qmgr/settings.h"

namespace estafeta::qmgr {

struct QueueManagerOptions {
  std::string queue_directory;  // absolute
  policy::DomainList local_domains;  // mydestination: recipients there go to `local`
  std::string myhostname;            // Reporting-MTA and MAILER-DAEMON@ of notices
  /// Who gets the notice when a message with the null sender (itself a notice) cannot be
  /// delivered: Postfix's 2bounce_notice_recipient.
  std::string double_bounce_recipient = "postmaster";
  size_t bounce_size_limit = 50000;  // larger originals are returned as headers only
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
