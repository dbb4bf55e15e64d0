// Tests for the DRAC grant keys, stored text and expiry (policy/drac.h).
#include "policy/drac.h"

#include <gtest/gtest.h>

namespace estafeta::policy {
namespace {

using std::chrono::seconds;

TEST(DracAddressKey, CanonicalNumericAddresses) {
  EXPECT_EQ(*drac_address_key("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(*drac_address_key("2001:DB8:0:0::1"), "2001:db8::1");
  EXPECT_EQ(*drac_address_key("::ffff:127.0.0.2"), "127.0.0.2");
}

TEST(DracAddressKey, RefusesWhatIsNotAnAddress) {
  for (const char* bad : {"", "example.com", "[192.0.2.1]", "192.0.2.0/24", "../etc/passwd",
                          "192.0.2.1 ", "fe80::1%eth0", "1.2.3"}) {
    EXPECT_FALSE(drac_address_key(bad).ok()) << bad;
  }
}

TEST(DracGrantText, RoundTrips) {
  DracTime t{seconds(1700000000)};
  EXPECT_EQ(format_drac_grant(t), "1700000000\n");
  EXPECT_EQ(parse_drac_grant("1700000000\n"), t);
  EXPECT_EQ(parse_drac_grant("1700000000"), t);
  EXPECT_FALSE(parse_drac_grant(""));
  EXPECT_FALSE(parse_drac_grant("12x"));
  EXPECT_FALSE(parse_drac_grant("-5"));
  EXPECT_FALSE(parse_drac_grant("99999999999999999999999"));
  EXPECT_FALSE(parse_drac_grant("9000000001"));  // would overflow the time point
  EXPECT_TRUE(parse_drac_grant("9000000000"));
}

TEST(DracGrantActive, ExpiresAfterTheTimeout) {
  DracTime granted{seconds(1000)};
  EXPECT_TRUE(drac_grant_active(granted, granted, seconds(1800)));
  EXPECT_TRUE(drac_grant_active(granted, granted + seconds(1799), seconds(1800)));
  EXPECT_FALSE(drac_grant_active(granted, granted + seconds(1800), seconds(1800)));
  EXPECT_FALSE(drac_grant_active(granted, granted + seconds(99999), seconds(1800)));
}

TEST(DracGrantActive, AFutureStampCountsAsNow) {
  DracTime now{seconds(1000)};
  EXPECT_TRUE(drac_grant_active(now + seconds(5000), now, seconds(60)));
}

}  // namespace
}  // namespace estafeta::policy
