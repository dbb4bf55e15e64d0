// The text formats of the queue tools: Postfix's mailq listing (postqueue -p, built by its
// showq_compat.c), its one-JSON-object-per-line listing (postqueue -j, showq_json.c), and
// the pieces `estafeta queue show` prints. Pure: no I/O, no clock, no time zone (callers
// pass the arrival time already broken down); every function may run concurrently.
// Untrusted text (addresses, deferral reasons from remote servers) is made printable here,
// as Postfix does, so that a listing can never carry terminal control sequences.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "message/envelope.h"
#include "queue/status_log.h"

namespace estafeta::cli {

/// One recipient still to be delivered, as mailq shows it.
struct ListedRecipient {
  std::string address;
  std::string delay_reason;  // the last deferral's reason; "" when never deferred
};

/// One queued message, as mailq shows it.
struct ListedMessage {
  std::string queue_name;  // "active", "deferred", "hold"
  std::string queue_id;
  int64_t arrival_time = 0;  // seconds since the epoch (the JSON field)
  std::tm arrival_local{};   // the same instant in local time (the text column)
  uint64_t size = 0;         // content size in bytes, Received header included
  std::string sender;        // "" for the null sender (shown as MAILER-DAEMON)
  std::vector<ListedRecipient> recipients;
};

/// The recipients mailq lists, in Postfix's order: those with a deferral reason first (showq
/// reads the defer log before the queue file), then those never tried; recipients that are
/// done (delivered or bounced) are left out. `states` is parallel to `recipients` (shorter
/// means "no status").
std::vector<ListedRecipient> listed_recipients(const std::vector<message::Recipient>& recipients,
                                               const std::vector<queue::RecipientState>& states);

/// asctime() without its newline, in the C locale: "Thu Dec  3 10:00:00 2020".
std::string asctime_text(const std::tm& local);

/// mailq's arrival column: asctime()'s first 19 characters, "Thu Dec  3 10:00:00".
std::string arrival_time_text(const std::tm& local);

/// Postfix's printable(): keeps printable ASCII and valid UTF-8, replaces every other byte
/// (control characters, invalid UTF-8) with '?'.
std::string printable(std::string_view text);

/// A JSON string body (without the quotes) as postqueue -j writes it: \" \\ \b \f \n \r \t,
/// other control characters and DEL as \u00XX, then printable() for invalid UTF-8.
std::string json_quote(std::string_view text);

/// The mailq heading line (with its newline).
std::string mailq_heading();

/// One message's block of lines: the queue id with '*' (active) or '!' (hold), size, arrival
/// time and sender; then each recipient, preceded by "(reason)" right-aligned in 78 columns
/// whenever the reason differs from the previous recipient's ("(reason unavailable)" after a
/// recipient that had one). No blank line around it.
std::string mailq_block(const ListedMessage& message);

/// The summary: "-- N Kbytes in M Requests." (N = total size / 1024, rounded down;
/// "Request" for one) after a blank line, or "Mail queue is empty".
std::string mailq_summary(uint64_t total_bytes, size_t messages);

/// postqueue -j: the message as one JSON object and a newline.
std::string mailq_json(const ListedMessage& message);

/// A whole mailq listing built one message at a time (so that a large queue is streamed):
/// the heading before the first message, a blank line between messages, the summary last.
class MailqListing {
 public:
  /// The text to print for the next message.
  std::string add(const ListedMessage& message);
  /// The text to print after the last message.
  std::string finish() const;
  size_t messages() const { return messages_; }

 private:
  size_t messages_ = 0;
  uint64_t bytes_ = 0;
};

/// The domain of an address (after the last '@'), lower-cased, without a trailing dot; "" if
/// there is no '@'. Used by `flush -s SITE`.
std::string address_domain(std::string_view address);

/// The header part of CRLF message content (up to, not including, the empty line) and the
/// body (after it). Content without an empty line is all header.
struct ContentParts {
  std::string_view header;
  std::string_view body;
};
ContentParts split_content(std::string_view content);

/// CRLF line ends to LF, for a terminal; a lone CR or LF is kept as it is.
std::string crlf_to_lf(std::string_view text);

/// One `estafeta queue show` status line for a recipient: "pending", or
/// "deferred, dsn=4.3.0, relay=none, Thu Dec  3 10:00:00 2020 (reason)" (delivered and
/// bounced alike, with their own word). `when` is the entry's time in local time.
std::string recipient_status_text(const queue::RecipientState& state, const std::tm& when);

}  // namespace estafeta::cli
