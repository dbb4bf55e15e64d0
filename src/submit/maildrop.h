// The maildrop directory: how a local user's message reaches the queue without the user
// being able to touch the queue. <queue_directory>/maildrop is owned by mail_owner, mode
// 3733 (set-group-id, sticky, writable and searchable by all, listable by none): any user can
// create a file there but cannot list the directory, read another user's file (mode 0640,
// the directory's group, which users are not in), or rename or remove another's file
// (sticky). A file is written with mode 0600, made ready with mode 0640 after its last
// byte, and pickup (mail_owner, in the group) takes only ready files. The submitting user is
// the file's owner, which the user cannot forge.
//
// Durability: sendmail reports success only after fsync of the file and syncfs(2) of its
// file system (the user cannot open the directory to fsync it; syncfs writes every pending
// metadata change of the file system, including this directory entry). Pickup removes a
// drop file only after its message is committed to the queue, then fsyncs the directory:
// a crash between the two can deliver a local submission twice, never lose it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace estafeta::submit {

inline constexpr const char* kMaildrop = "maildrop";
inline constexpr const char* kPickupSocket = "public/pickup";

/// Writes `bytes` as a ready drop file under <queue_directory>/maildrop durably (see above)
/// and wakes pickup; returns the file's name. Errors keep errno.
Result<std::string> write_drop_file(const std::string& queue_directory, std::string_view bytes);

/// A drop file read by pickup.
struct DropFileRead {
  enum class Kind {
    Ready,     // `owner` and `bytes` are set
    NotReady,  // still being written (mode 0600): leave it
    Gone,      // removed meanwhile: nothing to do
    Refused,   // not a plain ready file of ours, or too large: move it aside (`why`)
  };
  Kind kind = Kind::Gone;
  uid_t owner = 0;
  std::string bytes;
  std::string why;
  std::chrono::system_clock::time_point modified;
};

/// Opens maildrop/<name> through `dir_fd` without following links or blocking on a FIFO,
/// checks it is a regular file with one link, in `group`, at most `size_limit` bytes, and
/// reads it. Errors are I/O failures worth a retry.
Result<DropFileRead> read_drop_file(int dir_fd, const std::string& name, gid_t group,
                                    uint64_t size_limit);

}  // namespace estafeta::submit
