// Message stores for SMTP sessions (see message_store.h).
#include "daemon/message_store.h"

#include <fmt/format.h>

#include "submit/drop_file.h"
#include "submit/local_message.h"
#include "submit/maildrop.h"

namespace estafeta::daemon {
namespace {

class SpoolDraft final : public MessageDraft {
 public:
  explicit SpoolDraft(std::unique_ptr<queue::IncomingMessage> message)
      : message_(std::move(message)) {}
  const std::string& queue_id() const override { return message_->queue_id(); }
  Status append(std::string_view data) override { return message_->append(data); }
  void set_content_actions(const message::ContentActions& actions) override {
    message_->set_content_actions(actions);
  }
  std::unique_ptr<queue::IncomingMessage> take() { return std::move(message_); }

 private:
  std::unique_ptr<queue::IncomingMessage> message_;
};

class MaildropDraft final : public MessageDraft {
 public:
  MaildropDraft(std::string id, message::Envelope envelope)
      : id_(std::move(id)), envelope_(std::move(envelope)) {}
  const std::string& queue_id() const override { return id_; }
  Status append(std::string_view data) override {
    content_.append(data);
    return {};
  }
  // pickup checks the content again, and records what its own checks decide.
  void set_content_actions(const message::ContentActions&) override {}
  const message::Envelope& envelope() const { return envelope_; }
  std::string& content() { return content_; }

 private:
  std::string id_;
  message::Envelope envelope_;
  std::string content_;
};

}  // namespace

Result<std::unique_ptr<MessageDraft>> SpoolStore::begin(message::Envelope envelope) {
  auto begun = spool_.begin(std::move(envelope));
  if (!begun.ok()) return begun.error();
  return std::unique_ptr<MessageDraft>(std::make_unique<SpoolDraft>(std::move(*begun)));
}

void SpoolStore::commit(std::unique_ptr<MessageDraft> draft,
                        std::function<void(Result<std::string>)> done) {
  // Invariant: every draft of this store is a SpoolDraft.
  spool_.commit(static_cast<SpoolDraft&>(*draft).take(), std::move(done));
}

Result<std::unique_ptr<MessageDraft>> MaildropStore::begin(message::Envelope envelope) {
  // Named for the logs only; pickup gives the message its queue id.
  std::string id = fmt::format("drop{}", ++next_);
  return std::unique_ptr<MessageDraft>(
      std::make_unique<MaildropDraft>(std::move(id), std::move(envelope)));
}

void MaildropStore::commit(std::unique_ptr<MessageDraft> draft,
                           std::function<void(Result<std::string>)> done) {
  auto& d = static_cast<MaildropDraft&>(*draft);
  const message::Envelope& envelope = d.envelope();
  const std::string sender = submit::qualify(envelope.sender, options_.myorigin);
  if (policy_.may_use_sender(options_.login, sender) != policy::Match::Yes) {
    done(make_error(fmt::format("{} may not use the sender <{}> (local_login_sender_maps)",
                                options_.login, sender)));
    return;
  }
  submit::DropRequest request;
  request.sender = envelope.sender;
  for (const auto& r : envelope.recipients) request.recipients.push_back(r.address);
  // The drop file has one NOTIFY for all recipients: the first recipient's.
  if (!envelope.recipients.empty()) request.notify = envelope.recipients.front().notify;
  request.ret = envelope.dsn_ret;
  request.envid = envelope.dsn_envid;
  request.body_type = envelope.body_type;
  request.content = std::move(d.content());
  auto written =
      submit::write_drop_file(options_.queue_directory, submit::encode_drop_file(request));
  if (!written.ok()) {
    done(written.error());
    return;
  }
  done("maildrop/" + *written);
}

}  // namespace estafeta::daemon
