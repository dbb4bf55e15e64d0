// Tests for the maildrop file codec: round trip, and every way a file is refused whole.
#include "submit/drop_file.h"

#include <gtest/gtest.h>

#include "queue/record.h"

namespace estafeta::submit {
namespace {

DropRequest sample() {
  DropRequest r;
  r.sender = "root@example.org";
  r.full_name = "Cron Daemon";
  r.extract_recipients = true;
  r.recipients = {"alice", "bob@example.org"};
  r.notify = "never";
  r.ret = "hdrs";
  r.envid = "abc";
  r.body_type = "8BITMIME";
  r.content = "Subject: x\n\nbody\n";
  return r;
}

TEST(DropFile, RoundTrip) {
  auto parsed = parse_drop_file(encode_drop_file(sample()));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const DropRequest& r = *parsed;
  EXPECT_EQ(r.sender, std::optional<std::string>("root@example.org"));
  EXPECT_EQ(r.full_name, "Cron Daemon");
  EXPECT_TRUE(r.extract_recipients);
  EXPECT_EQ(r.recipients, (std::vector<std::string>{"alice", "bob@example.org"}));
  EXPECT_EQ(r.notify, "never");
  EXPECT_EQ(r.ret, "hdrs");
  EXPECT_EQ(r.envid, "abc");
  EXPECT_EQ(r.body_type, "8BITMIME");
  EXPECT_EQ(r.content, "Subject: x\n\nbody\n");
}

TEST(DropFile, NoSenderAndEmptySenderDiffer) {
  DropRequest r;
  r.recipients = {"a"};
  auto none = parse_drop_file(encode_drop_file(r));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->sender.has_value());
  r.sender = "";
  auto null_sender = parse_drop_file(encode_drop_file(r));
  ASSERT_TRUE(null_sender.ok());
  EXPECT_EQ(null_sender->sender, std::optional<std::string>(""));
}

TEST(DropFile, LargeContentSpansRecords) {
  DropRequest r;
  r.recipients = {"a"};
  r.content.assign(queue::kMaxRecordPayload * 2 + 17, 'x');
  auto parsed = parse_drop_file(encode_drop_file(r));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->content.size(), r.content.size());
}

TEST(DropFile, RefusesTruncatedForeignAndOddFiles) {
  const std::string good = encode_drop_file(sample());
  for (size_t cut = 0; cut < good.size(); ++cut) {
    EXPECT_FALSE(parse_drop_file(std::string_view(good).substr(0, cut)).ok()) << cut;
  }
  EXPECT_FALSE(parse_drop_file(good + "x").ok());
  EXPECT_FALSE(parse_drop_file("From alice\n").ok());
  std::string version2;
  queue::put_record(version2, 'V', "2");
  queue::put_record(version2, 'Z', "0");
  EXPECT_FALSE(parse_drop_file(version2).ok());
  std::string twice;
  queue::put_record(twice, 'V', "1");
  queue::put_record(twice, 'S', "a");
  queue::put_record(twice, 'S', "b");
  queue::put_record(twice, 'Z', "0");
  EXPECT_FALSE(parse_drop_file(twice).ok());
  std::string after_content;
  queue::put_record(after_content, 'V', "1");
  queue::put_record(after_content, 'C', "x");
  queue::put_record(after_content, 'R', "a");
  queue::put_record(after_content, 'Z', "1");
  EXPECT_FALSE(parse_drop_file(after_content).ok());
  std::string wrong_size;
  queue::put_record(wrong_size, 'V', "1");
  queue::put_record(wrong_size, 'C', "xy");
  queue::put_record(wrong_size, 'Z', "1");
  EXPECT_FALSE(parse_drop_file(wrong_size).ok());
  std::string unknown;
  queue::put_record(unknown, 'V', "1");
  queue::put_record(unknown, 'U', "0");
  queue::put_record(unknown, 'Z', "0");
  EXPECT_FALSE(parse_drop_file(unknown).ok());
}

}  // namespace
}  // namespace estafeta::submit
