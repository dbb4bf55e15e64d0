// What a failed write means to the mail system: the errno of a system call that could not
// write a queue file or a mailbox (estafeta::Error::code) mapped to the SMTP reply code, the
// RFC 3463 enhanced status code and a short text. A full disk or an exhausted quota is
// "insufficient system storage" (4.3.1) for the queue and "mailbox full" (4.2.2) for a
// mailbox; anything else stays the general 4.3.0 / 4.2.0 it was before errors carried a
// code. Every result is temporary (4xx): the sender retries. Pure, constexpr; no I/O.
#pragma once

#include <cerrno>
#include <string_view>

namespace estafeta::message {

struct WriteFailure {
  int reply_code;         // 451 or 452 (RFC 5321 §4.2.2)
  std::string_view dsn;   // RFC 3463 enhanced status code, "4.3.1"
  std::string_view text;  // for the reply or the delivery status, without the codes
};

/// A queue file could not be created, written, synced or committed, failing with errno
/// `error_code` (0: unknown). What smtpd answers to the end of DATA/BDAT:
///   ENOSPC, EDQUOT  452 4.3.1 Insufficient system storage  (RFC 3463 §3.4; Postfix's text)
///   anything else   451 4.3.0 Error: queue file write error  (Postfix cleanup's text;
///                   EACCES, EPERM and EIO included: the log has the system's reason)
constexpr WriteFailure queue_write_failure(int error_code) {
  switch (error_code) {
    case ENOSPC:
    case EDQUOT:
      return {452, "4.3.1", "Insufficient system storage"};
    default:
      return {451, "4.3.0", "Error: queue file write error"};
  }
}

/// A mailbox could not be written, failing with errno `error_code` (0: unknown): the status
/// of the deferred recipient, for delivery agents (dsn= in the log, later the DSN):
///   EDQUOT, EFBIG   452 4.2.2 mailbox full  (RFC 3463 §3.3; Postfix mbox_dsn() counts a
///                   file size limit as a full mailbox too)
///   ENOSPC          452 4.3.1 insufficient system storage  (the whole disk, not the user's)
///   anything else   451 4.2.0 mailbox write error
constexpr WriteFailure mailbox_write_failure(int error_code) {
  switch (error_code) {
    case EDQUOT:
    case EFBIG:
      return {452, "4.2.2", "mailbox full"};
    case ENOSPC:
      return {452, "4.3.1", "insufficient system storage"};
    default:
      return {451, "4.2.0", "mailbox write error"};
  }
}

}  // namespace estafeta::message
