// The status log of one queued message (status/<queue id>): what has happened to each
// recipient since the message was committed, as an append-only sequence of self-checking
// entries. The queue file itself never changes after its commit; the queue manager (the
// only writer) appends one entry per recipient outcome (delivered, bounced, deferred with
// the reason) and per message event (delay warning sent), each made durable with
// fdatasync before it is acted upon. Postfix keeps the same facts in its defer/ and bounce/
// logs and in-place DONE marks; OpenSMTPD in its envelope files.
//
// Entry framing: type 'W', a canonical LEB128 length, the payload (typed fields, the same
// record framing as queue files), then 8 lower-case hex digits of the CRC-32 of the type,
// length and payload bytes. A crash can leave only the tail torn (entries are appended and
// synced one batch at a time): decoding stops at the first entry that does not check and
// reports where the valid prefix ends, and the writer truncates the file there before
// appending again. Pure: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::queue {

enum class StatusKind : char {
  kDelivered = 'd',    // recipient done: delivered (Action: delivered / relayed)
  kBounced = 'b',      // recipient done: failed permanently, its bounce notice is queued
  kDeferred = 'f',     // recipient still pending: the last attempt failed temporarily
  kDelayWarned = 'w',  // message: the delay warning was sent (recipient unused)
  kActionDone = 'a',   // one final delivery of a recipient still pending was made (an alias
                       // or .forward expansion partly deferred); `reason` holds the agent's
                       // key for it, so the next attempt does not repeat it
};

struct StatusEntry {
  StatusKind kind = StatusKind::kDeferred;
  uint32_t recipient = 0;  // index of the recipient in the queue file
  int64_t time_us = 0;     // when it happened, microseconds since the epoch
  std::string dsn;         // enhanced status code, "2.0.0", "4.4.1", "5.1.1"
  std::string relay;       // where it went or was tried: "local", "mx.example[192.0.2.1]:25"
  std::string reason;      // the reply or the explanation, as logged in "status=... (reason)"

  bool operator==(const StatusEntry&) const = default;
};

/// One entry, framed and checksummed, ready to append.
std::string encode_status_entry(const StatusEntry& entry);

struct StatusLog {
  std::vector<StatusEntry> entries;
  /// Bytes of the valid prefix; anything after it is a torn tail to truncate away.
  size_t valid_length = 0;
  /// Why decoding stopped before the end (empty when the whole input was valid).
  std::string torn_reason;
};

/// Decodes a status log; never fails: a torn or damaged tail ends the valid prefix.
StatusLog decode_status_log(std::string_view bytes);

/// What the log says about a recipient, folded in order: the first delivered or bounced
/// entry makes it done (later ones change nothing); until then the last deferred entry is
/// its latest failure, and action-done entries collect its final deliveries already made.
struct RecipientState {
  bool done = false;
  bool has_deferral = false;
  StatusEntry last;  // the entry that decided `done`, or the last deferral
  std::vector<std::string> done_actions;  // keys of kActionDone entries, in order
};

/// Folds a log into per-recipient states for a message with `recipients` recipients
/// (entries for other indexes are ignored).
std::vector<RecipientState> fold_status(const StatusLog& log, size_t recipients);

/// True if the log holds a delay-warning entry.
bool delay_warning_sent(const StatusLog& log);

}  // namespace estafeta::queue
