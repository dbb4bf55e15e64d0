// Tests for the queue file codec: round trips, truncation at every offset, garbage,
// record-order rules, in-place "done" marking, and decoding at every split of a file
// assembled from fragments.
#include "queue/queue_file.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace estafeta::queue {
namespace {

// head + an END record with the right checksum.
std::string with_end(const std::string& head) { return head + encode_end_after(head); }

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

std::string sample_file(std::string_view content) {
  return with_end(encode_envelope(sample_envelope()) + encode_content(content));
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
    auto f = decode_queue_file(with_end(encode_envelope(e) + encode_content(c.content)));
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
  file += encode_end_after(file);
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

TEST(QueueFile, StaleTailOfAReusedFileIsIgnored) {
  // A reused queue file is overwritten from offset 0, not truncated: what follows END is
  // the rest of an older, longer message.
  const std::string old_file = sample_file("Subject: old\r\n\r\n" + std::string(500, 'o') + "\r\n");
  const std::string new_file = sample_file("Subject: new\r\n\r\nhi\r\n");
  ASSERT_LT(new_file.size(), old_file.size());
  const std::string reused = new_file + old_file.substr(new_file.size());
  auto f = decode_queue_file(reused);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->content, "Subject: new\r\n\r\nhi\r\n");
}

TEST(QueueFile, EveryFlippedByteIsRejected) {
  // A torn write, or a reused file whose new blocks did not all reach the disk.
  const std::string file = sample_file("Subject: t\r\n\r\nhello\r\n");
  for (size_t i = 0; i < file.size(); ++i) {
    std::string bad = file;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(decode_queue_file(bad).ok()) << "flip at offset " << i << " was accepted";
  }
  std::string bad = file;
  bad[bad.size() - 12] ^= 0x01;  // inside the last content record
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
    file2 += encode_end_after(file2);
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
      {"unknown type", with_end(env + std::string("Q\x01x", 3)), "unknown record"},
      {"no version", good.substr(3), "must start with V"},
      {"bad version",
       std::string("V\x01"
                   "9",
                   3) +
           good.substr(3),
       "version"},
      {"duplicate sender", with_end(env + std::string("S\x01x", 3)), "duplicate"},
      {"non-canonical length", with_end(env + std::string("M\x80\x00", 3)), "non-canonical"},
      {"huge length", env + std::string("M\xff\xff\xff\x7f", 5), "too"},
      {"no recipients", with_end(encode_envelope(no_rcpt)), "recipients"},
      {"envelope after content",
       with_end(env + encode_content("x") + std::string("S\x01x", 3)), "after content"},
      {"dangling orcpt", with_end(env + std::string("O\x01x", 3)), "not followed"},
      {"END with a wrong checksum", env + std::string("E\x08""00000000", 10), "checksum mismatch"},
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

TEST(QueueFile, RecipientMarkedDoneInPlace) {
  std::string file = sample_file("x\r\n");
  auto f = decode_queue_file(file);
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->recipient_offsets.size(), 3u);
  EXPECT_EQ(file[f->recipient_offsets[1]], kRecordRecipient);
  file[f->recipient_offsets[1]] = kRecordRecipientDone;  // what the delivery agent pwrites
  auto g = decode_queue_file(file);
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->recipient_done, (std::vector<bool>{false, true, false}));
  expect_same(g->envelope, sample_envelope());
}

}  // namespace
}  // namespace estafeta::queue
