// Queue file records: the on-disk form of one queued message (format: docs/queue-format.md).
// A file is a sequence of typed, length-prefixed binary records (qmail's "don't parse": no
// text to re-scan), envelope records first, then content records, then one END record that
// carries a checksum of the file. A file without a valid END record is incomplete or torn
// and is never delivered. Pure: no I/O, no threads; every function is safe to call
// concurrently. Decoding never trusts its input: truncation, garbage, duplicates and
// missing records come back as an Error with a reason.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "message/envelope.h"

namespace estafeta::queue {

/// Record types (one byte each). A recipient record is rewritten in place from
/// kRecordRecipient to kRecordRecipientDone once that recipient needs no more work
/// (Postfix's REC_TYPE_RCPT -> REC_TYPE_DONE); both have the same length.
inline constexpr char kRecordVersion = 'V';
inline constexpr char kRecordQueueId = 'I';
inline constexpr char kRecordArrival = 'T';
inline constexpr char kRecordSender = 'S';
inline constexpr char kRecordOrcpt = 'O';
inline constexpr char kRecordNotify = 'N';
inline constexpr char kRecordRecipient = 'R';
inline constexpr char kRecordRecipientDone = 'D';
inline constexpr char kRecordHelo = 'H';
inline constexpr char kRecordProtocol = 'P';
inline constexpr char kRecordBodyType = 'B';
inline constexpr char kRecordSmtputf8 = 'U';
inline constexpr char kRecordDsnRet = 'Z';
inline constexpr char kRecordDsnEnvid = 'Y';
inline constexpr char kRecordClientAddress = 'A';
inline constexpr char kRecordClientHostname = 'C';
inline constexpr char kRecordContent = 'M';
inline constexpr char kRecordEnd = 'E';

/// The only format version this code writes and reads.
inline constexpr std::string_view kFormatVersion = "1";
/// Largest payload of one record; encode_content splits longer content.
inline constexpr size_t kMaxRecordPayload = 1 << 20;

/// The envelope records that begin a queue file (version first, recipients last).
std::string encode_envelope(const message::Envelope& e);
/// One or more content records holding `bytes` (CRLF message text); empty input -> "".
std::string encode_content(std::string_view bytes);
/// The file checksum kept in the END record: zlib's CRC-32 of every byte before END, each
/// recipient record's type byte counted as 'R' (so marking one done in place keeps it).
/// Start from 0 and feed the bytes in order; a writer never writes done marks.
uint32_t update_checksum(uint32_t checksum, std::string_view bytes);
/// The END record carrying `checksum` (8 lower-case hex digits) of the bytes before it.
std::string encode_end(uint32_t checksum);
/// The END record for a file whose bytes so far are `head`.
std::string encode_end_after(std::string_view head);

struct QueueFile {
  message::Envelope envelope;
  std::string content;  // the CRLF message, Received header first
  /// Parallel to envelope.recipients: true when the record is kRecordRecipientDone.
  std::vector<bool> recipient_done;
  /// Parallel to envelope.recipients: file offset of each recipient record's type byte, for
  /// marking it done in place with a one-byte pwrite.
  std::vector<uint64_t> recipient_offsets;
};

enum class Checksum { kVerify, kIgnore };

/// Decodes a whole queue file; bytes after END are ignored. Errors name the offset and the
/// reason ("offset 17: record truncated", "no END record: incomplete file", "checksum
/// mismatch"). kIgnore skips the END checksum (fuzzing the parser behind it).
Result<QueueFile> decode_queue_file(std::string_view bytes,
                                    Checksum checksum = Checksum::kVerify);

}  // namespace estafeta::queue
