// Table-driven tests of recipient_delimiter splitting (Postfix split_addr rules).
#include "address/extension.h"

#include <gtest/gtest.h>

#include <string>

namespace estafeta::address {
namespace {

struct SplitCase {
  std::string local_part;
  std::string delimiters;
  std::string user;
  std::string extension;
  char delimiter;
};

TEST(SplitExtension, Table) {
  const SplitCase cases[] = {
      {"user+ext", "+", "user", "ext", '+'},
      {"user+ext+more", "+", "user", "ext+more", '+'},
      {"user", "+", "user", "", 0},
      {"user+ext", "", "user+ext", "", 0},
      // Several delimiters: the first one found in the local part splits it.
      {"user-ext+x", "+-", "user", "ext+x", '-'},
      {"user+ext-x", "-+", "user", "ext-x", '+'},
      {"user=ext", "+=", "user", "ext", '='},
      // A trailing delimiter splits with an empty extension; a leading one does not split.
      {"user+", "+", "user", "", '+'},
      {"+ext", "+", "+ext", "", 0},
      {"", "+", "", "", 0},
      // Reserved names, any case.
      {"postmaster", "+-", "postmaster", "", 0},
      {"MAILER-DAEMON", "-", "MAILER-DAEMON", "", 0},
      {"double-bounce", "-", "double-bounce", "", 0},
      // owner-NAME and NAME-request are kept whole only when '-' is a delimiter.
      {"owner-list", "-", "owner-list", "", 0},
      {"Owner-list", "+-", "Owner-list", "", 0},
      {"list-request", "-", "list-request", "", 0},
      {"list-REQUEST", "-", "list-REQUEST", "", 0},
      {"owner-list+x", "+", "owner-list", "x", '+'},
      {"list-request+x", "+", "list-request", "x", '+'},
      {"-request", "-", "-request", "", 0},  // no user before it: not split either way
      {"a-request-b", "-", "a", "request-b", '-'},
  };
  for (const SplitCase& c : cases) {
    SCOPED_TRACE(c.local_part + " / " + c.delimiters);
    SplitLocalPart s = split_extension(c.local_part, c.delimiters);
    EXPECT_EQ(s.user, c.user);
    EXPECT_EQ(s.extension, c.extension);
    EXPECT_EQ(s.delimiter, c.delimiter);
  }
}

TEST(SplitExtension, ViewsPointIntoTheInput) {
  const std::string local = "ann+box";
  SplitLocalPart s = split_extension(local, "+");
  EXPECT_EQ(s.user.data(), local.data());
  EXPECT_EQ(s.extension.data(), local.data() + 4);
}

}  // namespace
}  // namespace estafeta::address
