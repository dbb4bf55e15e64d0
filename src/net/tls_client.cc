// The SMTP client's OpenSSL context, per-connection settings and peer classification (see
// tls_client.h).
#include "net/tls_client.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "net/tls_dane.h"

namespace estafeta::net {
namespace {

using outbound::PeerTrust;
using outbound::TlsVersion;

// OpenSSL's version number and "no such version" option, indexed by TlsVersion.
struct VersionBits {
  int version;
  uint64_t no_option;
};
constexpr VersionBits kVersionBits[outbound::kTlsVersionCount] = {
    {TLS1_VERSION, SSL_OP_NO_TLSv1},
    {TLS1_1_VERSION, SSL_OP_NO_TLSv1_1},
    {TLS1_2_VERSION, SSL_OP_NO_TLSv1_2},
    {TLS1_3_VERSION, SSL_OP_NO_TLSv1_3},
};

const VersionBits& bits(TlsVersion version) { return kVersionBits[static_cast<int>(version)]; }

std::string hex(const unsigned char* bytes, unsigned int length) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string text;
  for (unsigned int i = 0; i < length; ++i) {
    text.push_back(kDigits[bytes[i] >> 4]);
    text.push_back(kDigits[bytes[i] & 0xf]);
  }
  return text;
}

bool fingerprint_matches(X509* cert, const std::vector<std::string>& fingerprints) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  std::vector<std::string> own;
  if (X509_digest(cert, EVP_sha256(), digest, &length) == 1) own.push_back(hex(digest, length));
  if (X509_pubkey_digest(cert, EVP_sha256(), digest, &length) == 1) {
    own.push_back(hex(digest, length));
  }
  for (const std::string& mine : own) {
    if (std::find(fingerprints.begin(), fingerprints.end(), mine) != fingerprints.end()) {
      return true;
    }
  }
  return false;
}

std::string openssl_error_text() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  return buffer;
}

}  // namespace

Result<std::shared_ptr<asio::ssl::context>> make_client_tls_context(
    const outbound::ClientTlsSettings& settings) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  asio::error_code ec;
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_compression,
                       ec);
  if (ec) return make_error("cannot set up the TLS client context: " + ec.message());
  // The level decides what a failed verification means (may and encrypt go on).
  context->set_verify_mode(asio::ssl::verify_none, ec);
  if (settings.ca_file.empty() && settings.ca_path.empty()) {
    context->set_default_verify_paths(ec);
    if (ec) return make_error("cannot load the system CA store: " + ec.message());
  }
  if (!settings.ca_file.empty()) {
    context->load_verify_file(settings.ca_file, ec);
    if (ec) return make_error("smtp_tls_CAfile " + settings.ca_file + ": " + ec.message());
  }
  if (!settings.ca_path.empty()) {
    context->add_verify_path(settings.ca_path, ec);
    if (ec) return make_error("smtp_tls_CApath " + settings.ca_path + ": " + ec.message());
  }
  if (auto dane = enable_client_dane(context->native_handle()); !dane.ok()) return dane.error();
  if (!settings.cert_file.empty()) {
    context->use_certificate_chain_file(settings.cert_file, ec);
    if (ec) return make_error("smtp_tls_cert_file " + settings.cert_file + ": " + ec.message());
    const std::string& key = settings.key_file.empty() ? settings.cert_file : settings.key_file;
    context->use_private_key_file(key, asio::ssl::context::pem, ec);
    if (ec) return make_error("smtp_tls_key_file " + key + ": " + ec.message());
    if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
      ERR_clear_error();
      return make_error("smtp_tls_key_file does not match smtp_tls_cert_file");
    }
  }
  return context;
}

Status prepare_client_ssl(SSL* ssl, const ClientTlsParams& params) {
  if (!params.sni.empty() && SSL_set_tlsext_host_name(ssl, params.sni.c_str()) != 1) {
    return make_error("cannot set the TLS server name " + params.sni + ": " + openssl_error_text());
  }
  TlsVersion lowest = params.protocols.lowest();
  TlsVersion highest = params.protocols.highest();
  if (SSL_set_min_proto_version(ssl, bits(lowest).version) != 1 ||
      SSL_set_max_proto_version(ssl, bits(highest).version) != 1) {
    return make_error("cannot set the TLS protocol versions: " + openssl_error_text());
  }
  for (int v = static_cast<int>(lowest) + 1; v < static_cast<int>(highest); ++v) {
    auto version = static_cast<TlsVersion>(v);
    if (!params.protocols.allows(version)) SSL_set_options(ssl, bits(version).no_option);
  }
  if (SSL_set_cipher_list(ssl, params.cipher_list.c_str()) != 1) {
    return make_error("no usable cipher in \"" + params.cipher_list +
                      "\": " + openssl_error_text());
  }
  return apply_tlsa(ssl, params);
}

PeerTrust classify_peer(SSL* ssl, const ClientTlsParams& params) {
  X509* cert = SSL_get1_peer_certificate(ssl);  // a reference we must free
  if (cert == nullptr) return PeerTrust::Anonymous;
  PeerTrust trust = PeerTrust::Untrusted;
  if (!params.tlsa.empty()) {
    if (dane_verified(ssl)) trust = PeerTrust::Verified;
  } else if (params.level == outbound::TlsLevel::Fingerprint) {
    if (fingerprint_matches(cert, params.fingerprints)) trust = PeerTrust::Verified;
  } else if (SSL_get_verify_result(ssl) == X509_V_OK) {
    trust = PeerTrust::Trusted;
    for (const std::string& name : params.names) {
      if (X509_check_host(cert, name.data(), name.size(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
                          nullptr) == 1) {
        trust = PeerTrust::Verified;
        break;
      }
    }
  }
  X509_free(cert);
  return trust;
}

}  // namespace estafeta::net
