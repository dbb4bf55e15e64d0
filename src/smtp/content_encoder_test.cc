// ContentEncoder: table of content -> wire bytes, each fed at every fragment size.
#include "smtp/content_encoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace estafeta::smtp {
namespace {

std::string encode(const std::string& input, size_t fragment) {
  ContentEncoder e;
  std::string out;
  for (size_t pos = 0; pos < input.size(); pos += fragment) {
    out += e.encode(std::string_view(input).substr(pos, fragment));
  }
  EXPECT_EQ(e.content_octets(), input.size());
  return out + e.finish();
}

TEST(ContentEncoder, Table) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ".\r\n"},
      {"a\r\n", "a\r\n.\r\n"},
      {"a\n", "a\r\n.\r\n"},
      {"a", "a\r\n.\r\n"},
      {"a\nb", "a\r\nb\r\n.\r\n"},
      {".\n", "..\r\n.\r\n"},
      {"..x\r\n", "...x\r\n.\r\n"},
      {"a\n.\nb.\n", "a\r\n..\r\nb.\r\n.\r\n"},
      {".", "..\r\n.\r\n"},
      {"\n\n", "\r\n\r\n.\r\n"},
      {"a\rb\n", "a\r\nb\r\n.\r\n"},     // bare CR ends a line
      {"a\r.b\n", "a\r\n..b\r\n.\r\n"},  // ... and the dot after it is stuffed
      {"a\r", "a\r\n.\r\n"},
      {"a\r\r\n", "a\r\n\r\n.\r\n"},
      {"x\r\n.\r\n", "x\r\n..\r\n.\r\n"},
      {"Subject: \xc3\xa9\n\n8bit \xff\n", "Subject: \xc3\xa9\r\n\r\n8bit \xff\r\n.\r\n"},
  };
  for (const auto& [input, expected] : cases) {
    for (size_t f = 1; f <= std::max<size_t>(1, input.size()); ++f) {
      EXPECT_EQ(encode(input, f), expected) << "input: " << input << " fragment " << f;
    }
  }
}

TEST(ContentEncoder, LongLinesPassThrough) {
  std::string line(5000, 'x');
  EXPECT_EQ(encode(line + "\n", 7), line + "\r\n.\r\n");
}

TEST(ContentEncoder, ReusableAfterFinish) {
  ContentEncoder e;
  EXPECT_EQ(e.encode("a"), "a");
  EXPECT_EQ(e.finish(), "\r\n.\r\n");
  EXPECT_EQ(e.encode(".b\n"), "..b\r\n");
  EXPECT_EQ(e.finish(), ".\r\n");
}

}  // namespace
}  // namespace estafeta::smtp
