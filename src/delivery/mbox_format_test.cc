// mbox formatting: the From_ line and From-quoting (table-driven).
#include "delivery/mbox_format.h"

#include <gtest/gtest.h>

namespace estafeta::delivery {
namespace {

TEST(MboxFormat, FromLineAsAsctime) {
  std::tm t{};
  t.tm_year = 86;
  t.tm_mon = 10;
  t.tm_mday = 4;
  t.tm_wday = 2;
  t.tm_hour = 8;
  t.tm_min = 2;
  t.tm_sec = 9;
  EXPECT_EQ(mbox_from_line("a@b.example", t), "From a@b.example Tue Nov  4 08:02:09 1986\n");
  t.tm_mday = 24;
  EXPECT_EQ(mbox_from_line("", t), "From MAILER-DAEMON Tue Nov 24 08:02:09 1986\n");
  // The same bytes as asctime(3) (C locale) for any date.
  const time_t when = 1700000000;
  std::tm utc{};
  gmtime_r(&when, &utc);
  char buf[64];
  asctime_r(&utc, buf);
  EXPECT_EQ(mbox_from_line("x", utc), std::string("From x ") + buf);
}

TEST(MboxFormat, QuotesFromLinesAndEndsWithEmptyLine) {
  const struct {
    const char* message;
    const char* mbox;
  } cases[] = {
      {"", "\n"},
      {"a\n", "a\n\n"},
      {"a", "a\n\n"},  // a missing final newline is added
      {"From x\n", ">From x\n\n"},
      {"Subject: s\n\nFrom me\nfrom you\n>From them\n From us\nFrom\nFrom ",
       "Subject: s\n\n>From me\nfrom you\n>From them\n From us\nFrom\n>From \n\n"},
      {"\n\nFrom a\n", "\n\n>From a\n\n"},
  };
  for (const auto& c : cases) {
    std::string out = "X";
    append_mbox_body(out, c.message);
    EXPECT_EQ(out, std::string("X") + c.mbox) << c.message;
  }
}

}  // namespace
}  // namespace estafeta::delivery
