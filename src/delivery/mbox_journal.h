// The journal an mbox delivery keeps in its dot-lock file ("<mailbox>.lock"), so that a
// delivery killed half way never leaves a partial message behind (issue 17). Before it
// appends, the delivery writes into the lock it holds the mailbox size it appends at and the
// length it appends, with the machine's boot id and its pid, and syncs the lock and the
// directory. A lock found with a journal whose holder is dead (another boot, no such pid, or
// older than stale_lock_time) is taken over, and the mailbox is cut back to that size first:
// within the same boot always (the holder never reported its delivery, which is therefore
// made again), after a reboot only when the message is incomplete (a complete one may have
// been reported before its lock's removal reached the disk). Pure: the line format.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace estafeta::delivery {

struct MboxJournal {
  std::string boot_id;             // /proc/sys/kernel/random/boot_id of the holder's boot
  pid_t pid = 0;                   // the holder (a delivery child)
  std::optional<uint64_t> offset;  // the mailbox size the holder appends at, once known
  uint64_t length = 0;             // the bytes it appends (with offset)

  bool operator==(const MboxJournal&) const = default;
};

/// "estafeta-mbox-journal 1 <boot id> <pid> <offset|-> <length>\n".
std::string encode_mbox_journal(const MboxJournal& journal);

/// The journal in a lock file's first line (what follows it is ignored: the tail of a
/// longer line the journal was written over); nullopt for anything else (another program's
/// lock, an empty or damaged file).
std::optional<MboxJournal> parse_mbox_journal(std::string_view content);

/// What to do with the mailbox when taking over the lock of a dead holder whose journal is
/// `journal`, the mailbox now being `size` bytes and starting a message ("From ") at the
/// journal's offset as `starts_message` says: the size to cut it back to, or nullopt to
/// leave it. `same_boot`: the holder ran in this boot.
std::optional<uint64_t> mbox_cut_back_size(const MboxJournal& journal, uint64_t size,
                                           bool starts_message, bool same_boot);

}  // namespace estafeta::delivery
