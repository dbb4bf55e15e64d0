// Tests for the smtp_sasl_* settings: security option words, password map keys, values.
#include "outbound/sasl_settings.h"

#include <gtest/gtest.h>

namespace estafeta::outbound {
namespace {

TEST(SaslSettings, SecurityOptions) {
  struct Case {
    const char* value;
    bool plaintext;
    std::vector<std::string> unknown;
  } cases[] = {
      {"noplaintext, noanonymous", false, {}},
      {"noanonymous", true, {}},
      {"", true, {}},
      {"NOACTIVE", false, {}},
      {"nodictionary", false, {}},
      {"mutual_auth", false, {}},
      {"noanonymous forward_secrecy,bogus", true, {"forward_secrecy", "bogus"}},
  };
  for (const Case& c : cases) {
    const SaslSecurityOptions o = parse_sasl_security_options(c.value);
    EXPECT_EQ(o.plaintext_allowed, c.plaintext) << c.value;
    EXPECT_EQ(o.unknown, c.unknown) << c.value;
  }
}

TEST(SaslSettings, PasswordKeys) {
  using Keys = std::vector<std::string>;
  EXPECT_EQ(sasl_password_keys("[smtp.example]:587", "smtp.example"),
            (Keys{"[smtp.example]:587", "[smtp.example]", "smtp.example"}));
  EXPECT_EQ(sasl_password_keys("[smtp.example]", "smtp.example"),
            (Keys{"[smtp.example]", "smtp.example"}));
  EXPECT_EQ(sasl_password_keys("example.com", "mx1.example.com"),
            (Keys{"example.com", "mx1.example.com"}));
  EXPECT_EQ(sasl_password_keys("example.com:2525", "EXAMPLE.com"),
            (Keys{"example.com:2525", "example.com"}));
  EXPECT_EQ(sasl_password_keys("[ipv6:2001:db8::1]:25", ""),
            (Keys{"[ipv6:2001:db8::1]:25", "[ipv6:2001:db8::1]"}));
  EXPECT_EQ(sasl_password_keys("[ipv6:2001:db8::1]", ""), (Keys{"[ipv6:2001:db8::1]"}));
}

TEST(SaslSettings, Credentials) {
  SaslCredentials c = parse_sasl_credentials("user@example.com:pa:ss");
  EXPECT_EQ(c.username, "user@example.com");
  EXPECT_EQ(c.password, "pa:ss");
  c = parse_sasl_credentials("alone");
  EXPECT_EQ(c.username, "alone");
  EXPECT_EQ(c.password, "");
}

}  // namespace
}  // namespace estafeta::outbound
