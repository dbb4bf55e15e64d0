// Tests of master.cf parsing (columns, continuations, -o overrides including Postfix 3's
// "-o { name = value }", errors with file:line) and of listen_addresses / max_sessions.
#include "config/master_cf.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace estafeta::config {
namespace {

TEST(MasterCf, EmbeddedDefault) {
  MasterCf m = parse_master_cf(kDefaultMasterCf, "default");
  ASSERT_TRUE(m.ok);
  ASSERT_EQ(m.services.size(), 11u);
  const Service& s = m.services[0];
  EXPECT_EQ(s.endpoint, "127.0.0.1:2525");
  EXPECT_EQ(s.type, "inet");
  EXPECT_FALSE(s.is_private);
  EXPECT_TRUE(s.unprivileged);
  EXPECT_FALSE(s.chroot);
  EXPECT_EQ(s.wakeup, "-");
  EXPECT_EQ(s.max_process, "-");
  EXPECT_EQ(s.command, "smtpd");
  EXPECT_TRUE(s.overrides.empty());
  EXPECT_EQ(s.line, 1);
  EXPECT_EQ(m.services[1].endpoint, "pickup");
  EXPECT_EQ(m.services[1].wakeup, "60");
  EXPECT_EQ(m.services[2].endpoint, "qmgr");
  EXPECT_EQ(m.services[2].max_process, "1");
  EXPECT_EQ(m.services[3].endpoint, "showq");
  EXPECT_EQ(m.services[4].endpoint, "local");
  EXPECT_FALSE(m.services[4].unprivileged);
  EXPECT_EQ(m.services[5].endpoint, "virtual");
  EXPECT_EQ(m.services[5].command, "virtual");
  EXPECT_FALSE(m.services[5].unprivileged);
  EXPECT_EQ(m.services[6].endpoint, "smtp");
  EXPECT_EQ(m.services[6].command, "smtp");
  EXPECT_EQ(m.services[7].endpoint, "relay");
  EXPECT_EQ(m.services[7].command, "smtp");
  // submission and submissions (Postfix's commented example, on unprivileged ports).
  EXPECT_EQ(m.services[9].endpoint, "127.0.0.1:2587");
  EXPECT_EQ(m.services[9].overrides,
            (std::vector<std::pair<std::string, std::string>>{
                {"smtpd_tls_security_level", "encrypt"},
                {"smtpd_sasl_auth_enable", "yes"},
                {"smtpd_tls_auth_only", "yes"},
                {"smtpd_relay_restrictions", "permit_sasl_authenticated,reject"}}));
  EXPECT_EQ(m.services[10].endpoint, "127.0.0.1:2465");
  EXPECT_EQ(m.services[10].overrides,
            (std::vector<std::pair<std::string, std::string>>{
                {"smtpd_tls_wrappermode", "yes"}, {"smtpd_sasl_auth_enable", "yes"},
                 {"smtpd_relay_restrictions", "permit_sasl_authenticated,reject"}}));
  EXPECT_EQ(m.services[8].endpoint, "bounce");
  EXPECT_EQ(m.services[8].command, "bounce");
  EXPECT_EQ(m.services[8].max_process, "0");
}

TEST(MasterCf, ServicesOverridesAndContinuations) {
  MasterCf m = parse_master_cf(
      "# ==========================================================================\n"
      "# service type  private unpriv  chroot  wakeup  maxproc command + args\n"
      "smtp      inet  n       -       y       -       -       smtpd\n"
      "submission inet n       -       n       -       10      smtpd\n"
      "  -o syslog_name=estafeta/submission\n"
      "  -o smtpd_tls_security_level=encrypt\n"
      "#  -o commented_out=yes\n"
      "  -o { smtpd_banner = $myhostname submission ready }\n"
      "  -v\n"
      "[::1]:2525 inet n y n 60? 5 smtpd -o smtpd_timeout=60s\n"
      "pickup    unix  -       -       y       60      1       pickup\n",
      "/etc/estafeta/master.cf");
  ASSERT_TRUE(m.ok) << (m.diagnostics.empty() ? "" : m.diagnostics[0].to_string());
  ASSERT_EQ(m.services.size(), 4u);
  EXPECT_EQ(m.services[0].endpoint, "smtp");
  EXPECT_TRUE(m.services[0].chroot);
  EXPECT_EQ(m.services[0].line, 3);
  const Service& sub = m.services[1];
  EXPECT_EQ(sub.endpoint, "submission");
  EXPECT_EQ(sub.line, 4);
  EXPECT_EQ(sub.max_process, "10");
  using Overrides = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(sub.overrides, (Overrides{{"syslog_name", "estafeta/submission"},
                                      {"smtpd_tls_security_level", "encrypt"},
                                      {"smtpd_banner", "$myhostname submission ready"}}));
  EXPECT_EQ(sub.args, std::vector<std::string>{"-v"});
  EXPECT_EQ(sub.arguments,
            (std::vector<std::string>{"-o", "syslog_name=estafeta/submission", "-o",
                                      "smtpd_tls_security_level=encrypt", "-o",
                                      "{smtpd_banner=$myhostname submission ready}", "-v"}));
  const Service& v6 = m.services[2];
  EXPECT_EQ(v6.endpoint, "[::1]:2525");
  EXPECT_TRUE(v6.unprivileged);
  EXPECT_EQ(v6.wakeup, "60?");
  EXPECT_EQ(v6.overrides, (Overrides{{"smtpd_timeout", "60s"}}));
  EXPECT_EQ(m.services[3].type, "unix");
  EXPECT_TRUE(m.services[3].is_private);
}

TEST(MasterCf, ErrorsCarryFileAndLine) {
  struct Case {
    const char* text;
    const char* diagnostic;
  };
  const Case cases[] = {
      {"# c\nsmtp inet n - n - \n",
       "master.cf:2: error: bad field count: 6 (need at least 8: service type private unpriv "
       "chroot wakeup maxproc command)"},
      {"smtp inet n - n -\n  -\n\nsmtp2 tcp n - n - - smtpd\n",
       "master.cf:4: error: smtp2: unknown service type: tcp"},
      {"smtp inet x - n - - smtpd\n",
       "master.cf:1: error: smtp: private, unpriv and chroot must be y, n or -"},
      {"smtp inet - - n - - smtpd\n",
       "master.cf:1: error: smtp: an inet service cannot be private (the private column must "
       "be n)"},
      {"smtp inet n - n never - smtpd\n", "master.cf:1: error: smtp: bad wakeup time: never"},
      {"smtp inet n - n - lots smtpd\n", "master.cf:1: error: smtp: bad process limit: lots"},
      {"smtp inet n - n - - smtpd -o\n", "master.cf:1: error: smtp: -o without name=value"},
      {"smtp inet n - n - - smtpd -o novalue\n",
       "master.cf:1: error: smtp: bad -o argument: \"novalue\" (need name=value)"},
      {"smtp inet n - n - - smtpd -o { a b }\n",
       "master.cf:1: error: smtp: bad -o argument: \"a b\" (need name=value)"},
      {"smtp inet n - n - - smtpd -o { a = b\n", "master.cf:1: error: missing '}'"},
      {"smtp inet n - n - - smtpd\nsmtp inet n - n - - smtpd\n",
       "master.cf:2: error: duplicate service: smtp inet (first at line 1)"},
  };
  for (const Case& c : cases) {
    MasterCf m = parse_master_cf(c.text, "master.cf");
    EXPECT_FALSE(m.ok) << c.text;
    ASSERT_FALSE(m.diagnostics.empty()) << c.text;
    EXPECT_EQ(m.diagnostics.back().to_string(), c.diagnostic) << c.text;
  }
}

Config config_with(std::string_view main_cf) {
  LoadResult r = Config::parse(main_cf, "main.cf", "/etc/estafeta", "mx.example.com");
  EXPECT_TRUE(r.config.has_value()) << main_cf;
  return std::move(*r.config);
}

std::string addresses(std::string_view endpoint, std::string_view main_cf) {
  Service s;
  s.endpoint = std::string(endpoint);
  s.type = "inet";
  Result<std::vector<ListenAddress>> r = listen_addresses(s, config_with(main_cf));
  if (!r.ok()) {
    return "error: " + r.error().message;
  }
  std::string out;
  for (const ListenAddress& a : r.value()) {
    out += (out.empty() ? "" : " ") + a.host + "/" + std::to_string(a.port);
  }
  return out;
}

TEST(MasterCf, ListenAddresses) {
  struct Case {
    const char* endpoint;
    const char* main_cf;
    const char* expected;
  };
  const Case cases[] = {
      {"127.0.0.1:2525", "", "127.0.0.1/2525"},
      {"[::1]:2525", "", "::1/2525"},
      {"smtp", "", "0.0.0.0/25 ::/25"},
      {"smtp", "inet_protocols = ipv4", "0.0.0.0/25"},
      {"smtp", "inet_protocols = ipv6", "::/25"},
      {"smtp", "inet_protocols = ipv4, ipv6", "0.0.0.0/25 ::/25"},
      {"submission", "inet_interfaces = loopback-only", "127.0.0.1/587 ::1/587"},
      {"smtps", "inet_interfaces = loopback-only\ninet_protocols = ipv4", "127.0.0.1/465"},
      {"submissions", "inet_interfaces = 192.0.2.1, [2001:db8::1]",
       "192.0.2.1/465 2001:db8::1/465"},
      {"2525", "inet_interfaces = 127.0.0.1", "127.0.0.1/2525"},
      {"2525", "", "0.0.0.0/2525 ::/2525"},
      {"localhost:2525", "", "127.0.0.1/2525 ::1/2525"},
      {"smtp", "inet_interfaces = localhost", "127.0.0.1/25 ::1/25"},
      {"mx.example.com:25", "",
       "error: mx.example.com:25: \"mx.example.com\" is not a numeric "
       "IP address"},
      {"127.0.0.1:0", "", "error: 127.0.0.1:0: port out of range: 0"},
      {"127.0.0.1:65536", "", "error: 127.0.0.1:65536: port out of range: 65536"},
      {"127.0.0.1:", "", "error: 127.0.0.1:: unknown service or bad port: \"\""},
      {"pop3", "", "error: pop3: unknown service or bad port: \"pop3\""},
      {"[::1]2525", "", "error: [::1]2525: expected [address]:port"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(addresses(c.endpoint, c.main_cf), c.expected) << c.endpoint << " with " << c.main_cf;
  }
}

TEST(MasterCf, ListenAddressesNeedInet) {
  Service s;
  s.endpoint = "pickup";
  s.type = "unix";
  EXPECT_FALSE(listen_addresses(s, config_with("")).ok());
}

TEST(MasterCf, MaxSessions) {
  Config c = config_with("default_process_limit = 7");
  Service s;
  s.max_process = "-";
  EXPECT_EQ(max_sessions(s, c), 7);
  s.max_process = "25";
  EXPECT_EQ(max_sessions(s, c), 25);
  s.max_process = "0";
  EXPECT_EQ(max_sessions(s, c), 0);
  EXPECT_EQ(max_sessions(s, config_with("")), 0);
  s.max_process = "-";
  EXPECT_EQ(max_sessions(s, config_with("")), 100);
}

// ---------------------------------------------------------------- the service table

// The rows of Postfix 3.7's default master.cf (Debian 12's /usr/share/postfix/master.cf.dist
// without its comments), as an administrator would copy it.
constexpr std::string_view kPostfixMasterCf =
    R"(smtp      inet  n       -       y       -       -       smtpd
pickup    unix  n       -       y       60      1       pickup
cleanup   unix  n       -       y       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
#qmgr     unix  n       -       n       300     1       oqmgr
tlsmgr    unix  -       -       y       1000?   1       tlsmgr
rewrite   unix  -       -       y       -       -       trivial-rewrite
bounce    unix  -       -       y       -       0       bounce
defer     unix  -       -       y       -       0       bounce
trace     unix  -       -       y       -       0       bounce
verify    unix  -       -       y       -       1       verify
flush     unix  n       -       y       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       y       -       -       smtp
relay     unix  -       -       y       -       -       smtp
        -o syslog_name=postfix/$service_name
#       -o smtp_helo_timeout=5 -o smtp_connect_timeout=5
showq     unix  n       -       y       -       -       showq
error     unix  -       -       y       -       -       error
retry     unix  -       -       y       -       -       error
discard   unix  -       -       y       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       y       -       -       lmtp
anvil     unix  -       -       y       -       1       anvil
scache    unix  -       -       y       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
uucp      unix  -       n       n       -       -       pipe
  flags=Fqhu user=uucp argv=uux -r -n -z -a$sender - $nexthop!rmail ($recipient)
ifmail    unix  -       n       n       -       -       pipe
  flags=F user=ftn argv=/usr/lib/ifmail/ifmail -r $nexthop ($recipient)
bsmtp     unix  -       n       n       -       -       pipe
  flags=Fq. user=bsmtp argv=/usr/lib/bsmtp/bsmtp -t$nexthop -f$sender $recipient
scalemail-backend unix -       n       n       -       2       pipe
  flags=R user=scalemail argv=/usr/lib/scalemail/bin/scalemail-store ${nexthop} ${user} ${extension}
mailman   unix  -       n       n       -       -       pipe
  flags=FRX user=list argv=/usr/lib/mailman/bin/postfix-to-mailman.py ${nexthop} ${user}
)";

std::vector<std::string> notices_of(const ServiceTable& t) {
  std::vector<std::string> out;
  for (const Diagnostic& d : t.notices) {
    out.push_back(notice_text(d));
  }
  return out;
}

std::string roles_of(const ServiceTable& t) {
  std::string out;
  for (const PlannedService& p : t.services) {
    if (p.role == ServiceRole::Ignored) {
      continue;
    }
    out += (out.empty() ? "" : " ") + p.service.endpoint + "/" + p.service.type + "=" +
           (p.role == ServiceRole::Smtpd    ? "smtpd"
            : p.role == ServiceRole::Qmgr   ? "qmgr"
            : p.role == ServiceRole::Pickup ? "pickup"
            : p.role == ServiceRole::Showq  ? "showq"
            : p.role == ServiceRole::Bounce ? "bounce"
            : p.role == ServiceRole::Virtual ? "virtual"
            : p.role == ServiceRole::Smtp    ? "smtp"
                                            : "local") +
           (p.added ? "(added)" : "");
  }
  return out;
}

TEST(ServiceTable, EmbeddedDefaultRunsSmtpdQmgrLocalAndBounce) {
  ServiceTable t = plan_services(parse_master_cf(kDefaultMasterCf, "default"), "default");
  EXPECT_EQ(roles_of(t),
            "127.0.0.1:2525/inet=smtpd pickup/unix=pickup qmgr/unix=qmgr showq/unix=showq "
            "local/unix=local virtual/unix=virtual smtp/unix=smtp relay/unix=smtp "
            "bounce/unix=bounce 127.0.0.1:2587/inet=smtpd 127.0.0.1:2465/inet=smtpd");
  EXPECT_TRUE(t.notices.empty()) << notices_of(t)[0];
  EXPECT_EQ(agent_transports(t),
            (std::set<std::string, std::less<>>{"local", "relay", "smtp", "virtual"}));
}

TEST(ServiceTable, QmgrLocalAndBounceAreAddedWithOneNotice) {
  struct Case {
    const char* master_cf;
    const char* roles;
    std::vector<std::string> notices;
  };
  const Case cases[] = {
      {"127.0.0.1:2525 inet n - n - - smtpd\n",
       "127.0.0.1:2525/inet=smtpd qmgr/unix=qmgr(added) local/unix=local(added) "
       "virtual/unix=virtual(added) bounce/unix=bounce(added)",
       {"/etc/estafeta/master.cf: no qmgr, local, virtual and bounce service: added \"qmgr unix "
        "n - n 300 1 qmgr\", \"local unix - n n - - local\", \"virtual unix - n n - - "
        "virtual\" and \"bounce unix - - n - 0 bounce\" (without them mail is never "
        "delivered)"}},
      {"127.0.0.1:2525 inet n - n - - smtpd\nqmgr unix n - n 300 1 qmgr\n"
       "bounce unix - - n - 0 bounce\nvirtual unix - n n - - virtual\n",
       "127.0.0.1:2525/inet=smtpd qmgr/unix=qmgr bounce/unix=bounce virtual/unix=virtual "
       "local/unix=local(added)",
       {"/etc/estafeta/master.cf: no local service: added \"local unix - n n - - local\" "
        "(without it mail is never delivered)"}},
      // Postfix's old queue manager counts as the queue manager.
      {"smtp inet n - n - - smtpd\nqmgr fifo n - n 300 1 oqmgr\nlocal unix - n n - - local\n",
       "smtp/inet=smtpd qmgr/fifo=qmgr local/unix=local virtual/unix=virtual(added) "
       "bounce/unix=bounce(added)",
       {"/etc/estafeta/master.cf: no virtual and bounce service: added \"virtual unix - n n - "
        "- virtual\" and \"bounce unix - - n - 0 bounce\" (without them mail is never "
        "delivered)"}},
      // A local agent under another name does not serve qmgr's "local" transport.
      {"qmgr unix n - n 300 1 qmgr\nmylocal unix - n n - - local\nbounce unix - - n - 0 bounce\n"
       "virtual unix - n n - - virtual\n",
       "qmgr/unix=qmgr mylocal/unix=local bounce/unix=bounce virtual/unix=virtual "
       "local/unix=local(added)",
       {"/etc/estafeta/master.cf: no local service: added \"local unix - n n - - local\" "
        "(without it mail is never delivered)"}},
      // The name is taken by a row we ignore: nothing can be added, and that is said.
      {"qmgr unix n - n 300 1 qmgr\nlocal unix - n n - - pipe user=x argv=/bin/true\n"
       "bounce unix - - n - - discard\nvirtual unix - n n - - virtual\n",
       "qmgr/unix=qmgr virtual/unix=virtual",
       {"/etc/estafeta/master.cf:2: service local (pipe): not implemented yet, ignored",
        "/etc/estafeta/master.cf:3: service bounce (discard): built into Estafeta or not needed, "
        "ignored",
        "/etc/estafeta/master.cf: no local service runs the local command and the name is "
        "taken: mail for it is never delivered",
        "/etc/estafeta/master.cf: no bounce service runs the bounce command and the name is "
        "taken: no notice is ever sent, undeliverable mail stays deferred"}},
      // An empty master.cf still delivers what inetd-mode smtpd queues.
      {"",
       "qmgr/unix=qmgr(added) local/unix=local(added) virtual/unix=virtual(added) "
       "bounce/unix=bounce(added)",
       {"/etc/estafeta/master.cf: no qmgr, local, virtual and bounce service: added \"qmgr unix "
        "n - n 300 1 qmgr\", \"local unix - n n - - local\", \"virtual unix - n n - - "
        "virtual\" and \"bounce unix - - n - 0 bounce\" (without them mail is never "
        "delivered)"}},
  };
  for (const Case& c : cases) {
    MasterCf m = parse_master_cf(c.master_cf, "/etc/estafeta/master.cf");
    ASSERT_TRUE(m.ok) << c.master_cf;
    ServiceTable t = plan_services(m, "/etc/estafeta/master.cf");
    EXPECT_EQ(roles_of(t), c.roles) << c.master_cf;
    // None of these has a pickup row: that is said first (and tested below), never added.
    auto notices = notices_of(t);
    ASSERT_FALSE(notices.empty());
    auto pickup = std::find_if(notices.begin(), notices.end(), [](const std::string& n) {
      return n.find("no pickup service: mail submitted with sendmail stays in maildrop/") !=
             std::string::npos;
    });
    ASSERT_NE(pickup, notices.end()) << c.master_cf;
    notices.erase(pickup);
    EXPECT_EQ(notices, c.notices) << c.master_cf;
  }
}

TEST(ServiceTable, PostfixDefaultMasterCfStartsWithEveryOtherRowReported) {
  MasterCf m = parse_master_cf(kPostfixMasterCf, "master.cf");
  ASSERT_TRUE(m.ok) << (m.diagnostics.empty() ? "" : m.diagnostics[0].to_string());
  ServiceTable t = plan_services(m, "master.cf");
  EXPECT_EQ(roles_of(t),
            "smtp/inet=smtpd pickup/unix=pickup qmgr/unix=qmgr bounce/unix=bounce smtp/unix=smtp "
            "relay/unix=smtp showq/unix=showq local/unix=local virtual/unix=virtual");
  const std::vector<std::string> expected = {
      "master.cf:1: service smtp (smtpd): chroot not implemented yet, runs without chroot",
      "master.cf:2: service pickup (pickup): chroot not implemented yet, runs without chroot",
      "master.cf:3: service cleanup (cleanup): built into Estafeta or not needed, ignored",
      "master.cf:6: service tlsmgr (tlsmgr): built into Estafeta or not needed, ignored",
      "master.cf:7: service rewrite (trivial-rewrite): built into Estafeta or not needed, "
      "ignored",
      "master.cf:8: service bounce (bounce): chroot not implemented yet, runs without chroot",
      "master.cf:9: service defer (bounce): built into the bounce service, ignored",
      "master.cf:10: service trace (bounce): built into the bounce service, ignored",
      "master.cf:11: service verify (verify): built into Estafeta or not needed, ignored",
      "master.cf:12: service flush (flush): built into Estafeta or not needed, ignored",
      "master.cf:13: service proxymap (proxymap): built into Estafeta or not needed, ignored",
      "master.cf:14: service proxywrite (proxymap): built into Estafeta or not needed, ignored",
      "master.cf:15: service smtp (smtp): chroot not implemented yet, runs without chroot",
      "master.cf:16: service relay (smtp): chroot not implemented yet, runs without chroot",
      "master.cf:19: service showq (showq): chroot not implemented yet, runs without chroot",
      "master.cf:20: service error (error): built into Estafeta or not needed, ignored",
      "master.cf:21: service retry (error): built into Estafeta or not needed, ignored",
      "master.cf:22: service discard (discard): built into Estafeta or not needed, ignored",
      "master.cf:25: service lmtp (lmtp): not implemented yet, ignored",
      "master.cf:26: service anvil (anvil): built into Estafeta or not needed, ignored",
      "master.cf:27: service scache (scache): built into Estafeta or not needed, ignored",
      "master.cf:28: service postlog (postlogd): built into Estafeta or not needed, ignored",
      "master.cf:29: service maildrop (pipe): not implemented yet, ignored",
      "master.cf:31: service uucp (pipe): not implemented yet, ignored",
      "master.cf:33: service ifmail (pipe): not implemented yet, ignored",
      "master.cf:35: service bsmtp (pipe): not implemented yet, ignored",
      "master.cf:37: service scalemail-backend (pipe): not implemented yet, ignored",
      "master.cf:39: service mailman (pipe): not implemented yet, ignored",
  };
  EXPECT_EQ(notices_of(t), expected);
  EXPECT_EQ(t.services.size(), m.services.size());  // nothing added
}

TEST(ServiceTable, RowsEstafetaCannotRunAreNeverRefused) {
  struct Case {
    const char* row;
    const char* notice;
  };
  const Case cases[] = {
      {"amavis unix - - n - 2 amavisd-helper",
       "m:1: service amavis (amavisd-helper): unknown command, ignored"},
      {"smtpd pass - - y - - smtpd",
       "m:1: service smtpd (smtpd): type pass not implemented yet, "
       "ignored"},
      {"smtp inet n - n - 1 postscreen",
       "m:1: service smtp (postscreen): not implemented yet, ignored"},
      {"policy unix - n n - 0 spawn user=nobody argv=/usr/bin/policyd",
       "m:1: service policy (spawn): not implemented yet, ignored"},
      {"local fifo - n n - - local",
       "m:1: service local (local): type fifo not supported (local serves unix), ignored"},
      {"virtual fifo - n n - - virtual",
       "m:1: service virtual (virtual): type fifo not supported (virtual serves unix), "
       "ignored"},
      {"127.0.0.1:2525 inet n - n - - smtpd -v",
       "m:1: service 127.0.0.1:2525 (smtpd): argument -v ignored (only -o name=value is used)"},
      {"qmgr unix n - n 300 2 qmgr",
       "m:1: service qmgr (qmgr): process limit 2 ignored: one queue manager per queue"},
      {"bounce fifo - - n - 0 bounce",
       "m:1: service bounce (bounce): type fifo not supported (bounce serves unix), ignored"},
      {"bounce2 unix - - n - 0 bounce",
       "m:1: service bounce2 (bounce): built into the bounce service, ignored"},
  };
  for (const Case& c : cases) {
    MasterCf m = parse_master_cf(std::string(c.row) + "\n", "m");
    ASSERT_TRUE(m.ok) << c.row;
    ServiceTable t = plan_services(m, "m");
    ASSERT_FALSE(t.notices.empty()) << c.row;
    EXPECT_EQ(notice_text(t.notices[0]), c.notice) << c.row;
  }
  MasterCf two = parse_master_cf("qmgr unix n - n 300 1 qmgr\nqmgr2 unix n - n 300 1 qmgr\n", "m");
  ServiceTable t = plan_services(two, "m");
  EXPECT_EQ(roles_of(t),
            "qmgr/unix=qmgr local/unix=local(added) virtual/unix=virtual(added) "
            "bounce/unix=bounce(added)");
  EXPECT_EQ(notice_text(t.notices[0]),
            "m:2: service qmgr2 (qmgr): a second queue manager, ignored (one per queue)");
}

TEST(ServiceTable, PostconfMLayout) {
  // Expected lines: `postconf -M` of Postfix 3.7 on the same rows.
  MasterCf m = parse_master_cf(
      std::string(kPostfixMasterCf) + "x inet n - n - - smtpd -o a=b -o { c = d e }\n  -v\n",
      "master.cf");
  ASSERT_TRUE(m.ok);
  std::vector<std::string> lines;
  for (const Service& s : m.services) {
    lines.push_back(postconf_m_line(s));
  }
  const std::vector<std::string> some = {
      "smtp       inet  n       -       y       -       -       smtpd",
      "pickup     unix  n       -       y       60      1       pickup",
      "tlsmgr     unix  -       -       y       1000?   1       tlsmgr",
      "proxywrite unix  -       -       n       -       1       proxymap",
      "relay      unix  -       -       y       -       -       smtp -o "
      "syslog_name=postfix/$service_name",
      "postlog    unix-dgram n  -       n       -       1       postlogd",
      "maildrop   unix  -       n       n       -       -       pipe flags=DRXhu user=vmail "
      "argv=/usr/bin/maildrop -d ${recipient}",
      "scalemail-backend unix - n       n       -       2       pipe flags=R user=scalemail "
      "argv=/usr/lib/scalemail/bin/scalemail-store ${nexthop} ${user} ${extension}",
      "x          inet  n       -       n       -       -       smtpd -o a=b -o {c=d e} -v",
  };
  for (const std::string& want : some) {
    EXPECT_NE(std::find(lines.begin(), lines.end(), want), lines.end()) << want;
  }
  EXPECT_EQ(lines.size(), 32u);
}

}  // namespace
}  // namespace estafeta::config
