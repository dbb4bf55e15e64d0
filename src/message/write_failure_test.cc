// The errno -> reply / status mappings for failed writes (write_failure.h), table-driven.
#include "message/write_failure.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace estafeta::message {
namespace {

std::string text_of(const WriteFailure& f) {
  return std::to_string(f.reply_code) + " " + std::string(f.dsn) + " " + std::string(f.text);
}

TEST(WriteFailure, Queue) {
  const struct {
    int error_code;
    const char* want;
  } cases[] = {
      {ENOSPC, "452 4.3.1 Insufficient system storage"},
      {EDQUOT, "452 4.3.1 Insufficient system storage"},
      {EACCES, "451 4.3.0 Error: queue file write error"},
      {EPERM, "451 4.3.0 Error: queue file write error"},
      {EIO, "451 4.3.0 Error: queue file write error"},
      {EFBIG, "451 4.3.0 Error: queue file write error"},
      {EEXIST, "451 4.3.0 Error: queue file write error"},
      {0, "451 4.3.0 Error: queue file write error"},  // no system call involved
  };
  for (const auto& c : cases) {
    EXPECT_EQ(text_of(queue_write_failure(c.error_code)), c.want) << "errno " << c.error_code;
  }
}

TEST(WriteFailure, Mailbox) {
  const struct {
    int error_code;
    const char* want;
  } cases[] = {
      {EDQUOT, "452 4.2.2 mailbox full"},
      {EFBIG, "452 4.2.2 mailbox full"},
      {ENOSPC, "452 4.3.1 insufficient system storage"},
      {EACCES, "451 4.2.0 mailbox write error"},
      {EIO, "451 4.2.0 mailbox write error"},
      {0, "451 4.2.0 mailbox write error"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(text_of(mailbox_write_failure(c.error_code)), c.want) << "errno " << c.error_code;
  }
}

// Every mapping is a temporary failure: the client (or the queue) tries again later.
TEST(WriteFailure, AlwaysTemporary) {
  for (int code = 0; code < 200; ++code) {
    for (const WriteFailure& f : {queue_write_failure(code), mailbox_write_failure(code)}) {
      EXPECT_EQ(f.reply_code / 100, 4);
      EXPECT_EQ(f.dsn.substr(0, 2), "4.");
    }
  }
}

static_assert(queue_write_failure(ENOSPC).reply_code == 452, "usable in constant expressions");

}  // namespace
}  // namespace estafeta::message
