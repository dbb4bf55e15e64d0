// What every rewriting step shares: the tables of one parameter as one search list, the
// facts the rewriting needs from the rest of the system (recipient delimiter, which domains
// are local, how to qualify an address), and how a step reports that the message cannot be
// accepted now. Tables are borrowed: the caller (the cleanup edge) opens them, keeps them
// alive while rewriting runs, and owns their thread safety (maps::Map lookups are const).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "maps/address_search.h"
#include "maps/map.h"

namespace estafeta::rewrite {

/// One table of a parameter such as `canonical_maps = hash:/a, regexp:/b`: a pattern table
/// (regexp:, pcre:, cidr:) is asked only for the full address, as in Postfix; a null `map`
/// answers every lookup with a temporary failure (maps/address_search.h).
using Table = maps::SearchTable;

/// A parameter's tables in order. Keys are tried in turn against the whole list: the first
/// key any table knows wins, even when a later table knows a more specific one earlier in
/// the list's order (Postfix's "one logical concatenated table").
using TableList = maps::SearchTables;

using maps::is_pattern_table;

/// What the rewriting needs to know about the rest of the system.
struct Context {
  /// recipient_delimiter (several characters allowed); empty: no extensions.
  std::string recipient_delimiter;
  /// Answers Found when `domain` is local in Postfix's sense for the "user" lookup key
  /// ($myorigin, $mydestination, $inet_interfaces, $proxy_interfaces), NotFound when not,
  /// TempFail when a table behind it cannot answer. Unset: no domain is local.
  std::function<maps::LookupStatus(std::string_view domain)> is_local_domain;
  /// Postfix canonicalizes every table result (trivial-rewrite's "local" context: an
  /// unqualified "user" becomes "user@$myorigin"). Unset: results are used as they are.
  std::function<std::string(std::string_view address)> canonicalize;
};

/// Why a message cannot be accepted now (Postfix cleanup: "message not accepted, try again
/// later"). The reply is "451 <status> <text>"; `log` is the warning to log with the queue id.
struct Deferral {
  std::string status;  // "4.6.0"
  std::string text;    // "Alias expansion error"
  std::string log;     // "virtual_alias_maps map lookup problem for a@b.example -- ..."
};

/// A table that could not answer, outside virtual alias expansion: Postfix's
/// CLEANUP_STAT_WRITE without a reason ("451 4.3.0 Error: queue file write error").
Deferral table_deferral(std::string_view parameter, std::string_view address);

/// The failures of virtual alias expansion ("451 4.6.0 Alias expansion error").
Deferral alias_deferral(std::string log);

}  // namespace estafeta::rewrite
