// Tests of strict base64 (RFC 4648 §10 vectors, and what a server must refuse).
#include "sasl/base64.h"

#include <gtest/gtest.h>

namespace estafeta::sasl {
namespace {

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), std::optional<std::string>(plain)) << encoded;
  }
}

TEST(Base64, BinaryRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += 7) {
    const std::string part = all.substr(0, n);
    EXPECT_EQ(base64_decode(base64_encode(part)), std::optional<std::string>(part));
  }
  EXPECT_EQ(base64_encode(std::string("\0alice\0secret", 13)), "AGFsaWNlAHNlY3JldA==");
}

TEST(Base64, RefusesWhatIsNotStrict) {
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zm9v YmFy", "Zm9v\r\n", "Zm=v", "====",
                          "Zh==", "Zm9=", "!!!!", "*"}) {
    EXPECT_FALSE(base64_decode(bad)) << bad;
    EXPECT_FALSE(is_base64(bad)) << bad;
  }
  EXPECT_TRUE(is_base64(""));
  EXPECT_TRUE(is_base64("VXNlcm5hbWU6"));
}

}  // namespace
}  // namespace estafeta::sasl
