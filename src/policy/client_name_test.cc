// Table-driven tests of the client host name decision (client_name.h).
#include "policy/client_name.h"

#include <gtest/gtest.h>

namespace estafeta::policy {
namespace {

using outbound::AddressFamily;
using outbound::DnsAnswer;
using outbound::DnsStatus;
using outbound::HostAddress;
using smtp::NameStatus;

DnsAnswer<std::string> ptr(DnsStatus status, std::vector<std::string> names = {},
                           std::string reason = "") {
  DnsAnswer<std::string> answer;
  answer.status = status;
  answer.records = std::move(names);
  answer.reason = std::move(reason);
  return answer;
}

DnsAnswer<HostAddress> addresses(DnsStatus status, std::vector<std::string> texts = {},
                                 std::string reason = "") {
  DnsAnswer<HostAddress> answer;
  answer.status = status;
  for (auto& text : texts) {
    auto family = text.find(':') == std::string::npos ? AddressFamily::Ipv4 : AddressFamily::Ipv6;
    answer.records.push_back(HostAddress{family, text});
  }
  answer.reason = std::move(reason);
  return answer;
}

TEST(ClientName, HostnameProblems) {
  struct Case {
    const char* name;
    const char* problem;  // nullptr: a valid host name
  } cases[] = {
      {"mail.example.com", nullptr},
      {"MAIL-1.Example.COM", nullptr},
      {"host_with_underscore.example", nullptr},  // as Postfix (Windows names)
      {"localhost", nullptr},
      {"1host.example", nullptr},
      {"123.example", nullptr},
      {"0x7f.example", nullptr},
      {"192.0.2.1", "numeric hostname: 192.0.2.1"},
      {"2001:db8::1", "numeric hostname: 2001:db8::1"},
      {"::ffff:192.0.2.1", "numeric hostname: ::ffff:192.0.2.1"},
      {"1.2.3", "valid_hostname: numeric hostname: 1.2.3"},
      {"12345", "valid_hostname: numeric hostname: 12345"},
      {"", "valid_hostname: empty hostname: "},
      {"a..b", "valid_hostname: misplaced delimiter: a..b"},
      {".a", "valid_hostname: misplaced delimiter: .a"},
      {"a.", "valid_hostname: misplaced delimiter: a."},
      {"-a.example", "valid_hostname: misplaced hyphen: -a.example"},
      {"a-.example", "valid_hostname: misplaced hyphen: a-.example"},
      {"a.example-", "valid_hostname: misplaced hyphen: a.example-"},
      {"a b.example", "valid_hostname: invalid character 32(decimal): a b.example"},
      {"a\\032b.example", "valid_hostname: invalid character 92(decimal): a\\032b.example"},
      {"caf\xc3\xa9.example", "valid_hostname: invalid character 195(decimal): caf\xc3\xa9.example"},
  };
  for (const Case& c : cases) {
    auto problem = hostname_problem(c.name);
    if (c.problem == nullptr) {
      EXPECT_FALSE(problem) << c.name << ": " << *problem;
    } else {
      ASSERT_TRUE(problem) << c.name;
      EXPECT_EQ(*problem, c.problem);
    }
  }
  std::string label63(63, 'a');
  EXPECT_FALSE(hostname_problem(label63 + ".example"));
  EXPECT_EQ(hostname_problem(label63 + "a.example").value_or(""),
            "valid_hostname: hostname label too long: " + label63 + "a.example");
  std::string long_name;
  while (long_name.size() < 250) long_name += "abcdefghi.";
  long_name += "example";  // 257 bytes
  EXPECT_EQ(hostname_problem(long_name).value_or("").rfind("valid_hostname: bad length 257: ", 0),
            0u);
}

TEST(ClientName, ReverseNamesFromThePtrAnswer) {
  struct Case {
    DnsAnswer<std::string> answer;
    std::vector<std::string> names;
    NameStatus status;
    size_t warnings;
  } cases[] = {
      {ptr(DnsStatus::Ok, {"mail.example.com"}), {"mail.example.com"}, NameStatus::Ok, 0},
      {ptr(DnsStatus::NotFound), {}, NameStatus::NotFound, 0},
      {ptr(DnsStatus::NoData), {}, NameStatus::NotFound, 0},
      {ptr(DnsStatus::TempFail), {}, NameStatus::TempFail, 0},
      {ptr(DnsStatus::Ok, {"192.0.2.1"}), {}, NameStatus::NotFound, 1},
      {ptr(DnsStatus::Ok, {"192.0.2.1", "good.example"}), {"good.example"}, NameStatus::Ok, 1},
      {ptr(DnsStatus::Ok, {"a.example", "a.example", "b.example"}),
       {"a.example", "b.example"},
       NameStatus::Ok,
       0},
      {ptr(DnsStatus::Ok, {"n1.x", "n2.x", "n3.x", "n4.x", "n5.x", "n6.x"}),
       {"n1.x", "n2.x", "n3.x", "n4.x", "n5.x"},
       NameStatus::Ok,
       0},
  };
  for (const Case& c : cases) {
    ReverseNames reverse = reverse_names(c.answer);
    EXPECT_EQ(reverse.names, c.names);
    EXPECT_EQ(reverse.status, c.status);
    EXPECT_EQ(reverse.warnings.size(), c.warnings);
  }
  EXPECT_EQ(reverse_names(ptr(DnsStatus::Ok, {"1.2.3.4"})).warnings.at(0),
            "numeric hostname: 1.2.3.4");
}

TEST(ClientName, ForwardFamilies) {
  EXPECT_EQ(forward_families("192.0.2.1"), outbound::Families::Ipv4);
  EXPECT_EQ(forward_families("2001:db8::1"), outbound::Families::Ipv6);
}

TEST(ClientName, Decision) {
  struct Case {
    const char* what;
    const char* address;
    DnsAnswer<std::string> ptr_answer;
    std::vector<DnsAnswer<HostAddress>> forward;
    const char* name;
    NameStatus name_status;
    const char* reverse_name;
    NameStatus reverse_status;
    std::vector<std::string> warnings;
  } cases[] = {
      {"forward-confirmed",
       "192.0.2.1",
       ptr(DnsStatus::Ok, {"mail.example.com"}),
       {addresses(DnsStatus::Ok, {"192.0.2.9", "192.0.2.1"})},
       "mail.example.com",
       NameStatus::Ok,
       "mail.example.com",
       NameStatus::Ok,
       {}},
      {"IPv6, compared as addresses, not as text",
       "2001:db8::1",
       ptr(DnsStatus::Ok, {"six.example"}),
       {addresses(DnsStatus::Ok, {"2001:0db8:0:0::1"})},
       "six.example",
       NameStatus::Ok,
       "six.example",
       NameStatus::Ok,
       {}},
      {"the forward lookup does not list the address (forged)",
       "192.0.2.1",
       ptr(DnsStatus::Ok, {"forged.example"}),
       {addresses(DnsStatus::Ok, {"192.0.2.2"})},
       "unknown",
       NameStatus::NotFound,
       "forged.example",
       NameStatus::Ok,
       {"hostname forged.example does not resolve to address 192.0.2.1"}},
      {"the name has no address",
       "192.0.2.1",
       ptr(DnsStatus::Ok, {"gone.example"}),
       {addresses(DnsStatus::NotFound, {}, "Host not found")},
       "unknown",
       NameStatus::NotFound,
       "gone.example",
       NameStatus::Ok,
       {"hostname gone.example does not resolve to address 192.0.2.1: Host not found"}},
      {"the forward lookup fails temporarily",
       "192.0.2.1",
       ptr(DnsStatus::Ok, {"slow.example"}),
       {addresses(DnsStatus::TempFail, {}, "Host not found, try again (timeout)")},
       "unknown",
       NameStatus::TempFail,
       "slow.example",
       NameStatus::Ok,
       {"hostname slow.example does not resolve to address 192.0.2.1: Host not found, try "
        "again (timeout)"}},
      {"the second PTR name confirms",
       "192.0.2.1",
       ptr(DnsStatus::Ok, {"first.example", "second.example"}),
       {addresses(DnsStatus::Ok, {"192.0.2.7"}), addresses(DnsStatus::Ok, {"192.0.2.1"})},
       "second.example",
       NameStatus::Ok,
       "first.example",
       NameStatus::Ok,
       {"hostname first.example does not resolve to address 192.0.2.1"}},
      {"one name forged, the other's lookup failed temporarily",
       "192.0.2.1",
       ptr(DnsStatus::Ok, {"first.example", "second.example"}),
       {addresses(DnsStatus::Ok, {"192.0.2.7"}), addresses(DnsStatus::TempFail, {}, "t")},
       "unknown",
       NameStatus::TempFail,
       "first.example",
       NameStatus::Ok,
       {"hostname first.example does not resolve to address 192.0.2.1",
        "hostname second.example does not resolve to address 192.0.2.1: t"}},
      {"a forward answer missing counts as temporary",
       "192.0.2.1",
       ptr(DnsStatus::Ok, {"a.example"}),
       {},
       "unknown",
       NameStatus::TempFail,
       "a.example",
       NameStatus::Ok,
       {"hostname a.example does not resolve to address 192.0.2.1: not looked up"}},
      {"no PTR record",
       "192.0.2.1",
       ptr(DnsStatus::NotFound, {}, "Host not found"),
       {},
       "unknown",
       NameStatus::NotFound,
       "unknown",
       NameStatus::NotFound,
       {}},
      {"the PTR lookup fails temporarily",
       "192.0.2.1",
       ptr(DnsStatus::TempFail, {}, "Host not found, try again"),
       {},
       "unknown",
       NameStatus::TempFail,
       "unknown",
       NameStatus::TempFail,
       {}},
      {"a numeric PTR name is refused, even one that resolves to the address",
       "192.0.2.1",
       ptr(DnsStatus::Ok, {"192.0.2.1"}),
       {},
       "unknown",
       NameStatus::NotFound,
       "unknown",
       NameStatus::NotFound,
       {"numeric hostname: 192.0.2.1"}},
      {"an invalid PTR name",
       "192.0.2.1",
       ptr(DnsStatus::Ok, {"bad..name"}),
       {},
       "unknown",
       NameStatus::NotFound,
       "unknown",
       NameStatus::NotFound,
       {"valid_hostname: misplaced delimiter: bad..name"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    ReverseNames reverse = reverse_names(c.ptr_answer);
    ClientNames names = client_names(c.address, reverse, c.forward);
    EXPECT_EQ(names.name, c.name);
    EXPECT_EQ(names.name_status, c.name_status);
    EXPECT_EQ(names.reverse_name, c.reverse_name);
    EXPECT_EQ(names.reverse_name_status, c.reverse_status);
    EXPECT_EQ(names.warnings, c.warnings);
  }
}

}  // namespace
}  // namespace estafeta::policy
