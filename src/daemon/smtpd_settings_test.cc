// Config -> SmtpdSettings: the main.cf parameters reach the session, the relay policy and
// the limits with their Postfix meaning.
#include "daemon/smtpd_settings.h"

#include <gtest/gtest.h>

#include <set>

#include "route/route_config.h"

namespace estafeta::daemon {
namespace {

std::shared_ptr<const maps::MapSet> no_tables() { return maps::MapSet::open({}).set; }

// The tables `config` names, as smtpd opens them (recipient tables that cannot be opened,
// such as a missing alias database, stand in as surrogates).
std::shared_ptr<const maps::MapSet> tables_of(const config::Config& config) {
  return maps::MapSet::open(smtpd_table_specs(config), {}, route::recipient_map_specs(config)).set;
}

config::Config parse(std::string_view text) {
  auto loaded = config::Config::parse(text, "main.cf", "/etc/estafeta", "mx.example.org");
  EXPECT_TRUE(loaded.config.has_value());
  return *loaded.config;
}

Result<SmtpdSettings> settings_from(std::string_view main_cf, long long max_sessions = 100) {
  config::Config config = parse(main_cf);
  return make_smtpd_settings(config, max_sessions, tables_of(config));
}

TEST(SmtpdSettings, Defaults) {
  auto settings = settings_from("", 100);
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->session.hostname, "mx.example.org");
  EXPECT_EQ(settings->session.banner, "mx.example.org ESMTP Estafeta");
  EXPECT_EQ(settings->session.message_size_limit, 10240000u);
  EXPECT_FALSE(settings->session.vrfy_enabled);
  EXPECT_EQ(settings->session.bare_newline, smtp::BareNewlineMode::Normalize);
  EXPECT_EQ(settings->session.bare_newline_reject_code, 550);
  EXPECT_FALSE(settings->session.starttls_available);
  EXPECT_EQ(settings->recipients.route.mydestination.literals(),
            (std::vector<std::string>{"mx.example.org", "localhost.example.org", "localhost"}));
  EXPECT_EQ(settings->recipients.mynetworks.contains("127.0.0.1"), policy::Match::Yes);
  EXPECT_EQ(settings->limit_exceptions.contains("::1"), policy::Match::Yes);
  EXPECT_EQ(settings->timeout, std::chrono::seconds(300));
  EXPECT_EQ(settings->max_sessions, 100);
  EXPECT_EQ(settings->anvil.connection_count, 50);
  EXPECT_EQ(settings->anvil.connection_rate, 0);
  EXPECT_EQ(settings->anvil.time_unit, std::chrono::seconds(60));
  EXPECT_EQ(settings->greet_pause, std::chrono::seconds(0));
  EXPECT_EQ(settings->anvil_redis_server, "");
  EXPECT_TRUE(settings->peername_lookup);
  EXPECT_TRUE(settings->resolver.nameservers.empty());
}

TEST(SmtpdSettings, PeernameLookup) {
  auto settings = settings_from("smtpd_peername_lookup = no\n");
  ASSERT_TRUE(settings.ok());
  EXPECT_FALSE(settings->peername_lookup);
  settings = settings_from("resolver_nameservers = 127.0.0.1:5353, [::1]:53\n");
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->resolver.nameservers,
            (std::vector<std::string>{"127.0.0.1:5353", "[::1]:53"}));
  auto bad = settings_from("resolver_nameservers = ns.example.org\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("resolver_nameservers"), std::string::npos);
  // Not used without the lookups: no reason to refuse to start.
  EXPECT_TRUE(settings_from("resolver_nameservers = ns.example.org\n"
                            "smtpd_peername_lookup = no\n")
                  .ok());
}

TEST(SmtpdSettings, ExplicitValues) {
  auto settings = settings_from(
      "mydestination = Example.COM\n"
      "mynetworks = 10.0.0.0/8\n"
      "smtpd_timeout = 2m\n"
      "disable_vrfy_command = no\n"
      "smtpd_forbid_bare_newline = no\n"
      "smtpd_tls_cert_file = /c.pem\n"
      "smtpd_tls_security_level = encrypt\n"
      "anvil_rate_time_unit = 1h\n"
      "smtpd_client_connection_rate_limit = 7\n"
      "smtpd_greet_pause = 3s\n"
      "anvil_redis_server = [::1]:6380\n",
      5);
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->recipients.route.mydestination.literals(),
            std::vector<std::string>{"example.com"});
  EXPECT_EQ(settings->recipients.mynetworks.contains("127.0.0.1"), policy::Match::No);
  EXPECT_EQ(settings->limit_exceptions.contains("10.1.2.3"), policy::Match::Yes);
  EXPECT_EQ(settings->timeout, std::chrono::seconds(120));
  EXPECT_TRUE(settings->session.vrfy_enabled);
  EXPECT_EQ(settings->session.bare_newline, smtp::BareNewlineMode::No);
  EXPECT_TRUE(settings->session.starttls_available);
  EXPECT_TRUE(settings->session.tls_required);
  EXPECT_EQ(settings->tls_key_file, "/c.pem");  // Postfix: key defaults to the cert file
  EXPECT_EQ(settings->max_sessions, 5);
  EXPECT_EQ(settings->anvil.time_unit, std::chrono::hours(1));
  EXPECT_EQ(settings->anvil.connection_rate, 7);
  EXPECT_EQ(settings->greet_pause, std::chrono::seconds(3));
  EXPECT_EQ(settings->anvil_redis_server, "[::1]:6380");
  EXPECT_FALSE(settings_from("anvil_redis_server = host:port\n").ok());
}

TEST(SmtpdSettings, TablesInDomainAndNetworkLists) {
  auto config = parse(
      "mydestination = localhost, inline:{tabled.example=OK}\n"
      "mynetworks = 127.0.0.0/8, [::1]/128, inline:{192.0.2.9=OK}\n"
      "local_recipient_maps =\n");
  auto specs = smtpd_table_specs(config);
  // Every table the recipient policy, the cleanup stage and the client limits name (MapSet
  // opens each distinct spec once).
  EXPECT_EQ(std::set<std::string>(specs.begin(), specs.end()),
            (std::set<std::string>{"inline:{tabled.example=OK}", "inline:{192.0.2.9=OK}"}));
  auto opened = maps::MapSet::open(specs);
  ASSERT_TRUE(opened.ok());
  auto settings = make_smtpd_settings(config, 100, opened.set);
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->recipients.route.mydestination.contains("tabled.example"),
            policy::Match::Yes);
  EXPECT_EQ(settings->recipients.route.mydestination.contains("other.example"), policy::Match::No);
  EXPECT_EQ(settings->recipients.mynetworks.contains("192.0.2.9"), policy::Match::Yes);
  EXPECT_EQ(settings->recipients.mynetworks.contains("::1"), policy::Match::Yes);
}

// smtpd_forbid_bare_newline and its exclusions (default $mynetworks), per client address.
TEST(SmtpdSettings, BareNewlineModeAndExclusions) {
  using M = smtp::BareNewlineMode;
  struct Case {
    std::string main_cf;
    std::string client;
    M mode;
  };
  const Case cases[] = {
      {"", "127.0.0.1", M::No},  // in the default mynetworks
      {"", "::1", M::No},
      {"", "192.0.2.1", M::Normalize},
      {"smtpd_forbid_bare_newline = yes\n", "192.0.2.1", M::Normalize},
      {"smtpd_forbid_bare_newline = note\n", "192.0.2.1", M::Note},
      {"smtpd_forbid_bare_newline = reject\n", "192.0.2.1", M::Reject},
      {"smtpd_forbid_bare_newline = reject\n", "127.0.0.1", M::No},
      {"smtpd_forbid_bare_newline = no\n", "192.0.2.1", M::No},
      {"mynetworks = 192.0.2.0/24\n", "192.0.2.1", M::No},
      {"mynetworks = 192.0.2.0/24\n", "127.0.0.1", M::Normalize},
      {"smtpd_forbid_bare_newline_exclusions =\n", "127.0.0.1", M::Normalize},
      {"smtpd_forbid_bare_newline_exclusions = 198.51.100.0/24, [2001:db8::]/32\n"
       "smtpd_forbid_bare_newline = reject\n",
       "2001:db8::5", M::No},
      {"smtpd_forbid_bare_newline_exclusions = 198.51.100.0/24\n"
       "smtpd_forbid_bare_newline = reject\n",
       "127.0.0.1", M::Reject},
  };
  for (const Case& c : cases) {
    auto settings = settings_from(c.main_cf, 100);
    ASSERT_TRUE(settings.ok()) << c.main_cf;
    EXPECT_EQ(settings->bare_newline_for(c.client), c.mode) << c.main_cf << c.client;
  }

  // Tables, as in mynetworks; a table that is not open excludes nobody.
  auto config = parse(
      "smtpd_forbid_bare_newline = reject\n"
      "smtpd_forbid_bare_newline_exclusions = 192.0.2.0/24, inline:{10.0.0.1=OK}\n"
      "smtpd_forbid_bare_newline_reject_code = 521\n"
      "local_recipient_maps =\n");
  auto opened = maps::MapSet::open(smtpd_table_specs(config));
  ASSERT_TRUE(opened.ok());
  auto settings = make_smtpd_settings(config, 100, opened.set);
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->session.bare_newline_reject_code, 521);
  EXPECT_EQ(settings->bare_newline_for("192.0.2.77"), M::No);
  EXPECT_EQ(settings->bare_newline_for("10.0.0.1"), M::No);
  EXPECT_EQ(settings->bare_newline_for("10.0.0.2"), M::Reject);
  auto missing = make_smtpd_settings(config, 100, no_tables());
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->bare_newline_for("10.0.0.1"), M::Reject);

  auto bad = settings_from("smtpd_forbid_bare_newline_exclusions = 10.0.0.1/8\n", 100);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("smtpd_forbid_bare_newline_exclusions"), std::string::npos);
}

TEST(SmtpdSettings, TlsWithoutCertificateIsAnError) {
  auto settings = settings_from("smtpd_tls_security_level = may\n", 100);
  ASSERT_FALSE(settings.ok());
  EXPECT_NE(settings.error().message.find("smtpd_tls_cert_file"), std::string::npos);
}

TEST(SmtpdSettings, BadNetworkIsAnError) {
  auto settings = settings_from("mynetworks = 10.0.0.0/99\n", 100);
  ASSERT_FALSE(settings.ok());
  EXPECT_NE(settings.error().message.find("mynetworks"), std::string::npos);
}

TEST(SmtpdSettings, RecipientTablesAndAMissingAliasDatabase) {
  auto settings = settings_from(
      "mydestination = localhost\n"
      "alias_maps = hash:/nonexistent/aliases\n"
      "local_recipient_maps = inline:{alice=x} $alias_maps\n"
      // "domain anything" makes virtual.example a virtual alias domain (virtual(5)).
      "virtual_alias_maps = inline:{virtual.example=x, sales@virtual.example=alice@localhost}\n");
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  const policy::RecipientPolicy& p = settings->recipients;
  EXPECT_EQ(policy::check_recipient(p, "192.0.2.1", "alice@localhost").kind,
            policy::RecipientClass::Local);
  EXPECT_EQ(policy::check_recipient(p, "192.0.2.1", "sales@virtual.example").kind,
            policy::RecipientClass::Local);
  // The alias database cannot be opened: an address it might list is deferred, not refused.
  auto bob = policy::check_recipient(p, "192.0.2.1", "bob@localhost");
  EXPECT_EQ(bob.kind, policy::RecipientClass::Deferred) << bob.reply;
  auto unknown = policy::check_recipient(p, "192.0.2.1", "x@virtual.example");
  EXPECT_EQ(unknown.reply,
            "550 5.1.1 <x@virtual.example>: Recipient address rejected: User unknown in virtual "
            "alias table");
  auto relay = policy::check_recipient(p, "192.0.2.1", "x@other.example");
  EXPECT_EQ(relay.reply, "454 4.7.1 <x@other.example>: Relay access denied");
}

}  // namespace
}  // namespace estafeta::daemon

namespace estafeta::daemon {
namespace {

TEST(SmtpdSettings, SaslDefaultsAndPaths) {
  auto off = settings_from("");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->sasl.enabled);
  EXPECT_FALSE(off->session.sasl_enabled);
  EXPECT_TRUE(off->sasl.options.noanonymous);
  EXPECT_TRUE(off->sasl.tls_options.noanonymous);  // $smtpd_sasl_security_options

  auto on = settings_from(
      "queue_directory = /var/spool/estafeta\nsmtpd_sasl_auth_enable = yes\n"
      "smtpd_tls_auth_only = yes\nbroken_sasl_auth_clients = yes\n"
      "smtpd_sasl_security_options = noanonymous, noplaintext\n"
      "smtpd_sasl_tls_security_options = noanonymous\n"
      "smtpd_sasl_authenticated_header = yes\n");
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_TRUE(on->session.sasl_enabled);
  EXPECT_TRUE(on->session.sasl_tls_only);
  EXPECT_TRUE(on->session.sasl_broken_clients);
  EXPECT_TRUE(on->sasl.authenticated_header);
  EXPECT_EQ(on->sasl.path, "/var/spool/estafeta/private/auth");
  EXPECT_EQ(on->sasl.service, "smtp");
  EXPECT_TRUE(on->sasl.options.noplaintext);
  EXPECT_FALSE(on->sasl.tls_options.noplaintext);

  auto absolute = settings_from("smtpd_sasl_auth_enable = yes\nsmtpd_sasl_path = /run/dovecot/auth-client\n");
  ASSERT_TRUE(absolute.ok());
  EXPECT_EQ(absolute->sasl.path, "/run/dovecot/auth-client");
  auto inet = settings_from("smtpd_sasl_auth_enable = yes\nsmtpd_sasl_path = inet:127.0.0.1:12345\n");
  ASSERT_TRUE(inet.ok());
  EXPECT_EQ(inet->sasl.path, "inet:127.0.0.1:12345");
}

TEST(SmtpdSettings, SaslErrors) {
  auto cyrus = settings_from("smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = cyrus\n");
  ASSERT_FALSE(cyrus.ok());
  EXPECT_EQ(cyrus.error().message, "smtpd_sasl_type: cyrus is not supported (only dovecot)");
  // Not enabled: a Postfix main.cf that names cyrus still loads.
  EXPECT_TRUE(settings_from("smtpd_sasl_type = cyrus\n").ok());
  auto words = settings_from("smtpd_sasl_security_options = noanonymous, nosuch\n");
  ASSERT_FALSE(words.ok());
  EXPECT_EQ(words.error().message,
            "smtpd_sasl_security_options: unknown SASL security option: nosuch");
  EXPECT_FALSE(settings_from("smtpd_sasl_auth_enable = yes\nsmtpd_sasl_path = inet:nohost\n").ok());
}

}  // namespace
}  // namespace estafeta::daemon
