// The restriction engine's list walk (warn_if_reject, recursion) and its stages: Postfix's
// smtpd_check_client, _helo, _mail, _rcpt, _data, _eod and _etrn, with smtpd_delay_reject
// and the defer_if_permit state carried from stage to stage.
#include "base/ascii.h"
#include "policy/restriction_evaluator_internal.h"

namespace estafeta::policy {

detail::Status RestrictionEvaluator::Run::generic(const RestrictionList& list,
                                                  std::string_view name, std::string_view klass,
                                                  std::optional<RestrictionKind> default_access) {
  int saved = recursion++;
  if (recursion > kMaxRecursion) {
    return server_error("restriction classes or access tables nest too deeply");
  }
  Status status = Status::Dunno;
  for (const Restriction& r : list) {
    if (discard) break;
    if (r.kind == RestrictionKind::WarnIfReject) {
      if (warn_if_reject == 0) warn_if_reject = recursion;
      continue;
    }
    status = apply(r, r.kind, r.argument, name, klass, default_access);
    if (status == Status::Pending) return status;
    if (warn_if_reject >= recursion) warn_if_reject = 0;
    if (status != Status::Dunno) break;
    if (dip.active && dir.active) break;
  }
  recursion = saved;
  if (warn_if_reject >= recursion) warn_if_reject = 0;
  return status;
}

detail::Status RestrictionEvaluator::Run::check_client() {
  if (f.client_address.empty()) return Status::Dunno;
  dip.active = false;
  reset();
  Status status = generic(s.client, namaddr, kClient, RestrictionKind::CheckClientAccess);
  if (status == Status::Pending) return status;
  memory.defer_if_permit_client = dip.active;
  remember_deferral();
  return status == Status::Reject ? Status::Reject : Status::Dunno;
}

detail::Status RestrictionEvaluator::Run::check_helo() {
  if (!f.helo) return Status::Dunno;
  dip.active = memory.defer_if_permit_client;
  reset();
  Status status = generic(s.helo, *f.helo, kHelo, RestrictionKind::CheckHeloAccess);
  if (status == Status::Pending) return status;
  memory.defer_if_permit_helo = dip.active;
  remember_deferral();
  return status == Status::Reject ? Status::Reject : Status::Dunno;
}

detail::Status RestrictionEvaluator::Run::check_mail() {
  if (!f.sender) return Status::Dunno;
  dip.active = memory.defer_if_permit_client || memory.defer_if_permit_helo;
  sender_checked = false;
  reset();
  Status status = generic(s.sender, *f.sender, kSender, RestrictionKind::CheckSenderAccess);
  if (status == Status::Pending) return status;
  memory.defer_if_permit_sender = dip.active;
  remember_deferral();
  if (s.reject_unlisted_sender && status != Status::Reject && !sender_checked && !discard &&
      !f.sender->empty()) {
    status = unlisted(*f.sender, f.sender_facts, kSender);
  }
  return status == Status::Reject ? Status::Reject : Status::Dunno;
}

detail::Status RestrictionEvaluator::Run::check_rcpt() {
  if (!recipient) return Status::Dunno;
  if (ascii::iequals(*recipient, "postmaster")) return Status::Dunno;  // RFC 5321 4.5.1
  recipient_checked = false;
  if (s.delay_reject) {
    for (auto check : {&Run::check_client, &Run::check_helo, &Run::check_mail}) {
      Status status = (this->*check)();
      if (status != Status::Dunno) return status;
    }
  }
  dip.active = memory.defer_if_permit_sender;
  reset();
  Status status = Status::Dunno;
  for (const RestrictionList* list : {&s.relay, &s.recipient}) {
    status = generic(*list, *recipient, kRecipient, RestrictionKind::CheckRecipientAccess);
    if (status == Status::Pending || status == Status::Reject) break;
  }
  return apply_deferral(status);
}

detail::Status RestrictionEvaluator::Run::check_data(const RestrictionList& list,
                                                     std::string_view name,
                                                     std::string_view klass) {
  dip.active = false;
  reset();
  return apply_deferral(generic(list, name, klass, std::nullopt));
}

detail::Status RestrictionEvaluator::Run::check_etrn() {
  if (!f.etrn_domain) return Status::Dunno;
  if (s.delay_reject) {
    for (auto check : {&Run::check_client, &Run::check_helo}) {
      Status status = (this->*check)();
      if (status != Status::Dunno) return status;
    }
  }
  dip.active = memory.defer_if_permit_client || memory.defer_if_permit_helo;
  reset();
  return apply_deferral(generic(s.etrn, *f.etrn_domain, kEtrn, RestrictionKind::CheckEtrnAccess));
}

detail::Status RestrictionEvaluator::Run::evaluate() {
  switch (stage) {
    case Stage::Connect:
      return s.delay_reject ? Status::Dunno : check_client();
    case Stage::Helo:
      return s.delay_reject ? Status::Dunno : check_helo();
    case Stage::Mail:
      return s.delay_reject ? Status::Dunno : check_mail();
    case Stage::Rcpt:
    case Stage::Vrfy:
      return check_rcpt();
    case Stage::Data:
      return check_data(s.data, "DATA", kData);
    case Stage::EndOfData:
      return check_data(s.end_of_data, "END-OF-DATA", kEndOfData);
    case Stage::Etrn:
      return check_etrn();
  }
  return Status::Dunno;
}

}  // namespace estafeta::policy
