// Writing planned notices into the queue. See notice_writer.h.
#include "bounce/notice_writer.h"

#include <future>

#include "base/clock.h"
#include "message/smtputf8_autodetect.h"
#include "queue/spool.h"

namespace estafeta::bounce {
namespace {

// Queues one notice; its queue id or why not.
Result<std::string> queue_notice(queue::Spool& spool, PlannedNotice planned,
                                 std::string_view original) {
  message::Envelope envelope;
  envelope.sender = planned.envelope_sender;
  envelope.recipients.push_back({planned.recipient, "", ""});
  envelope.protocol = "ESMTP";
  envelope.client_hostname = "localhost";
  envelope.smtputf8 = planned.smtputf8_autodetect && message::has_8bit_address(envelope);
  auto incoming = spool.begin(std::move(envelope));
  if (!incoming) return incoming.error();
  message::Notice& notice = planned.notice;
  notice.notice_queue_id = (*incoming)->queue_id();
  notice.now_us = system_now_us();
  // The builder copies only what it attaches (the headers for RET=HDRS, a postmaster copy
  // or a message over bounce_size_limit).
  notice.original = std::string(original);
  if (Status s = (*incoming)->append(message::build_notice(notice)); !s.ok()) return s.error();
  std::promise<Result<std::string>> committed;
  spool.commit(std::move(*incoming),
               [&committed](Result<std::string> r) { committed.set_value(std::move(r)); });
  return committed.get_future().get();
}

}  // namespace

Result<std::vector<std::string>> queue_notices(queue::Spool& spool, NoticePlan plan,
                                               std::string_view original,
                                               const std::string& about_id,
                                               const log::Logger& log) {
  if (!plan.discarded.empty()) {
    if (plan.discarded_is_warning) {
      log.warning("{}: {}", about_id, plan.discarded);
    } else {
      log.info("{}: {}", about_id, plan.discarded);
    }
  }
  std::vector<std::string> ids;
  for (PlannedNotice& planned : plan.notices) {
    const std::string what = planned.what;
    const bool required = planned.required;
    auto written = queue_notice(spool, std::move(planned), original);
    if (!written) {
      if (required) return written.error();
      log.warning("{}: {} failed: {}", about_id, what, written.error().message);
      continue;
    }
    log.info("{}: {}: {}", about_id, what, *written);
    ids.push_back(std::move(*written));
  }
  return ids;
}

}  // namespace estafeta::bounce
