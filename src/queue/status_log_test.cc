// Tests for the status log codec: round trips, a torn tail at every offset, flipped bytes,
// and folding entries into per-recipient states.
#include "queue/status_log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace estafeta::queue {
namespace {

std::vector<StatusEntry> sample_entries() {
  return {
      {StatusKind::kDeferred, 1, 1700000000000001, "4.4.1", "mx.example[192.0.2.1]:25",
       "connect to mx.example[192.0.2.1]:25: Connection refused"},
      {StatusKind::kDelivered, 0, 1700000000000002, "2.0.0", "local", "delivered to maildir"},
      {StatusKind::kDelayWarned, 0, 1700000000000003, "", "", ""},
      {StatusKind::kBounced, 2, 1700000000000004, "5.1.1", "local",
       "unknown user: \"nobody\""},
      {StatusKind::kDelivered, 1, 1700000000000005, "2.0.0", "mx.example[192.0.2.1]:25",
       "250 2.0.0 Ok: queued as ABC"},
  };
}

std::string encode_all(const std::vector<StatusEntry>& entries) {
  std::string out;
  for (const auto& e : entries) out += encode_status_entry(e);
  return out;
}

TEST(StatusLog, RoundTrip) {
  const auto entries = sample_entries();
  const std::string bytes = encode_all(entries);
  StatusLog log = decode_status_log(bytes);
  EXPECT_EQ(log.entries, entries);
  EXPECT_EQ(log.valid_length, bytes.size());
  EXPECT_EQ(log.torn_reason, "");
}

TEST(StatusLog, EmptyLogIsValid) {
  StatusLog log = decode_status_log("");
  EXPECT_TRUE(log.entries.empty());
  EXPECT_EQ(log.valid_length, 0u);
  EXPECT_EQ(log.torn_reason, "");
}

TEST(StatusLog, TornTailAtEveryOffsetKeepsTheWholeEntriesBeforeIt) {
  const auto entries = sample_entries();
  std::vector<size_t> ends;  // offset after each entry
  std::string bytes;
  for (const auto& e : entries) {
    bytes += encode_status_entry(e);
    ends.push_back(bytes.size());
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    StatusLog log = decode_status_log(std::string_view(bytes).substr(0, n));
    size_t whole = 0;
    while (whole < ends.size() && ends[whole] <= n) ++whole;
    ASSERT_EQ(log.entries.size(), whole) << "prefix " << n;
    EXPECT_EQ(log.valid_length, whole == 0 ? 0 : ends[whole - 1]) << "prefix " << n;
    const bool at_boundary = n == log.valid_length;
    EXPECT_EQ(log.torn_reason.empty(), at_boundary) << "prefix " << n;
  }
}

TEST(StatusLog, FlippedByteEndsTheValidPrefix) {
  const auto entries = sample_entries();
  const std::string first = encode_status_entry(entries[0]);
  const std::string bytes = encode_all(entries);
  for (size_t i = first.size(); i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    StatusLog log = decode_status_log(bad);
    ASSERT_GE(log.entries.size(), 1u) << i;
    EXPECT_LT(log.entries.size(), entries.size()) << "flip at " << i << " went unnoticed";
    EXPECT_NE(log.torn_reason, "") << i;
    for (size_t k = 0; k < log.entries.size(); ++k) EXPECT_EQ(log.entries[k], entries[k]);
  }
}

TEST(StatusLog, GarbageAfterAValidPrefixIsATornTail) {
  const std::string good = encode_status_entry(sample_entries()[1]);
  for (std::string garbage : {std::string(5, '\0'), std::string("W"), std::string("Wxyz"),
                              std::string(100, '\xff')}) {
    StatusLog log = decode_status_log(good + garbage);
    EXPECT_EQ(log.entries.size(), 1u);
    EXPECT_EQ(log.valid_length, good.size());
    EXPECT_NE(log.torn_reason, "");
  }
}

TEST(StatusLog, FoldGivesEachRecipientItsFirstFinalOutcome) {
  StatusLog log;
  log.entries = sample_entries();
  // A late duplicate outcome (a retry after a crash lost nothing but repeated the report)
  // does not change a recipient that is done.
  log.entries.push_back({StatusKind::kDeferred, 0, 1700000000000009, "4.2.0", "local", "late"});
  log.entries.push_back({StatusKind::kDeferred, 7, 1700000000000009, "4.2.0", "", "no such"});
  auto states = fold_status(log, 4);
  ASSERT_EQ(states.size(), 4u);
  EXPECT_TRUE(states[0].done);
  EXPECT_EQ(states[0].last.kind, StatusKind::kDelivered);
  EXPECT_TRUE(states[1].done);  // deferred first, then delivered
  EXPECT_TRUE(states[1].has_deferral);
  EXPECT_EQ(states[1].last.dsn, "2.0.0");
  EXPECT_TRUE(states[2].done);
  EXPECT_EQ(states[2].last.kind, StatusKind::kBounced);
  EXPECT_FALSE(states[3].done);
  EXPECT_FALSE(states[3].has_deferral);
  EXPECT_TRUE(delay_warning_sent(log));
  log.entries.erase(log.entries.begin() + 2);
  EXPECT_FALSE(delay_warning_sent(log));
}

TEST(StatusLog, LastDeferralIsKeptWhileNotDone) {
  StatusLog log;
  log.entries = {{StatusKind::kDeferred, 0, 1, "4.4.1", "a", "first"},
                 {StatusKind::kDeferred, 0, 2, "4.4.2", "b", "second"}};
  auto states = fold_status(log, 1);
  EXPECT_FALSE(states[0].done);
  EXPECT_TRUE(states[0].has_deferral);
  EXPECT_EQ(states[0].last.reason, "second");
}

TEST(StatusLog, ActionDoneEntriesCollectTheFinalDeliveriesAlreadyMade) {
  StatusLog log;
  log.entries = {{StatusKind::kActionDone, 0, 1, "", "", "3f2a"},
                 {StatusKind::kDeferred, 0, 2, "4.3.0", "local", "command deferred"},
                 {StatusKind::kActionDone, 0, 3, "", "", "mailbox"}};
  // Round trip through the codec, then fold.
  std::string bytes;
  for (const auto& e : log.entries) bytes += encode_status_entry(e);
  StatusLog decoded = decode_status_log(bytes);
  ASSERT_EQ(decoded.entries, log.entries);
  auto states = fold_status(decoded, 1);
  EXPECT_FALSE(states[0].done);
  EXPECT_TRUE(states[0].has_deferral);
  EXPECT_EQ(states[0].last.reason, "command deferred");  // the action entries are not failures
  EXPECT_EQ(states[0].done_actions, (std::vector<std::string>{"3f2a", "mailbox"}));
}

}  // namespace
}  // namespace estafeta::queue
