// The SMTP client's TLS edge against a real TLS server on 127.0.0.1: certificates from a CA the
// test makes with the openssl command in a temporary directory; checks Postfix's peer
// classification (Verified, Trusted, Untrusted), the levels that refuse a peer, SNI, protocol
// limits, fingerprints and DANE (TLSA records as outbound/dane.h applies them).
#include "net/tls_client.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "net/transport.h"
#include "outbound/dane.h"

namespace estafeta::net {
namespace {

namespace fs = std::filesystem;
using outbound::PeerTrust;
using outbound::TlsLevel;
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

void run(const std::string& command) {
  ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0) << command;
}

std::string output_of(const std::string& command) {
  std::string text;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[512];
    while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) text.append(buffer, n);
    ::pclose(pipe);
  }
  return text;
}

class TlsClientTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/estafeta-tls-client-XXXXXX";
    dir_ = new fs::path(::mkdtemp(pattern));
    const std::string d = dir_->string();
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    for (const char* ca : {"ca", "other"}) {
      run("openssl req -x509 " + ec + " -keyout " + d + "/" + ca + ".key -out " + d + "/" + ca +
          ".pem -days 2 -subj /CN=" + ca + "-test-ca");
    }
    std::ofstream(d + "/ext.cnf") << "subjectAltName=DNS:mx.example.test,DNS:*.wild.example.test\n";
    run("openssl req -new " + ec + " -keyout " + d + "/server.key -out " + d +
        "/server.csr -subj /CN=mx.example.test");
    run("openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.pem -CAkey " + d +
        "/ca.key -CAcreateserial -days 2 -out " + d + "/server.pem -extfile " + d + "/ext.cnf");
  }

  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  static std::string file(const char* name) { return (*dir_ / name).string(); }

  struct Outcome {
    bool handshake = false;
    std::optional<PeerTrust> trust;
    std::string description;
    std::string sni_seen;  // by the server
    std::string verify_error;
  };

  // One connection: a TLS server on 127.0.0.1 and the client under test, on one io_context.
  static Outcome connect(const std::string& ca_file, const ClientTlsParams& params) {
    Outcome outcome;
    outbound::ClientTlsSettings settings;
    settings.ca_file = ca_file;
    auto client_context = make_client_tls_context(settings);
    EXPECT_TRUE(client_context.ok()) << client_context.error().message;
    if (!client_context.ok()) return outcome;
    std::string error;
    auto server_context = make_server_tls_context({file("server.pem"), file("server.key")}, &error);
    EXPECT_TRUE(server_context) << error;
    if (!server_context) return outcome;

    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    auto endpoint = acceptor.local_endpoint();
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
          if (ec) co_return;
          asio::ssl::stream<asio::ip::tcp::socket> tls(std::move(socket), *server_context);
          auto [hs] = co_await tls.async_handshake(asio::ssl::stream_base::server, kNoThrow);
          if (hs) co_return;
          if (const char* name =
                  SSL_get_servername(tls.native_handle(), TLSEXT_NAMETYPE_host_name)) {
            outcome.sni_seen = name;
          }
          char byte;
          co_await tls.async_read_some(asio::buffer(&byte, 1), kNoThrow);  // until the client goes
        },
        asio::detached);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          asio::ip::tcp::socket socket(io);
          auto [ec] = co_await socket.async_connect(endpoint, kNoThrow);
          if (ec) co_return;
          auto transport = make_tcp_transport(std::move(socket));
          outcome.handshake = co_await transport->start_tls_client(**client_context, params);
          outcome.trust = transport->tls_peer_trust();
          outcome.verify_error = transport->tls_verify_error();
          outcome.description = transport->tls_description();
          transport->close();
        },
        asio::detached);
    io.run();
    return outcome;
  }

  // The plan the pure policy makes for `policy_value` (smtp_tls_policy_maps syntax).
  static ClientTlsParams plan(const std::string& policy_value, const char* nexthop = "example.test",
                              const char* mx = "mx.example.test") {
    outbound::ClientTlsSettings settings;
    settings.servername = "hostname";
    auto policy = outbound::tls_policy_from_table(settings, policy_value);
    EXPECT_TRUE(policy.ok()) << policy.error().message;
    return outbound::plan_tls_connection(*policy, nexthop, mx);
  }

  static fs::path* dir_;
};

fs::path* TlsClientTest::dir_ = nullptr;

TEST_F(TlsClientTest, VerifiedWithTheRightCaAndName) {
  ClientTlsParams params = plan("verify");
  Outcome o = connect(file("ca.pem"), params);
  ASSERT_TRUE(o.handshake);
  EXPECT_EQ(o.trust, PeerTrust::Verified);
  EXPECT_FALSE(outbound::refuse_peer(params.level, *o.trust));
  EXPECT_EQ(o.sni_seen, "mx.example.test");
  EXPECT_TRUE(o.description.starts_with("TLSv1.3 with cipher ")) << o.description;
  EXPECT_EQ(
      outbound::tls_established_line(*o.trust, "mx.example.test", "127.0.0.1", 25, o.description)
          .rfind("Verified TLS connection established to mx.example.test[127.0.0.1]:25: "
                 "TLSv1.3 with cipher ",
                 0),
      0u);
}

// Connects at `level` (with the verify and secure levels' default names) and expects the
// classification `trust` and, at those levels, the refusal `text`.
void expect_refused(const std::string& ca, const char* nexthop, const char* mx, PeerTrust trust,
                    const char* text) {
  for (const char* level : {"verify", "secure"}) {
    ClientTlsParams params = TlsClientTest::plan(level, nexthop, mx);
    auto o = TlsClientTest::connect(ca, params);
    ASSERT_TRUE(o.handshake);
    EXPECT_EQ(o.trust, trust) << level;
    auto refusal = outbound::refuse_peer(params.level, *o.trust);
    ASSERT_TRUE(refusal) << level;
    EXPECT_EQ(refusal->text, text);
  }
}

TEST_F(TlsClientTest, TrustedWhenTheNameDoesNotMatch) {
  expect_refused(file("ca.pem"), "example.org", "mx.example.org", PeerTrust::Trusted,
                 "Server certificate not verified");
}

TEST_F(TlsClientTest, UntrustedWithAnUnknownCa) {
  expect_refused(file("other.pem"), "example.test", "mx.example.test", PeerTrust::Untrusted,
                 "Server certificate not trusted");
  // Opportunistic and mandatory encryption still use the connection.
  for (const char* level : {"may", "encrypt"}) {
    ClientTlsParams params = plan(level);
    Outcome o = connect(file("other.pem"), params);
    ASSERT_TRUE(o.handshake);
    EXPECT_EQ(o.trust, PeerTrust::Untrusted);
    EXPECT_FALSE(outbound::refuse_peer(params.level, *o.trust)) << level;
  }
}

TEST_F(TlsClientTest, GoodChainBelowVerifyIsTrusted) {
  Outcome o = connect(file("ca.pem"), plan("encrypt"));
  ASSERT_TRUE(o.handshake);
  EXPECT_EQ(o.trust, PeerTrust::Trusted);
}

TEST_F(TlsClientTest, SecureMatchesNexthopSubdomainsAndWildcards) {
  // secure's default: nexthop, dot-nexthop; mx.example.test is a subdomain of example.test.
  EXPECT_EQ(connect(file("ca.pem"), plan("secure")).trust, PeerTrust::Verified);
  // *.wild.example.test covers one label only.
  EXPECT_EQ(connect(file("ca.pem"), plan("secure match=a.wild.example.test")).trust,
            PeerTrust::Verified);
  EXPECT_EQ(connect(file("ca.pem"), plan("secure match=a.b.wild.example.test")).trust,
            PeerTrust::Trusted);
  EXPECT_EQ(connect(file("ca.pem"), plan("secure match=.example.test")).trust, PeerTrust::Verified);
}

TEST_F(TlsClientTest, ProtocolLimitsApply) {
  Outcome o = connect(file("ca.pem"), plan("encrypt protocols=<=TLSv1.2"));
  ASSERT_TRUE(o.handshake);
  EXPECT_TRUE(o.description.starts_with("TLSv1.2 with cipher ")) << o.description;
}

TEST_F(TlsClientTest, Fingerprints) {
  // "sha256 Fingerprint=AB:CD:..."
  std::string line =
      output_of("openssl x509 -noout -fingerprint -sha256 -in " + file("server.pem"));
  std::string fingerprint = line.substr(line.find('=') + 1);
  while (!fingerprint.empty() && fingerprint.back() == '\n') fingerprint.pop_back();
  ASSERT_EQ(fingerprint.size(), 95u) << line;
  ClientTlsParams params = plan("fingerprint match=00:11|" + fingerprint);
  EXPECT_EQ(connect(file("other.pem"), params).trust, PeerTrust::Verified);
  EXPECT_EQ(connect(file("ca.pem"), plan("fingerprint match=00:11")).trust, PeerTrust::Untrusted);
}

TEST_F(TlsClientTest, ContextErrorsNameTheParameter) {
  outbound::ClientTlsSettings settings;
  settings.ca_file = file("missing.pem");
  auto context = make_client_tls_context(settings);
  ASSERT_FALSE(context.ok());
  EXPECT_NE(context.error().message.find("smtp_tls_CAfile"), std::string::npos);
  settings.ca_file.clear();
  settings.cert_file = file("server.pem");
  settings.key_file = file("other.key");
  context = make_client_tls_context(settings);
  ASSERT_FALSE(context.ok());
  EXPECT_NE(context.error().message.find("smtp_tls_key_file"), std::string::npos)
      << context.error().message;
  settings.key_file = file("server.key");
  EXPECT_TRUE(make_client_tls_context(settings).ok());
}

// The SHA-256 of a certificate's DER form (selector 0) or of its public key (selector 1).
std::vector<uint8_t> tlsa_digest(const std::string& pem, int selector) {
  const std::string der = selector == 0 ? "openssl x509 -outform DER -in " + pem
                                        : "openssl x509 -noout -pubkey -in " + pem +
                                              " | openssl pkey -pubin -outform DER";
  std::string hex = output_of(der + " | openssl dgst -sha256 -r");
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i + 1 < hex.size() && hex[i] != ' '; i += 2) {
    bytes.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

// A plan at level dane with these records for `mx`, as outbound/dane.h makes it.
ClientTlsParams dane_plan(std::vector<outbound::TlsaRecord> records, const char* mx) {
  ClientTlsParams params = TlsClientTest::plan("dane", "example.test", mx);
  outbound::DnsAnswer<outbound::TlsaRecord> tlsa;
  tlsa.status = outbound::DnsStatus::Ok;
  tlsa.authenticated = true;
  tlsa.records = std::move(records);
  const outbound::DaneFacts facts{.level = outbound::TlsLevel::Dane,
                                   .dnssec = true,
                                   .mx_secure = true,
                                   .address_secure = true,
                                   .host = mx,
                                   .port = 25};
  outbound::apply_dane(params, outbound::decide_dane(facts, &tlsa), mx);
  return params;
}

TEST_F(TlsClientTest, DaneEeMatchesTheKeyWhateverTheCaAndName) {
  const auto spki = tlsa_digest(file("server.pem"), 1);
  ASSERT_EQ(spki.size(), 32u);
  // The CA is unknown and the name is not the certificate's: DANE-EE(3) needs neither.
  ClientTlsParams params = dane_plan({{3, 1, 1, spki}}, "other.example.org");
  Outcome o = connect(file("other.pem"), params);
  ASSERT_TRUE(o.handshake);
  EXPECT_EQ(o.trust, PeerTrust::Verified);
  EXPECT_EQ(o.verify_error, "");
  EXPECT_EQ(o.sni_seen, "other.example.org");  // the TLSA base domain
  EXPECT_FALSE(outbound::refuse_peer(params.level, *o.trust));
}

TEST_F(TlsClientTest, DaneWithAWrongDigestIsRefused) {
  auto wrong = tlsa_digest(file("server.pem"), 1);
  ASSERT_EQ(wrong.size(), 32u);
  wrong[0] ^= 0xff;
  ClientTlsParams params = dane_plan({{3, 1, 1, wrong}}, "mx.example.test");
  Outcome o = connect(file("ca.pem"), params);  // a good PKIX chain does not help
  ASSERT_TRUE(o.handshake);
  EXPECT_EQ(o.trust, PeerTrust::Untrusted);
  EXPECT_EQ(o.verify_error, "no matching DANE TLSA records");
  EXPECT_TRUE(outbound::refuse_peer(params.level, *o.trust));
}

TEST_F(TlsClientTest, DaneTaChecksTheName) {
  // The server sends only its own certificate, so the trust anchor is given in full
  // (Cert(0), Full(0)) rather than as a digest of a certificate the chain does not carry.
  const std::string der = output_of("openssl x509 -outform DER -in " + file("ca.pem"));
  const std::vector<uint8_t> ca(der.begin(), der.end());
  ASSERT_GT(ca.size(), 100u);
  EXPECT_EQ(connect(file("other.pem"), dane_plan({{2, 0, 0, ca}}, "mx.example.test")).trust,
            PeerTrust::Verified);
  Outcome o = connect(file("other.pem"), dane_plan({{2, 0, 0, ca}}, "mx.example.org"));
  EXPECT_EQ(o.trust, PeerTrust::Untrusted);
  EXPECT_EQ(o.verify_error, "hostname mismatch");
}

}  // namespace
}  // namespace estafeta::net
