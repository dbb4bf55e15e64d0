// A flush request: what `estafeta queue flush` (sendmail -q, -qR site, -qI id) and smtpd's
// ETRN ask of the queue manager, as one datagram on its wake-up socket (public/qmgr), next to
// the empty "rescan" datagram and the queue ids of new mail. The queue manager then scans
// deferred/ at once and tries the messages the request matches, even those not yet due and
// those held back by defer_transports (docs/dial-up.md). Pure: the codec and the match.
//
// Wire form (text, one datagram, at most kMaxFlushRequestSize bytes): the line "!flush", then
// optional "site=DOMAIN", "id=PART" and "nexthop=NEXTHOP" lines, '\n'-separated. The leading
// '!' keeps it apart from queue ids. Values hold no control characters.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace estafeta::qmgr {

inline constexpr std::size_t kMaxFlushRequestSize = 1024;

struct FlushRequest {
  /// Only messages with a pending recipient at this domain (case-insensitive); "" = all.
  std::string site;
  /// Only messages whose queue id contains this; "" = all.
  std::string queue_id_part;
  /// Estafeta addition (flush routes): the next hop that the smtp and relay transports use for
  /// the recipients of the flushed messages instead of the resolved one; "" = no override.
  std::string next_hop;

  bool operator==(const FlushRequest&) const = default;
};

/// The datagram; nullopt when a value holds a control character or the whole is too long.
std::optional<std::string> encode_flush_request(const FlushRequest& request);

/// True when `datagram` is meant as a flush request (it starts with '!flush').
bool is_flush_request(std::string_view datagram);

/// nullopt for a malformed request (unknown or repeated field, control character, too long).
std::optional<FlushRequest> parse_flush_request(std::string_view datagram);

/// The next hop of route `name` in flush_routes items ("name=nexthop"); nullopt if none.
std::optional<std::string> find_flush_route(const std::vector<std::string>& items,
                                            std::string_view name);

/// Whether the request takes a message with this queue id and these pending recipients.
bool flush_matches(const FlushRequest& request, std::string_view queue_id,
                   const std::vector<std::string>& pending_recipients);

}  // namespace estafeta::qmgr
