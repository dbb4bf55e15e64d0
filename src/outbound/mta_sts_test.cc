// Tests for MTA-STS: the TXT record, the policy file, MX patterns, the HTTP response parser
// (at every split of the input), the cache record, the fetch decision and the TLS policy an
// enforced policy imposes.
#include <gtest/gtest.h>

#include "outbound/mta_sts_cache.h"
#include "outbound/mta_sts_http.h"
#include "outbound/mta_sts_plan.h"
#include "outbound/mta_sts_policy.h"

namespace estafeta::outbound {
namespace {

TEST(MtaStsRecord, Parses) {
  struct Case {
    const char* txt;
    const char* id;  // nullptr: error
  } cases[] = {
      {"v=STSv1; id=20160831085700Z;", "20160831085700Z"},
      {"v=STSv1;id=abc", "abc"},
      {"v=STSv1 ; id = abc ; ext=1", "abc"},
      {"v=STSv1; ext=x; id=A1;", "A1"},
      {"v=STSv2; id=abc", nullptr},
      {"id=abc; v=STSv1", nullptr},
      {"v=STSv1;", nullptr},
      {"v=STSv1; id=", nullptr},
      {"v=STSv1; id=a-b", nullptr},
      {"v=STSv1; id=123456789012345678901234567890123", nullptr},
      {"v=STSv1; id=a; id=b", nullptr},
      {"v=STSv1; junk", nullptr},
      {"", nullptr},
  };
  for (const Case& c : cases) {
    auto r = parse_mta_sts_record(c.txt);
    if (c.id == nullptr) {
      EXPECT_FALSE(r.ok()) << c.txt;
    } else {
      ASSERT_TRUE(r.ok()) << c.txt << ": " << r.error().message;
      EXPECT_EQ(r->id, c.id);
    }
  }
}

TEST(MtaStsRecord, SelectsTheOneStsRecord) {
  EXPECT_EQ(select_mta_sts_record({"v=spf1 -all", "v=STSv1; id=x1"})->id, "x1");
  EXPECT_FALSE(select_mta_sts_record({"v=spf1 -all"}));
  EXPECT_FALSE(select_mta_sts_record({}));
  EXPECT_FALSE(select_mta_sts_record({"v=STSv1; id=a", "v=STSv1; id=b"}));  // two: none
  EXPECT_FALSE(select_mta_sts_record({"v=STSv1; id=bad!"}));
  EXPECT_FALSE(select_mta_sts_record({"v=STSv10; id=a"}));
}

TEST(MtaStsPolicyFile, ParsesCrlfAndLf) {
  for (const char* eol : {"\r\n", "\n"}) {
    const std::string text = std::string("version: STSv1") + eol + "mode: enforce" + eol +
                             "mx: mail.example.com" + eol + "mx: *.Example.NET." + eol +
                             "max_age:86400" + eol + "future: thing";
    auto p = parse_mta_sts_policy(text);
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->mode, MtaStsMode::Enforce);
    EXPECT_EQ(p->mx, (std::vector<std::string>{"mail.example.com", "*.example.net"}));
    EXPECT_EQ(p->max_age, 86400);
  }
}

TEST(MtaStsPolicyFile, Refuses) {
  const char* bad[] = {
      "mode: enforce\nmx: a.b\nmax_age: 1\n",                         // no version
      "version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1\n",         // wrong version
      "version: STSv1\nmode: strict\nmx: a.b\nmax_age: 1\n",          // unknown mode
      "version: STSv1\nmode: enforce\nmax_age: 1\n",                  // no mx
      "version: STSv1\nmode: enforce\nmx: a.b\n",                     // no max_age
      "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 31557601\n",  // too long
      "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -1\n",        // negative
      "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1x\n",        // not a number
      "version: STSv1\nmode: enforce\nmode: testing\nmx: a.b\nmax_age: 1\n",
      "version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 1\n",
      "version: STSv1\nmode: enforce\nmx: *.*.b\nmax_age: 1\n",
      "version: STSv1\nmode enforce\nmx: a.b\nmax_age: 1\n",
  };
  for (const char* text : bad) EXPECT_FALSE(parse_mta_sts_policy(text).ok()) << text;
  auto none = parse_mta_sts_policy("version: STSv1\nmode: none\nmax_age: 31557600\n");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->mode, MtaStsMode::None);
}

TEST(MtaStsMx, WildcardMatchesOneLabel) {
  const std::vector<std::string> p = {"mail.example.com", "*.example.net"};
  EXPECT_TRUE(mta_sts_mx_matches(p, "mail.example.com"));
  EXPECT_TRUE(mta_sts_mx_matches(p, "MAIL.Example.com."));
  EXPECT_TRUE(mta_sts_mx_matches(p, "mx1.example.net"));
  EXPECT_FALSE(mta_sts_mx_matches(p, "a.mx1.example.net"));
  EXPECT_FALSE(mta_sts_mx_matches(p, "example.net"));
  EXPECT_FALSE(mta_sts_mx_matches(p, ".example.net"));
  EXPECT_FALSE(mta_sts_mx_matches(p, "other.example.com"));
}

// Parses `bytes` fed in two parts at every split; every split must give the same outcome
// as the whole, and no prefix may complete early with a different answer.
std::optional<Result<HttpResponse>> parse_all_splits(const std::string& bytes, bool eof,
                                                     size_t max_body = 1000) {
  auto whole = parse_http_response(bytes, eof, max_body);
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto part = parse_http_response(std::string_view(bytes).substr(0, i), false, max_body);
    if (part && part->ok() && whole && whole->ok()) {
      EXPECT_EQ((*part)->body, (*whole)->body) << "split " << i;
    }
    if (part && whole && part->ok() != whole->ok()) {
      // A prefix may fail only for a reason the whole also fails for.
      ADD_FAILURE() << "split " << i << " differs";
    }
  }
  return whole;
}

TEST(MtaStsHttp, ContentLength) {
  const std::string r =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n\r\n"
      "hello";
  auto p = parse_all_splits(r, false);
  ASSERT_TRUE(p && p->ok());
  EXPECT_EQ((*p)->status, 200);
  EXPECT_EQ((*p)->body, "hello");
  EXPECT_EQ(*mta_sts_policy_text(**p), "hello");
  EXPECT_FALSE(parse_http_response(r.substr(0, r.size() - 1), false, 1000));
  EXPECT_FALSE(parse_http_response(r.substr(0, r.size() - 1), true, 1000)->ok());
}

TEST(MtaStsHttp, Chunked) {
  const std::string r =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4;ext=1\r\nhell\r\n1\r\no\r\n0\r\nX-Trailer: 1\r\n\r\n";
  auto p = parse_all_splits(r, false);
  ASSERT_TRUE(p && p->ok()) << (p ? (*p).error().message : "incomplete");
  EXPECT_EQ((*p)->body, "hello");
  auto bad = parse_http_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                                 false, 1000);
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->ok());
}

TEST(MtaStsHttp, CloseDelimited) {
  const std::string r = "HTTP/1.0 200 OK\nContent-Type: text/plain\n\nversion: STSv1\n";
  EXPECT_FALSE(parse_http_response(r, false, 1000));  // waits for the end of the connection
  auto p = parse_http_response(r, true, 1000);
  ASSERT_TRUE(p && p->ok());
  EXPECT_EQ((*p)->body, "version: STSv1\n");
}

TEST(MtaStsHttp, BodyLimit) {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n";
  auto a = parse_http_response(head + "Content-Length: 11\r\n\r\n", false, 10);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->ok());
  auto b = parse_http_response(head + "\r\n" + std::string(11, 'x'), false, 10);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->ok());
  auto c = parse_http_response(head + "Transfer-Encoding: chunked\r\n\r\n6\r\nxxxxxx\r\n6\r\n",
                               false, 10);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->ok());
  auto d = parse_http_response("HTTP/1.1 200 OK\r\nX: " + std::string(kHttpMaxHeaderBytes, 'x'),
                               false, 10);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->ok());
}

TEST(MtaStsHttp, RedirectsAndOtherTypesAreRefused) {
  auto r = parse_http_response("HTTP/1.1 301 Moved\r\nLocation: https://elsewhere/\r\n\r\n", false,
                               1000);
  ASSERT_TRUE(r && r->ok());
  EXPECT_EQ((*r)->status, 301);
  auto text = mta_sts_policy_text(**r);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().message, "HTTP status 301 (redirects are not followed)");
  HttpResponse html{200, "text/html", "x"};
  EXPECT_EQ(mta_sts_policy_text(html).error().message, "Content-Type is not text/plain: text/html");
  HttpResponse none{200, "", "x"};
  EXPECT_FALSE(mta_sts_policy_text(none).ok());
  for (const char* bad : {"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "SMTP\r\n\r\n",
                          "HTTP/1.1 200 OK\r\n folded\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"}) {
    auto p = parse_http_response(bad, true, 1000);
    ASSERT_TRUE(p) << bad;
    EXPECT_FALSE(p->ok()) << bad;
  }
  EXPECT_NE(mta_sts_request("mta-sts.example.com").find("Host: mta-sts.example.com\r\n"),
            std::string::npos);
}

CachedMtaStsPolicy cached(int64_t fetched_at = 1000, int64_t max_age = 100) {
  return {"example.com", "id1", fetched_at,
          MtaStsPolicy{MtaStsMode::Enforce, {"mx.example.com", "*.example.net"}, max_age}};
}

TEST(MtaStsCache, RoundTrip) {
  const std::string text = format_mta_sts_cache(cached());
  auto back = parse_mta_sts_cache(text);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, cached());
  for (size_t i = 0; i < text.size(); ++i) {  // every truncation is refused
    EXPECT_FALSE(parse_mta_sts_cache(text.substr(0, i)).ok()) << i;
  }
  EXPECT_FALSE(parse_mta_sts_cache(text + "x").ok());
  EXPECT_FALSE(parse_mta_sts_cache("estafeta-mta-sts 1\ndomain ../x\nend\n").ok());
}

TEST(MtaStsCache, FileNames) {
  EXPECT_EQ(mta_sts_cache_file_name("Example.COM."), "example.com");
  EXPECT_FALSE(mta_sts_cache_file_name("../etc"));
  EXPECT_FALSE(mta_sts_cache_file_name("a/b"));
  EXPECT_FALSE(mta_sts_cache_file_name(""));
  EXPECT_FALSE(mta_sts_cache_file_name(".x"));
}

TEST(MtaStsCache, Decision) {
  const MtaStsRecord same{"id1"}, other{"id2"};
  const auto c = cached(1000, 100);
  // Fresh cache: kept, unless the id changed.
  EXPECT_EQ(decide_mta_sts(c, same, 1050), MtaStsStep::UseCached);
  EXPECT_EQ(decide_mta_sts(c, std::nullopt, 1050), MtaStsStep::UseCached);
  EXPECT_EQ(decide_mta_sts(c, other, 1050), MtaStsStep::Fetch);
  // Expired at fetched_at + max_age.
  EXPECT_EQ(decide_mta_sts(c, same, 1100), MtaStsStep::Fetch);
  EXPECT_EQ(decide_mta_sts(c, std::nullopt, 1100), MtaStsStep::NoPolicy);
  EXPECT_TRUE(mta_sts_cache_fresh(c, 1099));
  EXPECT_FALSE(mta_sts_cache_fresh(c, 1100));
  // No cache.
  EXPECT_EQ(decide_mta_sts(std::nullopt, same, 0), MtaStsStep::Fetch);
  EXPECT_EQ(decide_mta_sts(std::nullopt, std::nullopt, 0), MtaStsStep::NoPolicy);
}

TEST(MtaStsPlan, ScopeAndTlsPolicy) {
  EXPECT_TRUE(mta_sts_applies({true, true, false, false}));
  EXPECT_FALSE(mta_sts_applies({false, true, false, false}));  // disabled
  EXPECT_FALSE(mta_sts_applies({true, false, false, false}));  // [host] or relay
  EXPECT_FALSE(mta_sts_applies({true, true, true, false}));    // smtp_tls_policy_maps wins
  EXPECT_FALSE(mta_sts_applies({true, true, false, true}));    // DANE wins
  ClientTlsSettings s;
  const TlsPolicy p = mta_sts_tls_policy(s);
  EXPECT_EQ(p.effective_level, TlsLevel::Secure);
  const TlsConnectionPlan plan = plan_tls_connection(p, "example.com", "MX1.example.com");
  EXPECT_TRUE(plan.required);
  EXPECT_EQ(plan.names, (std::vector<std::string>{"mx1.example.com"}));
  EXPECT_EQ(mta_sts_mx_mismatch_line("example.com", "mx.other", MtaStsMode::Enforce),
            "MTA-STS policy for example.com: MX host mx.other does not match the policy, skipped");
}

}  // namespace
}  // namespace estafeta::outbound

namespace estafeta::outbound {
namespace {

std::vector<DeliveryTarget> targets() {
  return {{"mx1.example.com", 10, {AddressFamily::Ipv4, "192.0.2.1"}},
          {"mx1.example.com", 10, {AddressFamily::Ipv4, "192.0.2.2"}},
          {"backup.other.net", 20, {AddressFamily::Ipv4, "192.0.2.3"}}};
}

TEST(MtaStsPlan, EnforceKeepsMatchingMxHosts) {
  MtaStsPolicy p{MtaStsMode::Enforce, {"*.example.com"}, 100};
  MtaStsApplied a = apply_mta_sts(p, "example.com", targets());
  EXPECT_TRUE(a.enforce);
  ASSERT_EQ(a.targets.size(), 2u);
  EXPECT_EQ(a.targets[1].address.text, "192.0.2.2");
  ASSERT_EQ(a.log_lines.size(), 1u);
  EXPECT_EQ(a.log_lines[0],
            "MTA-STS policy for example.com: MX host backup.other.net does not match the "
            "policy, skipped");
  EXPECT_FALSE(a.defer);
  p.mx = {"mail.example.com"};
  a = apply_mta_sts(p, "example.com", targets());
  EXPECT_TRUE(a.targets.empty());
  EXPECT_EQ(a.defer, "MTA-STS policy for example.com: no MX host matches the policy");
}

TEST(MtaStsPlan, TestingAndNoneKeepEverything) {
  MtaStsPolicy p{MtaStsMode::Testing, {"mail.example.com"}, 100};
  MtaStsApplied a = apply_mta_sts(p, "example.com", targets());
  EXPECT_TRUE(a.testing);
  EXPECT_FALSE(a.enforce);
  EXPECT_EQ(a.targets, targets());
  EXPECT_EQ(a.log_lines.size(), 2u);
  EXPECT_FALSE(a.defer);
  p.mode = MtaStsMode::None;
  a = apply_mta_sts(p, "example.com", targets());
  EXPECT_FALSE(a.testing || a.enforce);
  EXPECT_TRUE(a.log_lines.empty());
  a = apply_mta_sts(std::nullopt, "example.com", targets());
  EXPECT_EQ(a.targets, targets());
  EXPECT_FALSE(a.testing || a.enforce);
}

TEST(MtaStsPlan, TestingReport) {
  EXPECT_FALSE(mta_sts_testing_report("d", "mx", true, PeerTrust::Verified));
  EXPECT_EQ(mta_sts_testing_report("d", "mx", false, std::nullopt),
            "MTA-STS policy for d (testing): delivery to mx would have been deferred: TLS not "
            "used");
  EXPECT_EQ(*mta_sts_testing_report("d", "mx", true, PeerTrust::Trusted),
            "MTA-STS policy for d (testing): delivery to mx would have been deferred: "
            "certificate not verified for mx (Trusted)");
}

}  // namespace
}  // namespace estafeta::outbound
