// The restriction engine's check_policy_service: the request's attributes (Postfix's policy
// delegation protocol) and what the answer, or the default action without one, does.
#include "policy/restriction_evaluator_internal.h"

namespace estafeta::policy {

std::vector<std::pair<std::string, std::string>> RestrictionEvaluator::Run::policy_attributes()
    const {
  bool data_stage = stage == Stage::Data || stage == Stage::EndOfData;
  const TlsFacts& tls = f.tls;
  return {
      {"request", "smtpd_access_policy"},
      {"protocol_state", std::string(protocol_state(stage, f))},
      {"protocol_name", f.protocol},
      {"client_address", f.client_address},
      {"client_name", f.client_name},
      {"client_port", f.client_port},
      {"reverse_client_name", f.reverse_client_name},
      {"server_address", f.server_address},
      {"server_port", f.server_port},
      {"helo_name", f.helo.value_or("")},
      {"sender", f.sender.value_or("")},
      {"recipient", recipient.value_or("")},
      {"recipient_count", std::to_string(data_stage ? f.recipient_count : 0)},
      {"queue_id", f.queue_id},
      {"instance", f.instance},
      {"size", std::to_string(f.size)},
      {"etrn_domain", f.etrn_domain.value_or("")},
      {"stress", f.stress},
      {"sasl_method", f.sasl_method},
      {"sasl_username", f.sasl_username},
      {"sasl_sender", f.sasl_sender},
      {"ccert_subject", tls.ccert_subject},
      {"ccert_issuer", tls.ccert_issuer},
      {"ccert_fingerprint", tls.ccert_fingerprint},
      {"ccert_pubkey_fingerprint", tls.ccert_pubkey_fingerprint},
      {"encryption_protocol", tls.active ? tls.protocol : ""},
      {"encryption_cipher", tls.active ? tls.cipher : ""},
      {"encryption_keysize", std::to_string(tls.active ? tls.keysize : 0)},
      {"policy_context", ""},
  };
}

detail::Status RestrictionEvaluator::Run::policy_service(
    const std::string& service, std::string_view name, std::string_view klass,
    std::optional<RestrictionKind> default_access) {
  auto answer = policy(PolicyNeed{service, policy_attributes()});
  if (!answer) return Status::Pending;
  if (answer->ok) return table_result(service, answer->action, name, klass, default_access);
  // The default action; a failure inside it (a policy service named in it) gets Postfix's
  // built-in default, so that it cannot recurse.
  ++policy_default_nesting;
  std::string action = policy_default_nesting == 1 ? s.policy_default_action
                                                   : "451 4.3.5 Server configuration problem";
  Status status = table_result(service, action, name, klass, default_access);
  --policy_default_nesting;
  return status;
}

}  // namespace estafeta::policy
