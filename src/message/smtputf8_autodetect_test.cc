// Tests for smtputf8_autodetect_classes (message/smtputf8_autodetect.h).
#include "message/smtputf8_autodetect.h"

#include <gtest/gtest.h>

namespace estafeta::message {
namespace {

Envelope envelope(std::string sender, std::string recipient) {
  Envelope e;
  e.sender = std::move(sender);
  e.recipients.push_back({std::move(recipient), "", ""});
  return e;
}

TEST(Smtputf8AutodetectTest, DefaultClassesAreSendmailAndVerify) {
  const auto d = Smtputf8Autodetect::parse(true, "sendmail, verify");
  EXPECT_TRUE(d.applies_to(MailOrigin::kSendmail));
  EXPECT_TRUE(d.applies_to(MailOrigin::kVerify));
  EXPECT_FALSE(d.applies_to(MailOrigin::kSmtpd));
  EXPECT_FALSE(d.applies_to(MailOrigin::kForward));
  EXPECT_FALSE(d.applies_to(MailOrigin::kBounce));
  EXPECT_FALSE(d.applies_to(MailOrigin::kNotify));
  EXPECT_FALSE(d.applies_to(MailOrigin::kQmqpd));
}

TEST(Smtputf8AutodetectTest, AllAndSeparators) {
  const auto d = Smtputf8Autodetect::parse(true, "all");
  for (MailOrigin o :
       {MailOrigin::kSendmail, MailOrigin::kSmtpd, MailOrigin::kQmqpd, MailOrigin::kForward,
        MailOrigin::kBounce, MailOrigin::kNotify, MailOrigin::kVerify}) {
    EXPECT_TRUE(d.applies_to(o));
  }
  const auto e = Smtputf8Autodetect::parse(true, "smtpd,\tforward bounce");
  EXPECT_TRUE(e.applies_to(MailOrigin::kSmtpd));
  EXPECT_TRUE(e.applies_to(MailOrigin::kForward));
  EXPECT_TRUE(e.applies_to(MailOrigin::kBounce));
  EXPECT_FALSE(e.applies_to(MailOrigin::kSendmail));
  EXPECT_FALSE(Smtputf8Autodetect::parse(true, "").applies_to(MailOrigin::kSendmail));
}

TEST(Smtputf8AutodetectTest, DisabledBySmtputf8Enable) {
  const auto d = Smtputf8Autodetect::parse(false, "all");
  EXPECT_FALSE(d.applies_to(MailOrigin::kSendmail));
  EXPECT_FALSE(
      d.requests_smtputf8(MailOrigin::kSendmail, envelope("j\xc3\xb6rg@x.example", "a@b")));
}

TEST(Smtputf8AutodetectTest, AddressesOrHeadersWithUtf8) {
  const auto d = Smtputf8Autodetect::parse(true, "sendmail");
  const Envelope ascii = envelope("a@example.org", "b@example.org");
  EXPECT_FALSE(d.requests_smtputf8(MailOrigin::kSendmail, ascii, "Subject: hi\r\n\r\nbody\r\n"));
  EXPECT_TRUE(d.requests_smtputf8(MailOrigin::kSendmail, envelope("j\xc3\xb6rg@x.example", "b@x")));
  EXPECT_TRUE(
      d.requests_smtputf8(MailOrigin::kSendmail, envelope("a@x", "b@\xc3\xa9t\xc3\xa9.fr")));
  EXPECT_TRUE(
      d.requests_smtputf8(MailOrigin::kSendmail, ascii, "Subject: caf\xc3\xa9\r\n\r\nbody\r\n"));
  // Folded continuation lines belong to the header section.
  EXPECT_TRUE(
      d.requests_smtputf8(MailOrigin::kSendmail, ascii, "Subject: a\n b\xc3\xa9\nTo: x\n\nbody\n"));
  // 8-bit text in the body does not count.
  EXPECT_FALSE(
      d.requests_smtputf8(MailOrigin::kSendmail, ascii, "Subject: hi\r\n\r\ncaf\xc3\xa9\r\n"));
  EXPECT_FALSE(d.requests_smtputf8(MailOrigin::kSendmail, ascii, "\r\ncaf\xc3\xa9\r\n"));
  // Another origin is not examined.
  EXPECT_FALSE(
      d.requests_smtputf8(MailOrigin::kSmtpd, ascii, "Subject: caf\xc3\xa9\r\n\r\nbody\r\n"));
}

TEST(Smtputf8AutodetectTest, HeaderSectionWithoutBody) {
  EXPECT_TRUE(has_8bit_header("Subject: caf\xc3\xa9"));
  EXPECT_FALSE(has_8bit_header(""));
  EXPECT_FALSE(has_8bit_header("Subject: x\r\n\r\n\xc3\xa9"));
}

}  // namespace
}  // namespace estafeta::message
