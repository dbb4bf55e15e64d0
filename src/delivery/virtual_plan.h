// What the virtual delivery agent (Postfix virtual(8)) does with one recipient, decided
// without I/O: the mailbox from virtual_mailbox_maps (a path under virtual_mailbox_base, a
// Maildir when it ends in '/', else an mbox file), the owner from virtual_uid_maps and
// virtual_gid_maps, or why the recipient bounces or waits. Tables are searched through
// callbacks, with virtual(5)'s keys (maps::find_address, no domain local): "user+ext@domain",
// "user@domain" (extension stripped at recipient_delimiter), "@domain", each key in every
// table before the next key (Postfix's mail_addr_find), pattern tables with the full address
// only. The address is lower-cased first, as Postfix's virtual(8) does.
//
// Outcomes (Postfix's where it has one):
//   not in virtual_mailbox_maps            Bounce 5.1.1 "unknown user: \"ADDR\""
//   a table cannot answer                  Defer 4.3.0 "TABLE lookup failure: REASON"
//   no uid/gid, a bad one, uid below       Defer 4.3.5 "mail system configuration error"
//   virtual_minimum_uid, gid 0, a mailbox  (and `warning` says what is wrong, for the log)
//   path that is empty, absolute, or not
//   a clean path under virtual_mailbox_base
//   ("." , ".." or empty components, NUL,
//   too long: what the spawner's
//   validate_task() would refuse)
// Pure.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "delivery/delivery_task.h"
#include "maps/address_search.h"
#include "maps/map.h"

namespace estafeta::delivery {

struct VirtualSettings {
  std::string mailbox_base;           // virtual_mailbox_base, absolute (or "")
  uid_t minimum_uid = 100;            // virtual_minimum_uid
  uint64_t mailbox_limit = 51200000;  // virtual_mailbox_limit (0: none)
  unsigned mbox_locks = 0;            // virtual_mailbox_lock, bits of MboxLock
  std::string recipient_delimiter;    // recipient_delimiter
};

/// Looks one key up in a parameter's tables (every table, first Found wins; a TempFail
/// stops the search); told when the key is derived from the address, which pattern tables
/// (regexp:, pcre:) are not asked (maps/address_search.h).
using KeyLookup = maps::KeyLookup;

struct VirtualTables {
  KeyLookup mailbox;  // virtual_mailbox_maps
  KeyLookup uid;      // virtual_uid_maps
  KeyLookup gid;      // virtual_gid_maps
};

struct VirtualPlan {
  enum class Action { Deliver, Bounce, Defer };
  Action action = Action::Defer;
  TaskKind kind = TaskKind::Maildir;  // Deliver: Maildir or Mbox
  std::string path;                   // Deliver: the Maildir (ending in '/') or mbox file
  uid_t uid = 0;
  gid_t gid = 0;
  std::string dsn;      // Bounce, Defer
  std::string reason;   // Bounce, Defer: for the log and the notice
  std::string warning;  // a configuration problem to log, or ""
};

/// The plan for `address` (as queued; lower-cased here).
VirtualPlan plan_virtual_delivery(const VirtualSettings& settings, const VirtualTables& tables,
                                  std::string_view address);

/// virtual_mailbox_lock ("fcntl, dotlock") as MboxLock bits; nullopt naming no known method.
std::optional<unsigned> parse_mbox_locks(std::string_view text);

}  // namespace estafeta::delivery
