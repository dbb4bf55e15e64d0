// What the server session asks its edge at each policy pause point (smtpd's restriction
// stages, Postfix's smtpd_check), and the answer it expects: PolicyFacts is a snapshot of
// the session (client, HELO, sender, recipient, SASL, TLS, size) for one stage; a
// PolicyDecision accepts or refuses the command with a full reply and may attach actions to
// the mail transaction (DISCARD, HOLD, FILTER, REDIRECT, BCC, PREPEND) and notes for the
// log. Pure data; no behaviour beyond naming the stages.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "message/envelope.h"

namespace estafeta::smtp {

/// The points where a session may wait for a policy decision, in protocol order.
enum class PolicyStage { Connect, Helo, Mail, Rcpt, Data, EndOfData, Etrn, Vrfy };
inline constexpr size_t kPolicyStageCount = 8;

/// Postfix's name of the stage in log lines ("NOQUEUE: reject: RCPT from ...") and in the
/// policy protocol's protocol_state attribute.
std::string_view policy_stage_name(PolicyStage stage);

/// Which stages the edge wants to decide; a stage that is not asked is accepted at once.
/// The default asks at RCPT only (every recipient is checked: relay access, unknown users).
struct PolicyStages {
  std::array<bool, kPolicyStageCount> ask{false, false, false, true, false, false, false, false};
  bool asks(PolicyStage stage) const { return ask[static_cast<size_t>(stage)]; }
  void set(PolicyStage stage, bool on = true) { ask[static_cast<size_t>(stage)] = on; }
};

/// The outcome of a client host name lookup (Postfix keeps a status with each name).
enum class NameStatus { Ok, TempFail, NotFound };

struct PolicyFacts {
  PolicyStage stage = PolicyStage::Rcpt;
  std::string client_address;
  uint16_t client_port = 0;
  std::string client_name = "unknown";          // forward-confirmed name, or "unknown"
  NameStatus client_name_status = NameStatus::NotFound;
  std::string reverse_client_name = "unknown";  // the PTR name, or "unknown"
  NameStatus reverse_client_name_status = NameStatus::NotFound;
  std::string helo;            // at Helo: the name being given; later: the accepted one
  bool ehlo = false;           // that name came with EHLO
  bool have_mail = false;      // a MAIL command is accepted (or, at Mail, being decided)
  uint64_t transaction = 0;    // which mail transaction of the session (1 = the first MAIL)
  std::string sender;          // "" is the null sender when have_mail
  std::string recipient;       // Rcpt: the address being decided; Vrfy: its argument
  std::string etrn_domain;     // Etrn: the site
  size_t recipient_count = 0;  // recipients accepted so far (at EndOfData: all of them)
  uint64_t size = 0;           // Mail: SIZE=, EndOfData: the message's size, else 0
  std::string protocol;        // "SMTP", "ESMTP", "ESMTPS"
  bool tls_active = false;
  std::string sasl_method;     // empty: not authenticated
  std::string sasl_username;
  std::string sasl_sender;     // MAIL FROM's AUTH= parameter, when given
  /// The client sent this command ahead of the reply to an earlier one where RFC 2920 does
  /// not allow it (before EHLO's PIPELINING, or after HELO/EHLO/DATA in the same packet):
  /// reject_unauth_pipelining.
  bool unauth_pipelining = false;
};

/// Actions that a decision attaches to the mail transaction (access(5) and policy-service
/// answers): applied by the edge when the message is queued.
struct PolicyActions {
  message::ContentActions queue;      // HOLD, FILTER, REDIRECT, BCC: recorded with the message
  bool discard = false;               // DISCARD: claim delivery, queue nothing
  std::vector<std::string> prepend;   // PREPEND: header lines (no CRLF) above the message
  bool empty() const { return queue.empty() && !discard && prepend.empty(); }
  void merge(const PolicyActions& other);
};

/// A log note of a decision ("hold", "discard", "redirect", "filter", "warn" ...): the
/// session logs it in Postfix's form, "NOQUEUE: hold: RCPT from host[addr]: <text>; from=<>
/// to=<> proto=ESMTP helo=<>".
struct PolicyNote {
  std::string action;
  std::string text;
};

struct PolicyDecision {
  bool accepted = true;
  std::string reply;  // when refused: full reply without CRLF, e.g. "554 5.7.1 <a@b>: Relay access denied"
  bool disconnect = false;  // refused with 421 or 521: the session ends after the reply
  PolicyActions actions;
  std::vector<PolicyNote> notes;

  static PolicyDecision accept() { return {}; }
  static PolicyDecision refuse(std::string reply) {
    PolicyDecision d;
    d.accepted = false;
    d.reply = std::move(reply);
    return d;
  }
};

}  // namespace estafeta::smtp
