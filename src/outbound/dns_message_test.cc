// Tests of the DNS reply reader (dns_message.h) on replies built byte by byte.
#include "outbound/dns_message.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace estafeta::outbound {
namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& out, unsigned value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}

Bytes name(const std::string& dotted) {
  Bytes out;
  size_t start = 0;
  while (start < dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string::npos) dot = dotted.size();
    out.push_back(static_cast<uint8_t>(dot - start));
    out.insert(out.end(), dotted.begin() + start, dotted.begin() + dot);
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

// A reply to one question (owner `question`, type `type`) with `records` in the answer.
struct Rr {
  Bytes owner;
  unsigned type;
  Bytes rdata;
};

Bytes reply(const std::string& question, unsigned type, const std::vector<Rr>& records,
            unsigned rcode = 0, bool ad = false) {
  Bytes out;
  put16(out, 0x1234);
  put16(out, 0x8180 | (ad ? 0x20 : 0) | rcode);
  put16(out, 1);
  put16(out, records.size());
  put16(out, 0);
  put16(out, 0);
  Bytes q = name(question);
  out.insert(out.end(), q.begin(), q.end());
  put16(out, type);
  put16(out, 1);
  for (const Rr& rr : records) {
    out.insert(out.end(), rr.owner.begin(), rr.owner.end());
    put16(out, rr.type);
    put16(out, 1);
    put16(out, 0);
    put16(out, 300);
    put16(out, rr.rdata.size());
    out.insert(out.end(), rr.rdata.begin(), rr.rdata.end());
  }
  return out;
}

const Bytes kPointerToQuestion = {0xc0, 12};

Bytes mx_rdata(unsigned preference, Bytes host) {
  Bytes out;
  put16(out, preference);
  out.insert(out.end(), host.begin(), host.end());
  return out;
}

TEST(DnsMessage, MxRecordsWithCompressedNames) {
  // mx2.example.com written as "mx2" + pointer to "example.com" in the question.
  Bytes compressed = {3, 'm', 'x', '2', 0xc0, 12 + 0};
  auto message = reply("Example.COM", kTypeMx,
                       {{kPointerToQuestion, kTypeMx, mx_rdata(10, name("MX1.example.com"))},
                        {kPointerToQuestion, kTypeMx, mx_rdata(20, compressed)}},
                       0, true);
  auto answer = mx_answer(message);
  ASSERT_EQ(answer.status, DnsStatus::Ok) << answer.reason;
  ASSERT_EQ(answer.records.size(), 2u);
  EXPECT_EQ(answer.records[0].host, "mx1.example.com");
  EXPECT_EQ(answer.records[0].preference, 10);
  EXPECT_EQ(answer.records[1].host, "mx2.example.com");
  EXPECT_EQ(answer.records[1].preference, 20);
  EXPECT_TRUE(answer.authenticated);
}

TEST(DnsMessage, NullMxIsTheRootName) {
  auto answer = mx_answer(
      reply("example.com", kTypeMx, {{kPointerToQuestion, kTypeMx, mx_rdata(0, name(""))}}));
  ASSERT_EQ(answer.status, DnsStatus::Ok);
  ASSERT_EQ(answer.records.size(), 1u);
  EXPECT_EQ(answer.records[0].host, "");
  EXPECT_FALSE(answer.authenticated);
}

TEST(DnsMessage, MxWithABadHostNameIsLeftOut) {
  Bytes bad = {4, 'a', ' ', 'b', '.', 0};
  auto answer = mx_answer(reply("example.com", kTypeMx,
                                {{kPointerToQuestion, kTypeMx, mx_rdata(10, bad)},
                                 {kPointerToQuestion, kTypeMx, mx_rdata(20, name("ok.test"))}}));
  ASSERT_EQ(answer.status, DnsStatus::Ok);
  ASSERT_EQ(answer.records.size(), 1u);
  EXPECT_EQ(answer.records[0].host, "ok.test");
}

TEST(DnsMessage, NameEscapesOddBytes) {
  Bytes message = {4, 'a', '.', 'B', 0x01, 0};
  size_t offset = 0;
  auto text = read_domain_name(message, offset);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "a\\046b\\001");
  EXPECT_EQ(offset, message.size());
}

TEST(DnsMessage, AddressesAndCnameChainsKeepOnlyTheType) {
  auto message = reply("www.test", kTypeA,
                       {{kPointerToQuestion, kTypeCname, name("host.test")},
                        {name("host.test"), kTypeA, {192, 0, 2, 1}},
                        {name("host.test"), kTypeA, {192, 0, 2, 2}}});
  auto answer = address_answer(message, kTypeA);
  ASSERT_EQ(answer.status, DnsStatus::Ok);
  ASSERT_EQ(answer.records.size(), 2u);
  EXPECT_EQ(answer.records[0], (HostAddress{AddressFamily::Ipv4, "192.0.2.1"}));
  EXPECT_EQ(answer.records[1].text, "192.0.2.2");

  Bytes v6(16, 0);
  v6[0] = 0x20;
  v6[1] = 0x01;
  v6[2] = 0x0d;
  v6[3] = 0xb8;
  v6[15] = 1;
  auto six =
      address_answer(reply("h.test", kTypeAaaa, {{kPointerToQuestion, kTypeAaaa, v6}}), kTypeAaaa);
  ASSERT_EQ(six.status, DnsStatus::Ok);
  EXPECT_EQ(six.records.at(0), (HostAddress{AddressFamily::Ipv6, "2001:db8::1"}));
}

TEST(DnsMessage, StatusFromRcodeAndEmptyAnswers) {
  auto nx = mx_answer(reply("nx.test", kTypeMx, {}, kRcodeNxDomain));
  EXPECT_EQ(nx.status, DnsStatus::NotFound);
  EXPECT_EQ(nx.reason, "Host not found");
  auto servfail = mx_answer(reply("s.test", kTypeMx, {}, kRcodeServFail));
  EXPECT_EQ(servfail.status, DnsStatus::TempFail);
  EXPECT_EQ(servfail.reason, "Host not found, try again");
  auto refused = mx_answer(reply("s.test", kTypeMx, {}, kRcodeRefused));
  EXPECT_EQ(refused.status, DnsStatus::TempFail);
  auto nodata = mx_answer(reply("a.test", kTypeMx, {}));
  EXPECT_EQ(nodata.status, DnsStatus::NoData);
  // Records of another type only: still no data for MX.
  auto other = mx_answer(reply("a.test", kTypeMx, {{kPointerToQuestion, kTypeA, {1, 2, 3, 4}}}));
  EXPECT_EQ(other.status, DnsStatus::NoData);
}

TEST(DnsMessage, TxtStringsAreConcatenated) {
  Bytes rdata = {5, 'v', '=', 's', 'p', 'f', 2, '1', ' ', 0};
  auto answer = txt_answer(reply("t.test", kTypeTxt, {{kPointerToQuestion, kTypeTxt, rdata}}));
  ASSERT_EQ(answer.status, DnsStatus::Ok);
  EXPECT_EQ(answer.records.at(0), "v=spf1 ");
  Bytes overrun = {9, 'a'};
  auto bad = txt_answer(reply("t.test", kTypeTxt, {{kPointerToQuestion, kTypeTxt, overrun}}));
  EXPECT_EQ(bad.status, DnsStatus::TempFail);
}

TEST(DnsMessage, TlsaRdata) {
  Bytes rdata = {3, 1, 1, 0xab, 0xcd, 0xef};
  auto answer =
      tlsa_answer(reply("_25._tcp.mx.test", kTypeTlsa, {{kPointerToQuestion, kTypeTlsa, rdata}}));
  ASSERT_EQ(answer.status, DnsStatus::Ok) << answer.reason;
  EXPECT_EQ(answer.records.at(0), (TlsaRecord{3, 1, 1, {0xab, 0xcd, 0xef}}));
  EXPECT_FALSE(parse_tlsa_rdata(Bytes{3, 1, 1}).ok());
  auto short_one =
      tlsa_answer(reply("_25._tcp.mx.test", kTypeTlsa, {{kPointerToQuestion, kTypeTlsa, {3, 1}}}));
  EXPECT_EQ(short_one.status, DnsStatus::TempFail);
}

TEST(DnsMessage, MalformedRepliesAreTemporaryFailures) {
  auto good = reply("a.test", kTypeA, {{kPointerToQuestion, kTypeA, {1, 2, 3, 4}}});
  // Every truncation of a good reply fails cleanly.
  for (size_t length = 0; length < good.size(); ++length) {
    Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(length));
    auto answer = address_answer(cut, kTypeA);
    EXPECT_EQ(answer.status, DnsStatus::TempFail) << length;
  }
  // A pointer to itself, or forwards, is refused.
  Bytes loop = good;
  loop[12] = 0xc0;
  loop[13] = 12;
  EXPECT_FALSE(parse_dns_reply(loop).ok());
  // A query (QR clear) is not a reply.
  Bytes query = good;
  query[2] &= 0x7f;
  EXPECT_FALSE(parse_dns_reply(query).ok());
  // An A record with 5 bytes.
  auto five = address_answer(
      reply("a.test", kTypeA, {{kPointerToQuestion, kTypeA, {1, 2, 3, 4, 5}}}), kTypeA);
  EXPECT_EQ(five.status, DnsStatus::TempFail);
  EXPECT_NE(five.reason.find("malformed"), std::string::npos);
}

TEST(DnsMessage, PtrNamesIncludingThoseBehindACname) {
  // RFC 2317: the PTR sits under a CNAME's target; its name is compressed against it.
  Bytes target = name("1.0/25.2.0.192.in-addr.arpa");
  Bytes compressed = {4, 'm', 'a', 'i', 'l', 0xc0, 12 + 2};  // "mail" + "0.2.0.192..."
  auto message = reply("1.2.0.192.in-addr.arpa", kTypePtr,
                       {{kPointerToQuestion, kTypeCname, target},
                        {target, kTypePtr, name("Mail.Example.COM")},
                        {target, kTypePtr, compressed}});
  auto answer = ptr_answer(message);
  ASSERT_EQ(answer.status, DnsStatus::Ok) << answer.reason;
  EXPECT_EQ(answer.records, (std::vector<std::string>{"mail.example.com", "mail.2.0.192.in-addr.arpa"}));

  auto nx = ptr_answer(reply("9.2.0.192.in-addr.arpa", kTypePtr, {}, kRcodeNxDomain));
  EXPECT_EQ(nx.status, DnsStatus::NotFound);
  auto nodata = ptr_answer(reply("9.2.0.192.in-addr.arpa", kTypePtr, {}));
  EXPECT_EQ(nodata.status, DnsStatus::NoData);
  // Odd bytes are kept, escaped (the caller refuses such a host name).
  auto odd = ptr_answer(reply("9.2.0.192.in-addr.arpa", kTypePtr,
                              {{kPointerToQuestion, kTypePtr, {3, 'a', ' ', 'b', 0}}}));
  ASSERT_EQ(odd.status, DnsStatus::Ok);
  EXPECT_EQ(odd.records.at(0), "a\\032b");
}

TEST(DnsMessage, MalformedPtrRecordsAreTemporaryFailures) {
  Bytes longer = name("a.test");
  longer.push_back(0);  // a byte after the name
  for (const Bytes& rdata : {Bytes{}, longer, Bytes{3, 'a', 'b'}}) {
    auto answer =
        ptr_answer(reply("1.2.0.192.in-addr.arpa", kTypePtr, {{kPointerToQuestion, kTypePtr, rdata}}));
    EXPECT_EQ(answer.status, DnsStatus::TempFail) << rdata.size();
    EXPECT_TRUE(answer.records.empty());
  }
}

TEST(DnsMessage, NsNames) {
  Bytes compressed = {3, 'n', 's', '2', 0xc0, 12};  // "ns2" + the question's name
  auto answer = ns_answer(reply("example.test", kTypeNs,
                                {{kPointerToQuestion, kTypeNs, name("NS1.Example.TEST")},
                                 {kPointerToQuestion, kTypeNs, compressed},
                                 {kPointerToQuestion, kTypeA, {192, 0, 2, 1}}}));
  ASSERT_EQ(answer.status, DnsStatus::Ok) << answer.reason;
  EXPECT_EQ(answer.records, (std::vector<std::string>{"ns1.example.test", "ns2.example.test"}));
  EXPECT_EQ(ns_answer(reply("a.example.test", kTypeNs, {})).status, DnsStatus::NoData);
  EXPECT_EQ(ns_answer(reply("x.test", kTypeNs, {}, kRcodeNxDomain)).status, DnsStatus::NotFound);
  Bytes longer = name("a.test");
  longer.push_back(0);
  auto bad = ns_answer(reply("example.test", kTypeNs, {{kPointerToQuestion, kTypeNs, longer}}));
  EXPECT_EQ(bad.status, DnsStatus::TempFail);
  EXPECT_NE(bad.reason.find("NS record"), std::string::npos) << bad.reason;
}

TEST(DnsMessage, ReverseLookupNames) {
  EXPECT_EQ(reverse_lookup_name("192.0.2.1").value(), "1.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverse_lookup_name("127.0.0.1").value(), "1.0.0.127.in-addr.arpa");
  EXPECT_EQ(reverse_lookup_name("2001:db8::1").value(),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  EXPECT_EQ(reverse_lookup_name("::1").value(),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa");
  EXPECT_EQ(reverse_lookup_name("::ffff:192.0.2.7").value(), "7.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverse_lookup_name("2001:DB8:ABCD::FE").value(),
            "e.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.8.b.d.0.1.0.0.2.ip6.arpa");
  for (const char* bad : {"", "host.test", "192.0.2", "192.0.2.1.5", "fe80::1%eth0", "[::1]"}) {
    EXPECT_FALSE(reverse_lookup_name(bad).ok()) << bad;
  }
}

TEST(DnsMessage, NamesLongerThan255BytesAreRefused) {
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'a') + ".";
  long_name += "test";
  Bytes message = name(long_name);
  size_t offset = 0;
  EXPECT_FALSE(read_domain_name(message, offset).ok());
}

// A record with its TTL, for the sections of full_reply().
struct TtlRr {
  Bytes owner;
  unsigned type;
  uint32_t ttl;
  Bytes rdata;
};

void put_records(Bytes& out, const std::vector<TtlRr>& records) {
  for (const TtlRr& rr : records) {
    out.insert(out.end(), rr.owner.begin(), rr.owner.end());
    put16(out, rr.type);
    put16(out, 1);
    put16(out, rr.ttl >> 16);
    put16(out, rr.ttl & 0xffff);
    put16(out, rr.rdata.size());
    out.insert(out.end(), rr.rdata.begin(), rr.rdata.end());
  }
}

// A reply to one question with answer and authority sections.
Bytes full_reply(const std::string& question, unsigned type, unsigned rcode,
                 const std::vector<TtlRr>& answers, const std::vector<TtlRr>& authority) {
  Bytes out;
  put16(out, 0x1234);
  put16(out, 0x8180 | rcode);
  put16(out, 1);
  put16(out, answers.size());
  put16(out, authority.size());
  put16(out, 0);
  Bytes q = name(question);
  out.insert(out.end(), q.begin(), q.end());
  put16(out, type);
  put16(out, 1);
  put_records(out, answers);
  put_records(out, authority);
  return out;
}

// SOA rdata (RFC 1035 3.3.13) with the given MINIMUM; the other counters are arbitrary.
Bytes soa_rdata(uint32_t minimum) {
  Bytes out = name("ns.zone.test");
  Bytes rname = name("hostmaster.zone.test");
  out.insert(out.end(), rname.begin(), rname.end());
  for (uint32_t value : {2026u, 3600u, 600u, 86400u, minimum}) {
    put16(out, value >> 16);
    put16(out, value & 0xffff);
  }
  return out;
}

TEST(DnsMessageTtl, AnOkAnswerKeepsTheSmallestTtlOfTheRecordsUsed) {
  auto message = full_reply("2.0.0.127.zone.test", kTypeA, 0,
                            {{kPointerToQuestion, kTypeCname, 900, name("listed.zone.test")},
                             {name("listed.zone.test"), kTypeA, 600, {127, 0, 0, 2}},
                             {name("listed.zone.test"), kTypeA, 1200, {127, 0, 0, 4}},
                             {name("other.zone.test"), kTypeTxt, 5, {1, 'x'}}},
                            {{name("zone.test"), kTypeSoa, 30, soa_rdata(10)}});
  auto answer = address_answer(message, kTypeA);
  ASSERT_EQ(answer.status, DnsStatus::Ok);
  EXPECT_EQ(answer.ttl, 600u);  // not the TXT's 5 nor the SOA's
  auto behind_cname = full_reply("a.test", kTypeA, 0,
                                 {{kPointerToQuestion, kTypeCname, 60, name("b.test")},
                                  {name("b.test"), kTypeA, 600, {192, 0, 2, 1}}},
                                 {});
  EXPECT_EQ(address_answer(behind_cname, kTypeA).ttl, 60u);
  auto txt =
      full_reply("t.test", kTypeTxt, 0, {{kPointerToQuestion, kTypeTxt, 0x10000, {1, 'y'}}}, {});
  EXPECT_EQ(txt_answer(txt).ttl, 0x10000u);
}

TEST(DnsMessageTtl, NxDomainWithAnSoaKeepsTheNegativeTtl) {
  // RFC 2308 5: the smaller of the SOA's TTL and its MINIMUM.
  auto low_minimum = full_reply("1.0.0.127.zone.test", kTypeA, kRcodeNxDomain, {},
                                {{name("zone.test"), kTypeSoa, 3600, soa_rdata(300)}});
  auto answer = address_answer(low_minimum, kTypeA);
  EXPECT_EQ(answer.status, DnsStatus::NotFound);
  EXPECT_EQ(answer.ttl, 300u);
  auto low_ttl = full_reply("1.0.0.127.zone.test", kTypeA, kRcodeNxDomain, {},
                            {{name("zone.test"), kTypeSoa, 120, soa_rdata(300)}});
  EXPECT_EQ(address_answer(low_ttl, kTypeA).ttl, 120u);
}

TEST(DnsMessageTtl, NoDataWithAnSoaKeepsTheNegativeTtl) {
  auto message =
      full_reply("host.zone.test", kTypeMx, 0, {{kPointerToQuestion, kTypeA, 999, {192, 0, 2, 1}}},
                 {{name("zone.test"), kTypeNs, 10, name("ns.zone.test")},
                  {name("zone.test"), kTypeSoa, 900, soa_rdata(240)}});
  auto answer = mx_answer(message);
  EXPECT_EQ(answer.status, DnsStatus::NoData);
  EXPECT_EQ(answer.ttl, 240u);
}

TEST(DnsMessageTtl, WithoutAnSoaOrOnFailureNothingIsKept) {
  auto nx = full_reply("x.test", kTypeA, kRcodeNxDomain, {}, {});
  EXPECT_EQ(address_answer(nx, kTypeA).status, DnsStatus::NotFound);
  EXPECT_EQ(address_answer(nx, kTypeA).ttl, 0u);
  auto nodata =
      full_reply("x.test", kTypeTxt, 0, {}, {{name("test"), kTypeNs, 300, name("ns.test")}});
  EXPECT_EQ(txt_answer(nodata).ttl, 0u);
  auto servfail = full_reply("x.test", kTypeA, kRcodeServFail, {},
                             {{name("test"), kTypeSoa, 300, soa_rdata(300)}});
  EXPECT_EQ(address_answer(servfail, kTypeA).status, DnsStatus::TempFail);
  EXPECT_EQ(address_answer(servfail, kTypeA).ttl, 0u);
  // An SOA whose rdata is cut short gives no negative TTL.
  Bytes short_soa = soa_rdata(300);
  short_soa.resize(short_soa.size() - 2);
  auto broken =
      full_reply("x.test", kTypeA, kRcodeNxDomain, {}, {{name("test"), kTypeSoa, 300, short_soa}});
  EXPECT_EQ(address_answer(broken, kTypeA).status, DnsStatus::NotFound);
  EXPECT_EQ(address_answer(broken, kTypeA).ttl, 0u);
}

TEST(DnsMessageTtl, AMalformedAuthoritySectionDoesNotSpoilTheAnswer) {
  auto message = full_reply("a.test", kTypeA, 0, {{kPointerToQuestion, kTypeA, 60, {192, 0, 2, 9}}},
                            {{name("test"), kTypeSoa, 300, soa_rdata(300)}});
  message.resize(message.size() - 5);  // the SOA runs past the end
  auto reply = parse_dns_reply(message);
  ASSERT_TRUE(reply.ok());
  EXPECT_TRUE(reply->authority.empty());
  auto answer = address_answer(message, kTypeA);
  ASSERT_EQ(answer.status, DnsStatus::Ok);
  EXPECT_EQ(answer.ttl, 60u);
}

}  // namespace
}  // namespace estafeta::outbound
