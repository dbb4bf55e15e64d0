// The bounce service's decisions: which notices, to whom. See notice_plan.h.
#include "bounce/notice_plan.h"

#include "base/ascii.h"

namespace estafeta::bounce {
namespace {

using qmgr::NoticeRequestKind;

bool same_address(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii::to_lower(a[i]) != ascii::to_lower(b[i])) return false;
  }
  return true;
}

std::vector<message::NoticeRecipient> recipients_of(const qmgr::BounceRequest& request,
                                                    const message::Envelope& original) {
  std::vector<message::NoticeRecipient> out;
  for (const qmgr::NoticeFacts& f : request.recipients) {
    std::string orcpt;
    if (f.index < original.recipients.size() && original.recipients[f.index].address == f.address) {
      orcpt = original.recipients[f.index].orcpt;
    }
    out.push_back({f.address, orcpt, f.status, f.reason, f.diagnostic, f.remote_mta,
                   f.last_attempt_us, f.action});
  }
  return out;
}

}  // namespace

std::string double_bounce_sender(const NoticeSettings& settings) {
  return "double-bounce@" + settings.myhostname;
}

NoticePlan plan_notices(const qmgr::BounceRequest& request, const message::Envelope& original,
                        const NoticeSettings& settings) {
  const std::string& sender = original.sender;
  const std::string postmaster_sender = double_bounce_sender(settings);
  const bool about_postmaster_notice = same_address(sender, postmaster_sender);
  const message::NotifyClasses& classes = settings.notify_classes;

  message::Notice base;
  base.reporting_mta = settings.myhostname;
  base.queue_id = request.queue_id;
  base.arrival_us = original.arrival_us;
  base.original_sender = sender;
  base.envid = original.dsn_envid;
  base.headers_only = original.dsn_ret == "HDRS";
  base.size_limit = settings.bounce_size_limit;
  base.recipients = recipients_of(request, original);

  NoticePlan plan;
  auto add = [&](message::NoticeKind kind, std::string from, std::string to, bool to_postmaster,
                 std::string what, bool required, std::string problem = "") {
    PlannedNotice p;
    p.envelope_sender = std::move(from);
    p.recipient = std::move(to);
    p.notice = base;
    p.notice.kind = kind;
    p.notice.to = p.recipient;
    p.notice.to_postmaster = to_postmaster;
    p.notice.problem = std::move(problem);
    p.what = std::move(what);
    p.required = required;
    p.smtputf8_autodetect = settings.smtputf8_autodetect;
    plan.notices.push_back(std::move(p));
  };

  switch (request.kind) {
    case NoticeRequestKind::kFailure:
      if (about_postmaster_notice) {
        // Postfix's words: a notice about a postmaster notice would be a triple bounce.
        plan.discarded = "undeliverable postmaster notification discarded";
        plan.discarded_is_warning = true;
      } else if (sender.empty()) {
        if (classes.reports_double_bounces()) {
          add(message::NoticeKind::kFailure, postmaster_sender, settings.double_bounce_recipient,
              true, "postmaster non-delivery notification", true);
        } else {
          plan.discarded =
              "undeliverable non-delivery notification discarded (notify_classes lists neither "
              "bounce nor 2bounce)";
        }
      } else {
        add(message::NoticeKind::kFailure, "", sender, false, "sender non-delivery notification",
            true);
        if (classes.has(message::NotifyClass::kBounce)) {
          add(message::NoticeKind::kFailure, postmaster_sender, settings.bounce_notice_recipient,
              true, "postmaster copy of the non-delivery notification", false);
        }
      }
      break;
    case NoticeRequestKind::kDelay:
      if (about_postmaster_notice) break;
      if (!sender.empty()) {
        add(message::NoticeKind::kDelay, "", sender, false, "sender delay notification", true);
      }
      if (classes.has(message::NotifyClass::kDelay)) {
        add(message::NoticeKind::kDelay, postmaster_sender, settings.delay_notice_recipient, true,
            "postmaster delay notification", sender.empty());
      }
      break;
    case NoticeRequestKind::kSuccess:
      if (sender.empty() || about_postmaster_notice) break;
      add(message::NoticeKind::kSuccess, "", sender, false, "sender delivery status notification",
          true);
      break;
    case NoticeRequestKind::kResource:
    case NoticeRequestKind::kSoftware: {
      const bool resource = request.kind == NoticeRequestKind::kResource;
      if (about_postmaster_notice || !classes.has(resource ? message::NotifyClass::kResource
                                                           : message::NotifyClass::kSoftware)) {
        break;
      }
      add(message::NoticeKind::kDelay, postmaster_sender, settings.error_notice_recipient, true,
          resource ? "postmaster resource notification" : "postmaster software notification", true,
          resource ? "a resource problem" : "a software error");
      break;
    }
  }
  return plan;
}

}  // namespace estafeta::bounce
