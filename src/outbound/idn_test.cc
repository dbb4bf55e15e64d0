// Tests for outbound/idn.h: A-labels and the SMTPUTF8 decision for a server.
#include "outbound/idn.h"

#include <gtest/gtest.h>

namespace estafeta::outbound {
namespace {

TEST(DomainToAscii, ULabelsBecomeALabels) {
  EXPECT_EQ(domain_to_ascii("b\xC3\xBC"
                            "cher.example")
                .value(),
            "xn--bcher-kva.example");
  EXPECT_EQ(
      domain_to_ascii("\xE4\xBE\x8B\xE3\x81\x88.\xE3\x83\x86\xE3\x82\xB9\xE3\x83\x88").value(),
      "xn--r8jz45g.xn--zckzah");
  // Nontransitional (IDNA2008): sharp s stays a letter, it is not mapped to "ss".
  EXPECT_EQ(domain_to_ascii("fa\xC3\x9F.de").value(), "xn--fa-hia.de");
  // UTS #46 mapping lower-cases the U-label domain.
  EXPECT_EQ(domain_to_ascii("B\xC3\x9C"
                            "CHER.example")
                .value(),
            "xn--bcher-kva.example");
}

TEST(DomainToAscii, AsciiIsUnchangedAndBadInputFails) {
  EXPECT_EQ(domain_to_ascii("Mail.Example.ORG").value(), "Mail.Example.ORG");
  EXPECT_FALSE(domain_to_ascii("bad\xFF.example").ok());  // not UTF-8
  EXPECT_EQ(address_to_ascii("jos\xC3\xA9@b\xC3\xBC"
                             "cher.example")
                .value(),
            "jos\xC3\xA9@xn--bcher-kva.example");
  EXPECT_EQ(address_to_ascii("postmaster").value(), "postmaster");
}

const std::string kUtf8Domain =
    "info@b\xC3\xBC"
    "cher.example";
const std::string kUtf8Local = "jos\xC3\xA9@example.org";

TEST(DecideSmtputf8, PeerWithSmtputf8GetsEverythingAsIs) {
  EXPECT_EQ(decide_smtputf8(true, true, kUtf8Local, {kUtf8Domain}).action, Utf8Action::kSendAsIs);
  EXPECT_EQ(decide_smtputf8(true, false, kUtf8Local, {}).action, Utf8Action::kSendAsIs);
}

TEST(DecideSmtputf8, AsciiMessageGoesAsIs) {
  EXPECT_EQ(decide_smtputf8(false, false, "a@example.org", {"b@example.net"}).action,
            Utf8Action::kSendAsIs);
  EXPECT_EQ(decide_smtputf8(false, false, "", {"b@example.net"}).action, Utf8Action::kSendAsIs);
}

TEST(DecideSmtputf8, OnlyDomainsNonAsciiAreConverted) {
  const Utf8Decision d =
      decide_smtputf8(false, false, "a@\xC3\xA9t\xC3\xA9.example", {"x@example.net", kUtf8Domain});
  ASSERT_EQ(d.action, Utf8Action::kAsciiDomains);
  EXPECT_EQ(d.sender, "a@xn--t-9fab.example");
  EXPECT_EQ(d.recipients,
            (std::vector<std::string>{"x@example.net", "info@xn--bcher-kva.example"}));
}

TEST(DecideSmtputf8, Utf8LocalPartsRequestsAndBadDomainsAreRefused) {
  EXPECT_EQ(decide_smtputf8(false, false, kUtf8Local, {"b@example.net"}).action,
            Utf8Action::kRefuse);
  EXPECT_EQ(decide_smtputf8(false, false, "a@example.org", {"b@example.net", kUtf8Local}).action,
            Utf8Action::kRefuse);
  // The envelope asked for SMTPUTF8 (the headers may need it): refused even if ASCII.
  EXPECT_EQ(decide_smtputf8(false, true, "a@example.org", {"b@example.net"}).action,
            Utf8Action::kRefuse);
  EXPECT_EQ(decide_smtputf8(false, true, "a@example.org", {kUtf8Domain}).action,
            Utf8Action::kRefuse);
  EXPECT_EQ(decide_smtputf8(false, false, "a@example.org", {"b@bad\xFF.example"}).action,
            Utf8Action::kRefuse);
}

}  // namespace
}  // namespace estafeta::outbound
