// The SMTP client's DANE edge (RFC 7672, RFC 6698): OpenSSL's DANE verification switched on
// for the client context, a plan's TLSA records (outbound/dane.h decided which) given to one
// connection before its handshake, and after it whether a record matched and, if not, why.
// Called by net/tls_client.cc; nothing else touches OpenSSL's DANE calls.
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "base/result.h"
#include "outbound/tls_plan.h"

namespace estafeta::net {

/// SSL_CTX_dane_enable, with DANE-EE(3) matches not name-checked (RFC 7672 3.1.1). Harmless
/// for connections that get no TLSA records.
Status enable_client_dane(SSL_CTX* context);

/// When plan.tlsa is not empty: DANE on for `ssl` with plan.dane_base_domain as the TLSA base
/// domain (and the first name a DANE-TA(2) chain must match; plan.names are added), each
/// record added. Records OpenSSL cannot use are skipped; an error if none is left.
Status apply_tlsa(SSL* ssl, const outbound::TlsConnectionPlan& plan);

/// After the handshake: the chain verified through a TLSA record.
bool dane_verified(SSL* ssl);

/// After the handshake: "" when the certificate verified, else OpenSSL's reason
/// ("no matching DANE TLSA records", "certificate has expired", ...).
std::string verify_error(SSL* ssl);

}  // namespace estafeta::net
