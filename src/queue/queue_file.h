// Queue file records: the on-disk form of one queued message (format: docs/queue-format.md).
// A file is a sequence of typed, length-prefixed binary records (qmail's "don't parse": no
// text to re-scan): envelope records first, closed by an ENVELOPE END record with a checksum
// of the envelope (so the queue manager reads and checks the envelope without the content),
// then content records, then (only when header_checks/body_checks took HOLD, FILTER,
// REDIRECT or BCC) the extracted segment recording those actions, then one END record with
// a checksum of the whole file and the content size (after an extracted segment, also its
// offset: the queue manager finds it without reading the content). A file without a valid
// END record is incomplete or torn and is never delivered. Version 2 files never change
// after their commit (per-recipient status goes to the message's status log,
// queue/status_log.h); version 1 files (recipients marked done in place) are still read.
// Pure: no I/O, no threads; every function is safe to call concurrently. Decoding never
// trusts its input: truncation, garbage, duplicates and missing records come back as an
// Error with a reason.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "message/envelope.h"
#include "queue/record.h"

namespace estafeta::queue {

/// Record types (one byte each). kRecordRecipientDone exists only in version 1 files, whose
/// recipient records were rewritten in place once done (Postfix's REC_TYPE_DONE).
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
inline constexpr char kRecordEnvelopeEnd = 'Q';
inline constexpr char kRecordContent = 'M';
inline constexpr char kRecordEnd = 'E';
// The extracted segment (after the content; see ContentActions in message/envelope.h): it
// starts with an EXTRACTED record (empty payload); then at most one each of HOLD ("1"),
// FILTER and REDIRECT, and any number of BCC records, in that order.
inline constexpr char kRecordExtracted = 'X';
inline constexpr char kRecordHold = 'K';
inline constexpr char kRecordFilter = 'F';
inline constexpr char kRecordRedirect = 'W';
inline constexpr char kRecordBcc = 'J';

/// The format version this code writes; version 1 is still read (decode_queue_file).
inline constexpr std::string_view kFormatVersion = "2";
inline constexpr std::string_view kFormatVersion1 = "1";
/// Size of a version 2 END record (type, length byte, 8 hex digits of checksum, 16 of the
/// content size): the last kEndRecordSize bytes of a committed file without an extracted
/// segment.
inline constexpr size_t kEndRecordSize = 26;
/// Size of the END record of a file with an extracted segment: 16 more hex digits, the
/// offset of its EXTRACTED record. (Its last kEndRecordSize bytes are hex digits, never
/// 'E' then 24: the two forms cannot be mistaken for each other.)
inline constexpr size_t kLongEndRecordSize = 42;

/// The envelope records that begin a queue file: version first, then the envelope fields,
/// the recipients, and the ENVELOPE END record with the checksum of the bytes before it.
std::string encode_envelope(const message::Envelope& e);
/// One or more content records holding `bytes` (CRLF message text); empty input -> "".
std::string encode_content(std::string_view bytes);
/// The extracted segment recording `actions` (BCC duplicates dropped); "" when there is
/// nothing to record. It goes between the content and END, whose long form then names the
/// offset of its first byte (encode_end's `extracted_at`).
std::string encode_extracted(const message::ContentActions& actions);
/// The file checksum kept in the END record: zlib's CRC-32 of every byte before END, each
/// recipient record's type byte counted as 'R' (so marking one done in place keeps it).
/// Start from 0 and feed the bytes in order; a writer never writes done marks.
uint32_t update_checksum(uint32_t checksum, std::string_view bytes);
/// The END record carrying `checksum` (8 lower-case hex digits) of the bytes before it and
/// the content size (16 lower-case hex digits); kEndRecordSize bytes. With `extracted_at`
/// (the file offset of an extracted segment's EXTRACTED record), also that offset (16 hex
/// digits): kLongEndRecordSize bytes.
std::string encode_end(uint32_t checksum, uint64_t content_size,
                       std::optional<uint64_t> extracted_at = std::nullopt);
/// The END record for a file whose bytes so far are `head`, with `content_size` bytes of
/// content.
std::string encode_end_after(std::string_view head, uint64_t content_size,
                             std::optional<uint64_t> extracted_at = std::nullopt);
/// The content size recorded in a version 2 END record (the last kEndRecordSize bytes of a
/// committed file), for listings that do not read the content. Checks the record's shape,
/// not the file checksum. (The long form is read by decode_end_tail.)
Result<uint64_t> content_size_from_end(std::string_view end_record);

/// What an END record of either form says.
struct EndInfo {
  uint64_t content_size = 0;
  std::optional<uint64_t> extracted_at;  // set for the long form: where the segment starts
  size_t record_size = kEndRecordSize;   // bytes of the END record itself
};
/// Decodes the END record at the end of `tail`: the last kLongEndRecordSize bytes of a
/// committed version 2 file (fewer when the file is shorter). Checks shapes, not checksums.
Result<EndInfo> decode_end_tail(std::string_view tail);

/// Decodes an extracted segment alone (from its EXTRACTED record up to, not including, END),
/// as the queue manager reads it without the content.
Result<message::ContentActions> decode_extracted(std::string_view segment);

/// The envelope delivery works with once the actions recorded after the content apply:
/// `actions` kept in envelope.actions; each BCC address a recipient more (NOTIFY=NEVER,
/// unless it is already a recipient); with a REDIRECT, every recipient moved to
/// envelope.redirected_from and the redirect address the only recipient (its ORCPT the
/// original recipient when there was exactly one). decode_queue_file applies it; a reader of
/// the envelope alone calls it after decode_extracted.
void apply_content_actions(message::Envelope& envelope, message::ContentActions actions);

struct QueueFile {
  message::Envelope envelope;
  std::string content;  // the CRLF message, Received header first
  int version = 2;
  /// Parallel to envelope.recipients: true for a version 1 recipient marked done in place.
  /// Always false in version 2 (status lives in the status log).
  std::vector<bool> recipient_done;
};

/// The envelope at the start of a version 2 file.
struct EnvelopeHead {
  message::Envelope envelope;
  size_t length = 0;  // bytes up to and including the ENVELOPE END record
};

/// Decodes the envelope from any prefix of a version 2 file and checks its checksum;
/// nullopt when the envelope continues past `prefix` (read more and call again). A version 1
/// file is an error saying so (it has no envelope checksum: decode the whole file instead).
Result<std::optional<EnvelopeHead>> decode_envelope(std::string_view prefix);

enum class Checksum { kVerify, kIgnore };

/// Decodes a whole queue file of version 2 or 1. Errors name the offset and the reason
/// ("offset 17: record truncated", "no END record: incomplete file", "checksum mismatch").
/// Bytes after END are an error in version 2; in version 1 they are ignored (the stale tail
/// of a reused file). kIgnore skips the checksums (fuzzing the parser behind them).
Result<QueueFile> decode_queue_file(std::string_view bytes,
                                    Checksum checksum = Checksum::kVerify);

}  // namespace estafeta::queue
