// OpenSSL's DANE support applied to the SMTP client's connections: see tls_dane.h.
#include "net/tls_dane.h"

#include <openssl/err.h>
#include <openssl/x509.h>

namespace estafeta::net {

Status enable_client_dane(SSL_CTX* context) {
  if (SSL_CTX_dane_enable(context) <= 0) {
    ERR_clear_error();
    return make_error("cannot enable DANE on the TLS client context");
  }
  SSL_CTX_dane_set_flags(context, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
  return {};
}

Status apply_tlsa(SSL* ssl, const outbound::TlsConnectionPlan& plan) {
  if (plan.tlsa.empty()) return {};
  if (SSL_dane_enable(ssl, plan.dane_base_domain.c_str()) <= 0) {
    ERR_clear_error();
    return make_error("cannot enable DANE for " + plan.dane_base_domain);
  }
  for (const std::string& name : plan.names) {
    if (name != plan.dane_base_domain && SSL_add1_host(ssl, name.c_str()) != 1) {
      ERR_clear_error();
      return make_error("cannot add the name " + name + " to match");
    }
  }
  int usable = 0;
  for (const outbound::TlsaRecord& r : plan.tlsa) {
    if (SSL_dane_tlsa_add(ssl, r.usage, r.selector, r.matching_type, r.data.data(), r.data.size()) >
        0) {
      ++usable;
    }
  }
  ERR_clear_error();
  if (usable == 0) return make_error("no TLSA record of " + plan.dane_base_domain + " is usable");
  return {};
}

bool dane_verified(SSL* ssl) {
  return SSL_get_verify_result(ssl) == X509_V_OK &&
         SSL_get0_dane_authority(ssl, nullptr, nullptr) >= 0;
}

std::string verify_error(SSL* ssl) {
  const long result = SSL_get_verify_result(ssl);
  if (result == X509_V_OK) return {};
  return X509_verify_cert_error_string(result);
}

}  // namespace estafeta::net
