// Tests for the queue file codec: round trips, truncation at every offset, garbage,
// record-order rules, decoding at every split of a file assembled from fragments, the
// envelope read alone from every prefix, and version 1 files (done marks, stale tails).
#include "queue/queue_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace estafeta::queue {
namespace {

// head + an END record with the right checksum and the given content size.
std::string with_end(const std::string& head, uint64_t content_size = 0) {
  return head + encode_end_after(head, content_size);
}

message::Envelope sample_envelope() {
  message::Envelope e;
  e.queue_id = "0123456789ABCDEF01";
  e.arrival_us = 1700000000123456;
  e.sender = "alice@example.org";
  e.recipients = {{"bob@localhost", "rfc822;bob@localhost", "SUCCESS,FAILURE"},
                  {"carol@example.net", "", ""},
                  {"dave@localhost", "", "NEVER"}};
  e.helo = "client.example.org";
  e.protocol = "ESMTPS";
  e.body_type = "8BITMIME";
  e.smtputf8 = true;
  e.dsn_ret = "HDRS";
  e.dsn_envid = "env-1";
  e.client_address = "127.0.0.1";
  e.client_hostname = "localhost";
  return e;
}

std::string file_of(const message::Envelope& e, std::string_view content) {
  return with_end(encode_envelope(e) + encode_content(content), content.size());
}

std::string sample_file(std::string_view content) { return file_of(sample_envelope(), content); }

// A version 1 file as the first release wrote it: no ENVELOPE END, an END record with the
// checksum alone, recipients optionally marked done in place, and `tail` after END.
std::string v1_file(const message::Envelope& e, std::string_view content,
                    const std::vector<bool>& done, std::string_view tail) {
  std::string out;
  put_record(out, kRecordVersion, "1");
  put_record(out, kRecordQueueId, e.queue_id);
  put_record(out, kRecordArrival, std::to_string(e.arrival_us));
  put_record(out, kRecordSender, e.sender);
  std::vector<size_t> marks;
  for (size_t i = 0; i < e.recipients.size(); ++i) {
    if (!e.recipients[i].notify.empty()) put_record(out, kRecordNotify, e.recipients[i].notify);
    if (i < done.size() && done[i]) marks.push_back(out.size());
    put_record(out, kRecordRecipient, e.recipients[i].address);
  }
  out += encode_content(content);
  std::string end;
  char sum[9];
  std::snprintf(sum, sizeof sum, "%08x", update_checksum(0, out));
  put_record(end, kRecordEnd, sum);
  for (size_t at : marks) out[at] = kRecordRecipientDone;  // the old agent's in-place mark
  return out + end + std::string(tail);
}

void expect_same(const message::Envelope& a, const message::Envelope& b) {
  EXPECT_EQ(a.queue_id, b.queue_id);
  EXPECT_EQ(a.arrival_us, b.arrival_us);
  EXPECT_EQ(a.sender, b.sender);
  ASSERT_EQ(a.recipients.size(), b.recipients.size());
  for (size_t i = 0; i < a.recipients.size(); ++i) {
    EXPECT_EQ(a.recipients[i].address, b.recipients[i].address);
    EXPECT_EQ(a.recipients[i].orcpt, b.recipients[i].orcpt);
    EXPECT_EQ(a.recipients[i].notify, b.recipients[i].notify);
  }
  EXPECT_EQ(a.helo, b.helo);
  EXPECT_EQ(a.protocol, b.protocol);
  EXPECT_EQ(a.body_type, b.body_type);
  EXPECT_EQ(a.smtputf8, b.smtputf8);
  EXPECT_EQ(a.dsn_ret, b.dsn_ret);
  EXPECT_EQ(a.dsn_envid, b.dsn_envid);
  EXPECT_EQ(a.client_address, b.client_address);
  EXPECT_EQ(a.client_hostname, b.client_hostname);
}

TEST(QueueFile, RoundTrip) {
  const std::string content = "Received: from x\r\nSubject: hi\r\n\r\nbody\r\n";
  auto f = decode_queue_file(sample_file(content));
  ASSERT_TRUE(f.ok()) << f.error().message;
  expect_same(f->envelope, sample_envelope());
  EXPECT_EQ(f->content, content);
  EXPECT_EQ(f->recipient_done, (std::vector<bool>{false, false, false}));
}

TEST(QueueFile, RoundTripTable) {
  struct Case {
    std::string name;
    std::string content;
    std::string sender;
  };
  std::vector<Case> cases = {
      {"empty content", "", ""},
      {"null sender", "x\r\n", ""},
      {"binary bytes", std::string("\0\xff\x80\r\n", 5), "a@b"},
      {"exactly one record", std::string(kMaxRecordPayload, 'a'), "a@b"},
      {"two records", std::string(kMaxRecordPayload + 1, 'b'), "a@b"},
      {"long varint", std::string(200, 'c'), std::string(300, 's')},
  };
  for (const auto& c : cases) {
    message::Envelope e;
    e.queue_id = "ID";
    e.sender = c.sender;
    e.recipients = {{"r@localhost", "", ""}};
    auto f = decode_queue_file(file_of(e, c.content));
    ASSERT_TRUE(f.ok()) << c.name << ": " << f.error().message;
    expect_same(f->envelope, e);
    EXPECT_EQ(f->content, c.content) << c.name;
  }
}

TEST(QueueFile, ContentInManyRecordsConcatenates) {
  std::string file = encode_envelope(sample_envelope());
  std::string expected;
  for (int i = 0; i < 50; ++i) {
    std::string piece(static_cast<size_t>(i), char('a' + i % 26));
    file += encode_content(piece);
    expected += piece;
  }
  file += encode_end_after(file, expected.size());
  auto f = decode_queue_file(file);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->content, expected);
}

TEST(QueueFile, TruncationAtEveryOffsetIsRejected) {
  const std::string file = sample_file("Subject: t\r\n\r\nhello\r\n");
  ASSERT_TRUE(decode_queue_file(file).ok());
  for (size_t n = 0; n < file.size(); ++n) {
    auto f = decode_queue_file(std::string_view(file).substr(0, n));
    EXPECT_FALSE(f.ok()) << "prefix of " << n << " bytes was accepted";
  }
}

TEST(QueueFile, BytesAfterEndAreRejected) {
  // Version 2 files are never reused, so nothing may follow END.
  const std::string file = sample_file("Subject: t\r\n\r\nhello\r\n");
  auto f = decode_queue_file(file + "x");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("after END"), std::string::npos) << f.error().message;
}

TEST(QueueFile, EveryFlippedByteIsRejected) {
  // A torn write: some blocks did not reach the disk.
  const std::string file = sample_file("Subject: t\r\n\r\nhello\r\n");
  for (size_t i = 0; i < file.size(); ++i) {
    std::string bad = file;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(decode_queue_file(bad).ok()) << "flip at offset " << i << " was accepted";
  }
  std::string bad = file;
  bad[bad.size() - kEndRecordSize - 3] ^= 0x01;  // inside the last content record
  auto f = decode_queue_file(bad);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("checksum mismatch"), std::string::npos) << f.error().message;
  EXPECT_TRUE(decode_queue_file(bad, Checksum::kIgnore).ok());
}

TEST(QueueFile, FileAssembledFromFragmentsDecodesTheSame) {
  // The spool writes a file in pieces of any size; only the whole matters.
  const std::string content = "Subject: frag\r\n\r\n" + std::string(300, 'x') + "\r\n";
  const std::string file = sample_file(content);
  for (size_t piece : {1u, 2u, 3u, 5u, 7u, 64u, 1000u}) {
    std::string assembled;
    for (size_t i = 0; i < file.size(); i += piece) assembled.append(file.substr(i, piece));
    auto f = decode_queue_file(assembled);
    ASSERT_TRUE(f.ok()) << piece;
    EXPECT_EQ(f->content, content);
  }
  // Content appended in fragments of every size encodes to an equivalent file.
  for (size_t piece : {1u, 2u, 5u, 17u}) {
    std::string file2 = encode_envelope(sample_envelope());
    for (size_t i = 0; i < content.size(); i += piece) {
      file2 += encode_content(std::string_view(content).substr(i, piece));
    }
    file2 += encode_end_after(file2, content.size());
    auto f = decode_queue_file(file2);
    ASSERT_TRUE(f.ok()) << piece;
    EXPECT_EQ(f->content, content);
  }
}

TEST(QueueFile, GarbageIsRejectedWithAReason) {
  const std::string good = sample_file("x\r\n");
  const std::string env = encode_envelope(sample_envelope());
  struct Case {
    std::string name;
    std::string bytes;
    std::string reason;  // substring of the error
  };
  message::Envelope no_rcpt = sample_envelope();
  no_rcpt.recipients.clear();
  std::vector<Case> cases = {
      {"empty", "", "no END"},
      {"unknown type", std::string("V\x01" "2" "q\x01x", 6), "unknown record"},
      {"no version", good.substr(3), "must start with V"},
      {"bad version",
       std::string("V\x01"
                   "9",
                   3) +
           good.substr(3),
       "version"},
      {"sender after ENVELOPE END", with_end(env + std::string("S\x01x", 3)),
       "after ENVELOPE END"},
      {"non-canonical length", with_end(env + std::string("M\x80\x00", 3)), "non-canonical"},
      {"huge length", env + std::string("M\xff\xff\xff\x7f", 5), "too"},
      {"no recipients", with_end(encode_envelope(no_rcpt)), "recipients"},
      {"envelope after content",
       with_end(env + encode_content("x") + std::string("S\x01x", 3)), "after content"},
      {"recipient after ENVELOPE END", with_end(env + std::string("R\x01x", 3)),
       "after ENVELOPE END"},
      {"END with a wrong checksum", env + encode_end(0, 0), "checksum mismatch"},
      {"END with a wrong size", with_end(env + encode_content("abc"), 4), "size mismatch"},
      {"END of version 1 shape", env + std::string("E\x08""00000000", 10), "bad END"},
      {"bad arrival",
       std::string("V\x01"
                   "1",
                   3) +
           std::string("T\x02"
                       "0x",
                       4),
       "arrival"},
  };
  for (const auto& c : cases) {
    auto f = decode_queue_file(c.bytes);
    ASSERT_FALSE(f.ok()) << c.name;
    EXPECT_NE(f.error().message.find(c.reason), std::string::npos)
        << c.name << ": " << f.error().message;
  }
}

TEST(QueueFile, HandBuiltRecordOrderErrors) {
  // Files that encode_envelope cannot produce, built record by record.
  auto build = [](std::initializer_list<std::pair<char, std::string>> records) {
    std::string out;
    for (const auto& [type, payload] : records) put_record(out, type, payload);
    return out;
  };
  auto envelope_end = [](std::string& head) {
    char sum[9];
    std::snprintf(sum, sizeof sum, "%08x", update_checksum(0, head));
    put_record(head, kRecordEnvelopeEnd, sum);
  };
  struct Case {
    std::string name;
    std::string head;
    std::string reason;
  };
  std::vector<Case> cases;
  {
    std::string h = build({{'V', "2"}, {'I', "X"}, {'T', "1"}, {'S', "a@b"}, {'S', "c@d"}});
    cases.push_back({"duplicate sender", h, "duplicate"});
  }
  {
    std::string h = build({{'V', "2"}, {'I', "X"}, {'T', "1"}, {'S', "a@b"}, {'O', "x"}});
    envelope_end(h);
    cases.push_back({"dangling orcpt", h, "not followed"});
  }
  {
    std::string h = build({{'V', "2"}, {'I', "X"}, {'T', "1"}, {'S', "a@b"}, {'R', "r@x"},
                           {'M', "content"}});
    cases.push_back({"content before ENVELOPE END", h, "before ENVELOPE END"});
  }
  {
    std::string h = build({{'V', "2"}, {'I', "X"}, {'T', "1"}, {'S', "a@b"}, {'D', "r@x"}});
    envelope_end(h);
    cases.push_back({"done mark in version 2", h, "done mark"});
  }
  {
    std::string h = build({{'V', "2"}, {'I', "X"}, {'T', "1"}, {'S', "a@b"}});
    envelope_end(h);
    cases.push_back({"no recipients", h, "without recipients"});
  }
  {
    std::string h = build({{'V', "2"}, {'I', "X"}, {'T', "1"}, {'S', "a@b"}, {'R', "r@x"}});
    put_record(h, kRecordEnvelopeEnd, "00000000");
    cases.push_back({"wrong envelope checksum", h, "envelope checksum mismatch"});
  }
  for (const auto& c : cases) {
    auto f = decode_queue_file(with_end(c.head));
    ASSERT_FALSE(f.ok()) << c.name;
    EXPECT_NE(f.error().message.find(c.reason), std::string::npos)
        << c.name << ": " << f.error().message;
  }
}

TEST(QueueFile, EnvelopeDecodesFromEveryPrefix) {
  const std::string content = "Subject: e\r\n\r\n" + std::string(100, 'b') + "\r\n";
  const std::string file = sample_file(content);
  const size_t envelope_length = encode_envelope(sample_envelope()).size();
  for (size_t n = 0; n <= file.size(); ++n) {
    auto head = decode_envelope(std::string_view(file).substr(0, n));
    ASSERT_TRUE(head.ok()) << n << ": " << head.error().message;
    if (n < envelope_length) {
      EXPECT_FALSE(head->has_value()) << "envelope complete after only " << n << " bytes";
    } else {
      ASSERT_TRUE(head->has_value()) << n;
      EXPECT_EQ((*head)->length, envelope_length);
      expect_same((*head)->envelope, sample_envelope());
    }
  }
}

TEST(QueueFile, EnvelopeWithAFlippedByteIsRejected) {
  const std::string envelope = encode_envelope(sample_envelope());
  for (size_t i = 0; i < envelope.size(); ++i) {
    std::string bad = envelope;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto head = decode_envelope(bad);
    // A flipped length byte may make the envelope look longer (not yet complete); it must
    // never decode as complete.
    EXPECT_FALSE(head.ok() && head->has_value()) << "flip at offset " << i << " was accepted";
  }
}

TEST(QueueFile, ContentSizeFromTheEndRecord) {
  const std::string file = sample_file(std::string(12345, 'z'));
  auto size = content_size_from_end(std::string_view(file).substr(file.size() - kEndRecordSize));
  ASSERT_TRUE(size.ok()) << size.error().message;
  EXPECT_EQ(*size, 12345u);
  EXPECT_FALSE(content_size_from_end(std::string_view(file).substr(0, kEndRecordSize)).ok());
}

TEST(QueueFile, Version1FilesAreStillRead) {
  // Left in a queue by the first release: recipients marked done in place, and the stale
  // tail of a reused file after END.
  const std::string content = "Subject: old\r\n\r\nhi\r\n";
  message::Envelope e = sample_envelope();
  const std::string file = v1_file(e, content, {false, true, false}, "stale tail bytes");
  auto f = decode_queue_file(file);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->version, 1);
  EXPECT_EQ(f->recipient_done, (std::vector<bool>{false, true, false}));
  EXPECT_EQ(f->envelope.recipients[1].address, e.recipients[1].address);
  EXPECT_EQ(f->content, content);
  // ... but not as an envelope alone: it has no envelope checksum.
  auto head = decode_envelope(file);
  ASSERT_FALSE(head.ok());
  EXPECT_NE(head.error().message.find("version 1"), std::string::npos);
  // A torn version 1 file is still refused.
  std::string bad = file;
  bad[bad.size() - 30] ^= 0x01;
  EXPECT_FALSE(decode_queue_file(bad).ok());
}

// ---- the extracted segment (header_checks/body_checks HOLD, FILTER, REDIRECT, BCC) ----

// A whole version 2 file whose content is followed by the extracted segment of `actions`.
std::string file_with_actions(const message::Envelope& e, std::string_view content,
                              const message::ContentActions& actions) {
  std::string head = encode_envelope(e) + encode_content(content);
  const uint64_t at = head.size();
  head += encode_extracted(actions);
  return head + encode_end_after(head, content.size(), at);
}

TEST(QueueFileExtracted, NothingToRecordWritesNoSegment) { EXPECT_EQ(encode_extracted({}), ""); }

TEST(QueueFileExtracted, HoldFilterAndBccRoundTrip) {
  message::ContentActions a;
  a.hold = true;
  a.filter = "virtual:";
  a.bcc = {"audit@example.org", "audit@example.org", "bob@localhost"};
  const std::string content = "Subject: x\r\n\r\nbody\r\n";
  auto f = decode_queue_file(file_with_actions(sample_envelope(), content, a));
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->content, content);
  EXPECT_TRUE(f->envelope.actions.hold);
  EXPECT_EQ(f->envelope.actions.filter, "virtual:");
  // Duplicates go at encoding; an address that already is a recipient is not added again.
  EXPECT_EQ(f->envelope.actions.bcc,
            (std::vector<std::string>{"audit@example.org", "bob@localhost"}));
  ASSERT_EQ(f->envelope.recipients.size(), 4u);
  EXPECT_EQ(f->envelope.recipients[3].address, "audit@example.org");
  EXPECT_EQ(f->envelope.recipients[3].notify, "NEVER");
  EXPECT_TRUE(f->envelope.redirected_from.empty());
}

TEST(QueueFileExtracted, RedirectReplacesEveryRecipient) {
  message::ContentActions a;
  a.redirect = "quarantine@localhost";
  a.bcc = {"audit@example.org"};
  auto f = decode_queue_file(file_with_actions(sample_envelope(), "x\r\n", a));
  ASSERT_TRUE(f.ok()) << f.error().message;
  ASSERT_EQ(f->envelope.recipients.size(), 1u);
  EXPECT_EQ(f->envelope.recipients[0].address, "quarantine@localhost");
  EXPECT_EQ(f->envelope.recipients[0].orcpt, "");  // three originals: none inherited
  ASSERT_EQ(f->envelope.redirected_from.size(), 4u);
  EXPECT_EQ(f->envelope.redirected_from[0].address, "bob@localhost");
  EXPECT_EQ(f->envelope.redirected_from[3].address, "audit@example.org");
  EXPECT_EQ(f->recipient_done.size(), 3u);  // the file's own recipients (version 1 marks)
}

TEST(QueueFileExtracted, RedirectOfOneRecipientKeepsItAsOrcpt) {
  message::Envelope e = sample_envelope();
  e.recipients = {{"carol@example.net", "", ""}};
  message::ContentActions a;
  a.redirect = "quarantine@localhost";
  auto f = decode_queue_file(file_with_actions(e, "x\r\n", a));
  ASSERT_TRUE(f.ok()) << f.error().message;
  ASSERT_EQ(f->envelope.recipients.size(), 1u);
  EXPECT_EQ(f->envelope.recipients[0].orcpt, "rfc822;carol@example.net");
}

TEST(QueueFileExtracted, TruncationAndFlippedBytesAreRejected) {
  message::ContentActions a;
  a.hold = true;
  a.redirect = "q@localhost";
  const std::string file = file_with_actions(sample_envelope(), "body\r\n", a);
  for (size_t n = 0; n < file.size(); ++n) {
    EXPECT_FALSE(decode_queue_file(std::string_view(file).substr(0, n)).ok()) << n;
  }
  for (size_t i = 0; i < file.size(); ++i) {
    std::string bad = file;
    bad[i] ^= 0x01;
    EXPECT_FALSE(decode_queue_file(bad).ok()) << i;
  }
}

TEST(QueueFileExtracted, RecordsOutOfOrderOrOutsideTheSegmentAreRejected) {
  const std::string head = encode_envelope(sample_envelope()) + encode_content("x\r\n");
  auto file = [&](const std::vector<std::pair<char, std::string>>& records, uint64_t at) {
    std::string out = head;
    for (const auto& [type, payload] : records) put_record(out, type, payload);
    return out + encode_end_after(out, 3, at);
  };
  const uint64_t at = head.size();
  EXPECT_TRUE(decode_queue_file(file({{'X', ""}, {'K', "1"}, {'F', "a:b"}}, at)).ok());
  EXPECT_FALSE(decode_queue_file(file({{'X', ""}}, at)).ok());  // empty
  EXPECT_FALSE(decode_queue_file(file({{'X', ""}, {'F', "a:"}, {'K', "1"}}, at)).ok());
  EXPECT_FALSE(decode_queue_file(file({{'X', ""}, {'F', "a:"}, {'F', "b:"}}, at)).ok());
  EXPECT_FALSE(decode_queue_file(file({{'X', ""}, {'K', "2"}}, at)).ok());
  EXPECT_FALSE(decode_queue_file(file({{'X', ""}, {'J', ""}}, at)).ok());
  EXPECT_FALSE(decode_queue_file(file({{'X', ""}, {'J', "a@b"}, {'J', "a@b"}}, at)).ok());
  EXPECT_TRUE(decode_queue_file(file({{'X', ""}, {'J', "a@b"}, {'J', "c@d"}}, at)).ok());
  EXPECT_FALSE(decode_queue_file(file({{'X', ""}, {'K', "1"}, {'M', "y"}}, at)).ok());
  EXPECT_FALSE(decode_queue_file(file({{'X', ""}, {'K', "1"}}, at + 1)).ok());  // offset
  // The short END after a segment, the long one without.
  std::string seg = head;
  put_record(seg, 'X', "");
  put_record(seg, 'K', "1");
  EXPECT_FALSE(decode_queue_file(seg + encode_end_after(seg, 3)).ok());
  EXPECT_FALSE(decode_queue_file(head + encode_end_after(head, 3, at)).ok());
}

TEST(QueueFileExtracted, EndTailGivesTheSegmentAndOldFilesStillDecode) {
  message::ContentActions a;
  a.filter = "error:5.7.1 filtered";
  a.bcc = {"b@c"};
  const std::string with = file_with_actions(sample_envelope(), "body\r\n", a);
  auto end = decode_end_tail(std::string_view(with).substr(with.size() - kLongEndRecordSize));
  ASSERT_TRUE(end.ok()) << end.error().message;
  EXPECT_EQ(end->content_size, 6u);
  EXPECT_EQ(end->record_size, kLongEndRecordSize);
  ASSERT_TRUE(end->extracted_at.has_value());
  auto actions = decode_extracted(std::string_view(with).substr(
      *end->extracted_at, with.size() - kLongEndRecordSize - *end->extracted_at));
  ASSERT_TRUE(actions.ok()) << actions.error().message;
  EXPECT_EQ(*actions, a);
  EXPECT_FALSE(decode_extracted("").ok());
  EXPECT_FALSE(decode_extracted(std::string_view(with).substr(*end->extracted_at + 2)).ok());

  const std::string without = sample_file("body\r\n");
  for (size_t n : {kEndRecordSize, kLongEndRecordSize}) {
    auto old = decode_end_tail(std::string_view(without).substr(without.size() - n));
    ASSERT_TRUE(old.ok()) << old.error().message;
    EXPECT_EQ(old->content_size, 6u);
    EXPECT_FALSE(old->extracted_at.has_value());
    EXPECT_EQ(old->record_size, kEndRecordSize);
  }
  EXPECT_FALSE(decode_end_tail("short").ok());
}

}  // namespace
}  // namespace estafeta::queue
