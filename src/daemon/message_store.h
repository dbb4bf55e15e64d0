// Where an SMTP session puts the messages it accepts. The smtpd daemon and root's or
// mail_owner's `sendmail -bs` write the queue itself (SpoolStore, queue/spool.h); an
// ordinary user's `sendmail -bs` cannot, and hands each message to pickup through the
// maildrop directory instead (submit/maildrop.h; MaildropStore), as Postfix's stand-alone
// smtpd goes through postdrop.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "message/envelope.h"
#include "queue/spool.h"
#include "submit/submit_policy.h"

namespace estafeta::daemon {

/// A message being received.
class MessageDraft {
 public:
  virtual ~MessageDraft() = default;
  virtual const std::string& queue_id() const = 0;
  /// Appends content (CRLF text); after a failure every later call fails the same way.
  virtual Status append(std::string_view data) = 0;
  /// header_checks/body_checks HOLD, FILTER, REDIRECT, BCC, before the commit.
  virtual void set_content_actions(const message::ContentActions& actions) = 0;
};

class MessageStore {
 public:
  virtual ~MessageStore() = default;
  virtual Result<std::unique_ptr<MessageDraft>> begin(message::Envelope envelope) = 0;
  /// `done` (on any thread) with the queue id once the message is on stable storage.
  virtual void commit(std::unique_ptr<MessageDraft> draft,
                      std::function<void(Result<std::string>)> done) = 0;
};

/// The queue itself.
class SpoolStore final : public MessageStore {
 public:
  explicit SpoolStore(queue::Spool& spool) : spool_(spool) {}
  Result<std::unique_ptr<MessageDraft>> begin(message::Envelope envelope) override;
  void commit(std::unique_ptr<MessageDraft> draft,
              std::function<void(Result<std::string>)> done) override;

 private:
  queue::Spool& spool_;
};

/// The maildrop directory, for a user who cannot write the queue. The envelope sender is
/// checked against the submit policy before the message is dropped (pickup checks again).
class MaildropStore final : public MessageStore {
 public:
  struct Options {
    std::string queue_directory;
    std::string login;     // the submitting user
    std::string myorigin;
  };
  MaildropStore(Options options, const submit::SubmitPolicy& policy)
      : options_(std::move(options)), policy_(policy) {}
  Result<std::unique_ptr<MessageDraft>> begin(message::Envelope envelope) override;
  void commit(std::unique_ptr<MessageDraft> draft,
              std::function<void(Result<std::string>)> done) override;

 private:
  Options options_;
  const submit::SubmitPolicy& policy_;
  uint64_t next_ = 0;
};

}  // namespace estafeta::daemon
