// The SMTP client's TLS edge: the OpenSSL client context built from the smtp_tls_* settings,
// and, per connection, applying a TlsConnectionPlan (SNI, protocol versions, ciphers) to the
// SSL object before the handshake and classifying the peer after it (Postfix's Anonymous,
// Untrusted, Trusted, Verified). The decisions themselves are pure, in outbound/tls_plan.h;
// Transport::start_tls_client (net/transport.h) calls these.
#pragma once

#include <openssl/ssl.h>

#include <asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "base/result.h"
#include "outbound/tls_plan.h"
#include "outbound/tls_settings.h"

namespace estafeta::net {

/// What start_tls_client needs for one connection (the plan for this server).
using ClientTlsParams = outbound::TlsConnectionPlan;

/// A client context: smtp_tls_CAfile / smtp_tls_CApath, or the system store when both are
/// empty; the client certificate and key when smtp_tls_cert_file is set; SSLv2, SSLv3 and
/// compression off, OpenSSL's DANE support enabled (used per connection). The chain is checked
/// during the handshake but never aborts it (SSL_VERIFY_NONE): the level decides afterwards,
/// through classify_peer. Errors name the parameter ("smtp_tls_CAfile /x: No such file or
/// directory").
Result<std::shared_ptr<asio::ssl::context>> make_client_tls_context(
    const outbound::ClientTlsSettings& settings);

/// Before the handshake: SNI (when params.sni is set), the protocol range (the lowest and
/// highest allowed version, with the versions between that are not allowed switched off),
/// the cipher list and, at level dane, the TLSA records (net/tls_dane.h). An error when
/// OpenSSL refuses one of them.
Status prepare_client_ssl(SSL* ssl, const ClientTlsParams& params);

/// After the handshake. With TLSA records (params.tlsa): Verified when the chain verified
/// through one of them, else Untrusted (Anonymous without a certificate). Fingerprint level:
/// Verified when the SHA-256 digest of the certificate or of its public key is in
/// params.fingerprints, else Untrusted. Other levels: Anonymous without a certificate; Untrusted
/// when the chain did not verify; Verified when it did and one of params.names matched
/// (X509_check_host, no partial wildcards, ".domain" matching any subdomain); else Trusted. Below
/// verify params.names is empty, so a good chain is Trusted, as in Postfix's logs at levels may and
/// encrypt.
outbound::PeerTrust classify_peer(SSL* ssl, const ClientTlsParams& params);

}  // namespace estafeta::net
