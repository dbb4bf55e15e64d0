// Maildir delivery of one message to one recipient (https://cr.yp.to/proto/maildir.html):
// write tmp/<name>, fsync it, rename it to new/<name> (never replacing), fsync new/ (grouped
// with concurrent deliveries into the same Maildir). The file name is derived from the queue id and the
// recipient index, so a redelivery after a crash finds new/<name> taken and counts as
// delivered instead of making a second copy. Errors are Result; never throws. Thread-safe
// for distinct (maildir, name) pairs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "queue/group_sync.h"

namespace estafeta::delivery {

/// "<arrival_sec>.Q<queue_id>R<index>.<hostname>", with '/' and ':' in the host name
/// written as "\057" and "\072" as the Maildir specification asks.
std::string maildir_file_name(int64_t arrival_sec, std::string_view queue_id, size_t index,
                              std::string_view hostname);

/// The lines put before a delivered message, as Postfix's local(8) and virtual(8) write
/// them: "Return-Path: <sender>", "X-Original-To: <original recipient>" (Postfix's
/// enable_original_recipient), "Delivered-To: <recipient>", each ending in LF. The original
/// recipient is the recipient's ORCPT as queued when it is of type rfc822 ("rfc822;addr":
/// the address the client gave, before any rewriting; taken as it is, not xtext-decoded),
/// else `recipient`.
std::string delivery_prefix(std::string_view sender, std::string_view recipient,
                            std::string_view orcpt);

/// The mailbox copy: delivery_prefix(), then the message with every CRLF turned into LF (as
/// Postfix's local(8) writes it).
std::string maildir_message(std::string_view sender, std::string_view recipient,
                            std::string_view crlf_content, std::string_view orcpt = {});

enum class MaildirOutcome { Delivered, AlreadyDelivered };

/// Writes `message` as <maildir>/new/<name>, its data and inode on stable storage before
/// the name appears; the new/ entry itself is not synced yet (see sync_maildir_new). Creates
/// <maildir> (and missing parents) and tmp/ new/ cur/ on demand, mode 0700, each made
/// durable; the file is 0600.
Result<MaildirOutcome> link_into_maildir(const std::string& maildir, const std::string& name,
                                         std::string_view message);

/// A copy in <maildir>/tmp/<name>, written but neither synced nor in new/ yet: the first
/// half of link_into_maildir, so that a batch writes all its copies before it syncs any (one
/// journal commit, or one round of device writes, then serves them all). Removed from tmp/
/// when dropped unpublished.
class MaildirTmpFile {
 public:
  MaildirTmpFile(int fd, std::string maildir, std::string name)
      : fd_(fd), maildir_(std::move(maildir)), name_(std::move(name)) {}
  MaildirTmpFile(MaildirTmpFile&& other) noexcept;
  MaildirTmpFile& operator=(MaildirTmpFile&&) = delete;
  MaildirTmpFile(const MaildirTmpFile&) = delete;
  ~MaildirTmpFile();

  /// fsync (data and inode), then the rename into new/<name> that never replaces: the
  /// second half of link_into_maildir. Once only.
  Result<MaildirOutcome> publish();

 private:
  int fd_ = -1;  // -1 once closed
  std::string maildir_, name_;
  bool settled_ = false;  // published or removed
};

/// Creates tmp/<name> (and the Maildir on demand, as link_into_maildir) and writes
/// `message`. `start_writeback`: also starts its writeback without waiting for it (a hint
/// for a batch that writes other copies before it syncs this one; pointless when the fsync
/// follows at once).
Result<MaildirTmpFile> write_maildir_tmp(const std::string& maildir, const std::string& name,
                                         std::string_view message, bool start_writeback);

/// fsync of <maildir>/new/, batched across threads by `syncs`: after it, every name that
/// link_into_maildir put there before the call is durable.
Status sync_maildir_new(const std::string& maildir, queue::GroupSync& syncs);

/// Both: a delivery that is durable when this returns. `syncs` must outlive the call.
Result<MaildirOutcome> deliver_to_maildir(const std::string& maildir, const std::string& name,
                                          std::string_view message, queue::GroupSync& syncs);

}  // namespace estafeta::delivery
