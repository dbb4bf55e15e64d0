// main.cf smtp_tls_* -> ClientTlsSettings (see tls_settings.h).
#include "outbound/tls_settings.h"

#include "base/ascii.h"
#include "config/parameters.h"

namespace estafeta::outbound {
namespace {

Error named(std::string_view parameter, const Error& error) {
  return make_error(std::string(parameter) + ": " + error.message);
}

}  // namespace

std::optional<InsecureMxPolicy> parse_insecure_mx_policy(std::string_view value) {
  if (ascii::iequals(value, "may")) return InsecureMxPolicy::May;
  if (ascii::iequals(value, "encrypt")) return InsecureMxPolicy::Encrypt;
  if (ascii::iequals(value, "dane")) return InsecureMxPolicy::Dane;
  return std::nullopt;
}

Result<ClientTlsSettings> make_client_tls_settings(const config::Config& config) {
  ClientTlsSettings s;
  std::string level = config.get("smtp_tls_security_level");
  if (level.empty()) {
    s.level = TlsLevel::None;
  } else if (auto parsed = parse_tls_level(level)) {
    s.level = *parsed;
  } else {
    return make_error("smtp_tls_security_level: unknown level \"" + level + "\"");
  }
  s.policy_maps = config.get("smtp_tls_policy_maps");
  s.ca_file = config.get("smtp_tls_CAfile");
  s.ca_path = config.get("smtp_tls_CApath");
  s.cert_file = config.get("smtp_tls_cert_file");
  s.key_file = config.get("smtp_tls_key_file");
  for (auto [name, target] : {std::pair{"smtp_tls_protocols", &s.protocols},
                              std::pair{"smtp_tls_mandatory_protocols", &s.mandatory_protocols}}) {
    auto parsed = parse_tls_protocols(config.get(name));
    if (!parsed) return named(name, parsed.error());
    *target = *parsed;
  }
  for (auto [name, target] : {std::pair{"smtp_tls_ciphers", &s.ciphers},
                              std::pair{"smtp_tls_mandatory_ciphers", &s.mandatory_ciphers}}) {
    *target = config.get(name);
    if (auto list = openssl_cipher_list(*target, {}); !list) return named(name, list.error());
  }
  s.servername = config.get("smtp_tls_servername");
  s.loglevel = static_cast<int>(config.get_int("smtp_tls_loglevel"));
  s.verify_cert_match = config::split_list(config.get("smtp_tls_verify_cert_match"));
  s.secure_cert_match = config::split_list(config.get("smtp_tls_secure_cert_match"));
  // Colons separate patterns too, as in a policy table's match=.
  for (auto* list : {&s.verify_cert_match, &s.secure_cert_match}) {
    std::vector<std::string> items;
    for (const std::string& item : *list) {
      for (std::string_view rest = item; !rest.empty();) {
        size_t colon = rest.find(':');
        if (colon != 0) items.emplace_back(rest.substr(0, colon));
        if (colon == std::string_view::npos) break;
        rest.remove_prefix(colon + 1);
      }
    }
    *list = std::move(items);
  }
  s.note_starttls_offer = config.get_bool("smtp_tls_note_starttls_offer");
  const std::string insecure_mx = config.get("smtp_tls_dane_insecure_mx_policy");
  const auto policy = parse_insecure_mx_policy(insecure_mx);
  if (!policy) {
    return make_error("smtp_tls_dane_insecure_mx_policy: unknown value \"" + insecure_mx + "\"");
  }
  s.insecure_mx_policy = *policy;
  return s;
}

}  // namespace estafeta::outbound
