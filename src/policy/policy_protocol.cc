// The policy delegation protocol's request encoder and response parser (see policy_protocol.h).
#include "policy/policy_protocol.h"

#include <fmt/format.h>

namespace estafeta::policy {

PolicyAttributes request_attributes(const PolicyRequestFacts& f) {
  PolicyAttributes a = {
      {"request", "smtpd_access_policy"},
      {"protocol_state", f.protocol_state},
      {"protocol_name", f.protocol_name},
      {"helo_name", f.helo_name},
      {"queue_id", f.queue_id},
      {"sender", f.sender},
      {"recipient", f.recipient},
      {"recipient_count", std::to_string(f.recipient_count)},
      {"client_address", f.client_address},
      {"client_name", f.client_name},
      {"reverse_client_name", f.reverse_client_name},
      {"instance", f.instance},
      {"sasl_method", f.sasl_method},
      {"sasl_username", f.sasl_username},
      {"sasl_sender", f.sasl_sender},
      {"size", std::to_string(f.size)},
      {"ccert_subject", f.ccert_subject},
      {"ccert_issuer", f.ccert_issuer},
      {"ccert_fingerprint", f.ccert_fingerprint},
      {"encryption_protocol", f.encryption_protocol},
      {"encryption_cipher", f.encryption_cipher},
      {"encryption_keysize", std::to_string(f.encryption_keysize)},
      {"etrn_domain", f.etrn_domain},
      {"stress", f.stress},
      {"ccert_pubkey_fingerprint", f.ccert_pubkey_fingerprint},
      {"client_port", f.client_port},
      {"policy_context", f.policy_context},
      {"server_address", f.server_address},
      {"server_port", f.server_port},
  };
  if (!f.compatibility_level.empty()) a.push_back({"compatibility_level", f.compatibility_level});
  if (!f.mail_version.empty()) a.push_back({"mail_version", f.mail_version});
  return a;
}

std::string sanitize_attribute_value(std::string_view value) {
  std::string out(value);
  for (char& c : out) {
    if (c == '\r' || c == '\n' || c == '\0') c = '?';
  }
  return out;
}

Result<std::string> encode_request(std::span<const PolicyAttribute> attributes) {
  std::string out;
  for (const PolicyAttribute& a : attributes) {
    if (a.name.empty()) return make_error("policy request: empty attribute name");
    if (a.name.find_first_of(std::string_view("=\r\n\0", 4)) != std::string::npos) {
      return make_error(fmt::format("policy request: bad attribute name \"{}\"",
                                    sanitize_attribute_value(a.name)));
    }
    out += a.name;
    out += '=';
    out += sanitize_attribute_value(a.value);
    out += '\n';
  }
  out += '\n';
  return out;
}

size_t ResponseParser::feed(std::string_view bytes) {
  size_t used = 0;
  while (used < bytes.size() && state_ == State::NeedMore) {
    const char c = bytes[used++];
    if (c == '\n') {
      end_line();
    } else if (c == '\r' || c == '\0') {
      fail(c == '\r' ? "carriage return in response" : "NUL in response");
    } else if (line_.size() >= limits_.line_length) {
      fail(fmt::format("response line longer than {} octets", limits_.line_length));
    } else {
      line_ += c;
    }
  }
  return used;
}

void ResponseParser::end_line() {
  if (line_.empty()) {
    if (!action_) return fail("response without an action attribute");
    if (action_->empty()) return fail("empty action in response");
    state_ = State::Done;
    return;
  }
  const size_t eq = line_.find('=');
  if (eq == std::string::npos) return fail("response line without '='");
  if (eq == 0) return fail("response attribute without a name");
  if (++attributes_ > limits_.max_attributes) {
    return fail(fmt::format("more than {} attributes in response", limits_.max_attributes));
  }
  if (!action_ && std::string_view(line_).substr(0, eq) == "action") {
    action_ = line_.substr(eq + 1);
  }
  line_.clear();
}

void ResponseParser::fail(std::string why) {
  state_ = State::Failed;
  error_ = make_error(std::move(why));
  line_.clear();
}

Result<PolicyResponse> ResponseParser::result() const {
  if (state_ == State::Done) return PolicyResponse{*action_};
  if (state_ == State::Failed) return error_;
  return make_error("policy response incomplete");
}

}  // namespace estafeta::policy
