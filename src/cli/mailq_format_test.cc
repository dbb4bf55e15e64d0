// Tests for the queue tools' text formats: mailq lines column by column (Postfix's
// showq_compat.c widths), the reason lines, the summary arithmetic, the arrival time against
// the C library's asctime, JSON escaping and postqueue -j objects, and the helpers of
// `queue show` and `queue flush -s`.
#include "cli/mailq_format.h"

#include <gtest/gtest.h>

#include <ctime>
#include <string>

namespace estafeta::cli {
namespace {

// 2020-12-03 10:00:00, a Thursday.
std::tm thursday() {
  std::tm t{};
  t.tm_year = 120;
  t.tm_mon = 11;
  t.tm_mday = 3;
  t.tm_hour = 10;
  t.tm_wday = 4;
  return t;
}

const std::string kId = "0005F1A2B3C4D5E6F7";
const std::string kRecipientIndent(41, ' ');  // "%-11s %7s %-20s " of empty strings

ListedMessage deferred_message() {
  ListedMessage m;
  m.queue_name = "deferred";
  m.queue_id = kId;
  m.arrival_time = 1606989600;
  m.arrival_local = thursday();
  m.size = 337;
  m.sender = "alice@example.org";
  m.recipients = {{"bob@remote.example", "mail transport unavailable"}};
  return m;
}

TEST(ArrivalTime, MatchesAsctime) {
  EXPECT_EQ(arrival_time_text(thursday()), "Thu Dec  3 10:00:00");
  EXPECT_EQ(asctime_text(thursday()), "Thu Dec  3 10:00:00 2020");
  // The C library is the reference: asctime() of many instants, first 19 characters.
  for (std::time_t t :
       {std::time_t{0}, std::time_t{951782400}, std::time_t{1606989600}, std::time_t{1700000000},
        std::time_t{2147483647}, std::time_t{4102444799}}) {
    std::tm broken{};
    ASSERT_NE(::gmtime_r(&t, &broken), nullptr);
    char buffer[64];
    ASSERT_NE(::asctime_r(&broken, buffer), nullptr);
    std::string expected(buffer);
    expected.pop_back();  // the newline
    EXPECT_EQ(asctime_text(broken), expected) << t;
    EXPECT_EQ(arrival_time_text(broken), expected.substr(0, 19)) << t;
  }
}

TEST(Mailq, Heading) {
  EXPECT_EQ(mailq_heading(),
            "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n");
}

TEST(Mailq, DeferredMessageWithReason) {
  const std::string reason = "mail transport unavailable";
  // id, status ' ', space, size in 7 columns, space, arrival (19 + 1 pad), space, sender.
  const std::string expected = kId + "      337 Thu Dec  3 10:00:00  alice@example.org\n" +
                               std::string(76 - reason.size(), ' ') + "(" + reason + ")\n" +
                               kRecipientIndent + "bob@remote.example\n";
  EXPECT_EQ(mailq_block(deferred_message()), expected);
}

TEST(Mailq, StatusMarksAndNullSender) {
  struct Case {
    const char* queue;
    char mark;
  };
  for (const Case& c : {Case{"active", '*'}, Case{"hold", '!'}, Case{"deferred", ' '}}) {
    ListedMessage m = deferred_message();
    m.queue_name = c.queue;
    m.sender = "";
    m.recipients = {{"bob@remote.example", ""}};
    EXPECT_EQ(mailq_block(m), kId + c.mark + "     337 Thu Dec  3 10:00:00  MAILER-DAEMON\n" +
                                  kRecipientIndent + "bob@remote.example\n")
        << c.queue;
  }
}

TEST(Mailq, ReasonLinesOnlyWhenTheReasonChanges) {
  ListedMessage m = deferred_message();
  const std::string long_reason(90, 'x');  // longer than 76: no padding at all
  m.recipients = {{"a@remote.example", "same"},
                  {"b@remote.example", "same"},
                  {"c@remote.example", long_reason},
                  {"d@remote.example", ""}};
  const std::string expected = kId + "      337 Thu Dec  3 10:00:00  alice@example.org\n" +
                               std::string(72, ' ') + "(same)\n" + kRecipientIndent +
                               "a@remote.example\n" + kRecipientIndent + "b@remote.example\n" +
                               "(" + long_reason + ")\n" + kRecipientIndent + "c@remote.example\n" +
                               std::string(76 - 18, ' ') + "(reason unavailable)\n" +
                               kRecipientIndent + "d@remote.example\n";
  EXPECT_EQ(mailq_block(m), expected);
}

TEST(Mailq, LargeSizeWidensTheColumn) {
  ListedMessage m = deferred_message();
  m.size = 123456789;
  m.recipients.clear();
  EXPECT_EQ(mailq_block(m), kId + "  123456789 Thu Dec  3 10:00:00  alice@example.org\n");
}

TEST(Mailq, UnprintableAddressesAndReasons) {
  ListedMessage m = deferred_message();
  m.sender = "ev\x1b[31mil@example.org";
  m.recipients = {{"b\tob@remote.example", "said:\r\n 550 \xff"}};
  const std::string block = mailq_block(m);
  EXPECT_NE(block.find("ev?[31mil@example.org\n"), std::string::npos) << block;
  EXPECT_NE(block.find("(said:?? 550 ?)\n"), std::string::npos) << block;
  EXPECT_NE(block.find("b?ob@remote.example\n"), std::string::npos) << block;
}

TEST(Mailq, Summary) {
  struct Case {
    uint64_t bytes;
    size_t messages;
    const char* text;
  };
  const Case cases[] = {
      {0, 0, "Mail queue is empty\n"},
      {0, 1, "\n-- 0 Kbytes in 1 Request.\n"},
      {1023, 1, "\n-- 0 Kbytes in 1 Request.\n"},
      {1024, 2, "\n-- 1 Kbytes in 2 Requests.\n"},
      {2047, 3, "\n-- 1 Kbytes in 3 Requests.\n"},
      {2048, 3, "\n-- 2 Kbytes in 3 Requests.\n"},
      {100000ull * 1024 * 1024, 100000, "\n-- 102400000 Kbytes in 100000 Requests.\n"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(mailq_summary(c.bytes, c.messages), c.text) << c.bytes << " " << c.messages;
  }
}

TEST(Mailq, ListingSumsSizesAndSeparatesMessages) {
  MailqListing listing;
  EXPECT_EQ(listing.finish(), "Mail queue is empty\n");
  ListedMessage a = deferred_message();
  a.size = 600;
  ListedMessage b = deferred_message();
  b.size = 700;
  EXPECT_EQ(listing.add(a), mailq_heading() + mailq_block(a));
  EXPECT_EQ(listing.add(b), "\n" + mailq_block(b));
  EXPECT_EQ(listing.messages(), 2u);
  EXPECT_EQ(listing.finish(), "\n-- 1 Kbytes in 2 Requests.\n");  // 1300 / 1024
}

TEST(Json, Quote) {
  struct Case {
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {"plain@example.org", "plain@example.org"},
      {"a\"b", "a\\\"b"},
      {"a\\b", "a\\\\b"},
      {"a/b", "a/b"},
      {"\b\f\n\r\t", "\\b\\f\\n\\r\\t"},
      {std::string("\x00\x01\x1f", 3), "\\u0000\\u0001\\u001F"},
      {"\x7f", "\\u007F"},
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa8"},
      {"\xff", "?"},
      {"a\xc3", "a?"},               // truncated sequence
      {"\xc0\xaf", "??"},            // overlong '/'
      {"\xed\xa0\x80", "???"},       // surrogate
      {"\xf4\x90\x80\x80", "????"},  // above U+10FFFF
  };
  for (const Case& c : cases) EXPECT_EQ(json_quote(c.in), c.out) << c.in;
}

TEST(Json, Message) {
  ListedMessage m = deferred_message();
  m.recipients.push_back({"carol@remote.example", ""});
  EXPECT_EQ(mailq_json(m),
            "{\"queue_name\": \"deferred\", \"queue_id\": \"" + kId +
                "\", \"arrival_time\": 1606989600, \"message_size\": 337, \"sender\": "
                "\"alice@example.org\", \"recipients\": [{\"address\": \"bob@remote.example\", "
                "\"delay_reason\": \"mail transport unavailable\"}, {\"address\": "
                "\"carol@remote.example\"}]}\n");
  m.sender = "";
  m.recipients = {{"x\"y@remote.example", "line\r\nbreak"}};
  EXPECT_EQ(mailq_json(m),
            "{\"queue_name\": \"deferred\", \"queue_id\": \"" + kId +
                "\", \"arrival_time\": 1606989600, \"message_size\": 337, \"sender\": "
                "\"MAILER-DAEMON\", \"recipients\": [{\"address\": \"x\\\"y@remote.example\", "
                "\"delay_reason\": \"line\\r\\nbreak\"}]}\n");
}

TEST(Printable, KeepsUtf8ReplacesControls) {
  EXPECT_EQ(printable("ok text ~"), "ok text ~");
  EXPECT_EQ(printable("tab\there"), "tab?here");
  EXPECT_EQ(printable("\xc3\xa9t\xc3\xa9"), "\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(printable("\x80\x7f"), "??");
}

TEST(ListedRecipients, DeferredFirstDoneLeftOut) {
  std::vector<message::Recipient> recipients = {
      {"untried@remote.example", "", ""},  {"delivered@localhost", "", ""},
      {"deferred@remote.example", "", ""}, {"bounced@localhost", "", ""},
      {"no-state@remote.example", "", ""},
  };
  std::vector<queue::RecipientState> states(4);
  states[1].done = true;
  states[1].last.kind = queue::StatusKind::kDelivered;
  states[2].has_deferral = true;
  states[2].last.reason = "try later";
  states[3].done = true;
  states[3].last.kind = queue::StatusKind::kBounced;
  const auto listed = listed_recipients(recipients, states);
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].address, "deferred@remote.example");
  EXPECT_EQ(listed[0].delay_reason, "try later");
  EXPECT_EQ(listed[1].address, "untried@remote.example");
  EXPECT_EQ(listed[1].delay_reason, "");
  EXPECT_EQ(listed[2].address, "no-state@remote.example");
}

TEST(Helpers, AddressDomain) {
  EXPECT_EQ(address_domain("User@Example.ORG."), "example.org");
  EXPECT_EQ(address_domain("\"a@b\"@c.example"), "c.example");
  EXPECT_EQ(address_domain("postmaster"), "");
  EXPECT_EQ(address_domain("x@"), "");
}

TEST(Helpers, SplitContent) {
  auto parts = split_content("A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore\r\n");
  EXPECT_EQ(parts.header, "A: 1\r\nB: 2\r\n");
  EXPECT_EQ(parts.body, "body\r\n\r\nmore\r\n");
  parts = split_content("A: 1\r\n");
  EXPECT_EQ(parts.header, "A: 1\r\n");
  EXPECT_EQ(parts.body, "");
  parts = split_content("\r\nonly body\r\n");
  EXPECT_EQ(parts.header, "");
  EXPECT_EQ(parts.body, "only body\r\n");
  EXPECT_EQ(crlf_to_lf("a\r\nb\rc\nd\r\n"), "a\nb\rc\nd\n");
}

TEST(Helpers, RecipientStatus) {
  queue::RecipientState state;
  EXPECT_EQ(recipient_status_text(state, thursday()), "pending");
  state.has_deferral = true;
  state.last = {queue::StatusKind::kDeferred, 0, 0, "4.3.0", "none", "try later"};
  EXPECT_EQ(recipient_status_text(state, thursday()),
            "deferred, dsn=4.3.0, relay=none, Thu Dec  3 10:00:00 2020 (try later)");
  state.done = true;
  state.last = {queue::StatusKind::kDelivered, 0, 0, "2.0.0", "local", ""};
  EXPECT_EQ(recipient_status_text(state, thursday()),
            "delivered, dsn=2.0.0, relay=local, Thu Dec  3 10:00:00 2020");
}

}  // namespace
}  // namespace estafeta::cli
