// Tests for the file-system queue store: envelopes read without content, status recorded
// and folded, a torn status tail cut before the next append, moves and removals, corrupt
// and version 1 files, and orphan status logs.
#include "queue/queue_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <fstream>

#include "queue/spool.h"
#include "queue/test_util.h"

namespace estafeta::queue {
namespace {

using testing::list_names;
using testing::read_file;
using testing::TempDir;

message::Envelope envelope_with(std::string id, size_t recipients) {
  message::Envelope e;
  e.queue_id = std::move(id);
  e.arrival_us = 1700000000000000;
  e.sender = "alice@example.org";
  for (size_t i = 0; i < recipients; ++i) {
    e.recipients.push_back({"rcpt" + std::to_string(i) + "@localhost", "", ""});
  }
  return e;
}

std::string id_of(int n) { return Spool::make_queue_id(1000 + n, 4242); }

void write_queue_file(const std::string& path, const message::Envelope& e,
                      const std::string& content) {
  std::string head = encode_envelope(e) + encode_content(content);
  std::ofstream(path, std::ios::binary) << head + encode_end_after(head, content.size());
}

class QueueStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = QueueStore::open({.queue_directory = tmp.path()});
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
  }
  std::string path(std::string_view queue, const std::string& id) {
    return tmp.path() + "/" + std::string(queue) + "/" + id;
  }

  TempDir tmp;
  std::unique_ptr<QueueStore> store_;
};

TEST_F(QueueStoreTest, EnvelopeAndContentSize) {
  const std::string id = id_of(1);
  // A large content: the envelope read must not need it.
  write_queue_file(path("active", id), envelope_with(id, 3), std::string(300000, 'x'));
  auto r = store_->read_envelope(QueueName::kActive, id);
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(r.value->envelope.recipients.size(), 3u);
  EXPECT_EQ(r.value->content_size, 300000u);
  EXPECT_EQ(r.value->version, 2);
  ASSERT_EQ(r.value->recipients.size(), 3u);
  for (const auto& s : r.value->recipients) EXPECT_FALSE(s.done);
  auto m = store_->read_message(QueueName::kActive, id);
  ASSERT_TRUE(m.ok()) << m.reason;
  EXPECT_EQ(m.value->file.content.size(), 300000u);
}

// header_checks actions after a large content: the envelope read finds them through the
// long END record without reading the content, and sees what the whole-file read sees.
TEST_F(QueueStoreTest, EnvelopeReadAppliesTheExtractedSegment) {
  const std::string id = id_of(5);
  message::ContentActions actions;
  actions.filter = "virtual:";
  actions.redirect = "quarantine@localhost";
  actions.bcc = {"audit@localhost"};
  const std::string content(300000, 'x');
  std::string head = encode_envelope(envelope_with(id, 2)) + encode_content(content);
  const uint64_t at = head.size();
  head += encode_extracted(actions);
  std::ofstream(path("active", id), std::ios::binary)
      << head + encode_end_after(head, content.size(), at);
  auto r = store_->read_envelope(QueueName::kActive, id);
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(r.value->content_size, 300000u);
  EXPECT_EQ(r.value->envelope.actions, actions);
  ASSERT_EQ(r.value->envelope.recipients.size(), 1u);
  EXPECT_EQ(r.value->envelope.recipients[0].address, "quarantine@localhost");
  EXPECT_EQ(r.value->envelope.redirected_from.size(), 3u);
  EXPECT_EQ(r.value->recipients.size(), 1u);
  auto m = store_->read_message(QueueName::kActive, id);
  ASSERT_TRUE(m.ok()) << m.reason;
  EXPECT_EQ(m.value->file.envelope.actions, actions);
  EXPECT_EQ(m.value->file.envelope.recipients.size(), 1u);
  EXPECT_EQ(m.value->recipients.size(), 1u);
}

TEST_F(QueueStoreTest, LargeEnvelopeIsReadInSeveralSteps) {
  const std::string id = id_of(2);
  write_queue_file(path("active", id), envelope_with(id, 2000), "x\r\n");
  auto r = store_->read_envelope(QueueName::kActive, id);
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(r.value->envelope.recipients.size(), 2000u);
}

TEST_F(QueueStoreTest, RecordedStatusIsFoldedIntoTheEnvelope) {
  const std::string id = id_of(3);
  write_queue_file(path("active", id), envelope_with(id, 3), "x\r\n");
  ASSERT_TRUE(store_->record(id, {{StatusKind::kDelivered, 0, 5, "2.0.0", "local", "ok"},
                                  {StatusKind::kDeferred, 2, 6, "4.2.0", "local", "later"}})
                  .ok());
  ASSERT_TRUE(store_->record(id, {{StatusKind::kBounced, 1, 7, "5.1.1", "local", "no"}}).ok());
  auto r = store_->read_envelope(QueueName::kActive, id);
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(r.value->status.entries.size(), 3u);
  EXPECT_TRUE(r.value->recipients[0].done);
  EXPECT_TRUE(r.value->recipients[1].done);
  EXPECT_EQ(r.value->recipients[1].last.kind, StatusKind::kBounced);
  EXPECT_FALSE(r.value->recipients[2].done);
  EXPECT_EQ(r.value->recipients[2].last.reason, "later");
}

TEST_F(QueueStoreTest, TornStatusTailIsCutBeforeTheNextAppend) {
  const std::string id = id_of(4);
  write_queue_file(path("active", id), envelope_with(id, 2), "x\r\n");
  ASSERT_TRUE(store_->record(id, {{StatusKind::kDeferred, 0, 5, "4.2.0", "", "first"}}).ok());
  const std::string whole = read_file(path("status", id));
  const std::string torn = encode_status_entry({StatusKind::kDelivered, 1, 6, "2.0.0", "", "x"});
  std::ofstream(path("status", id), std::ios::binary | std::ios::app)
      << torn.substr(0, torn.size() / 2);
  auto before = store_->read_envelope(QueueName::kActive, id);
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before.value->recipients[1].done) << "a torn entry counted";
  EXPECT_NE(before.value->status.torn_reason, "");
  ASSERT_TRUE(store_->record(id, {{StatusKind::kDelivered, 0, 7, "2.0.0", "", "second"}}).ok());
  auto after = store_->read_envelope(QueueName::kActive, id);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after.value->status.torn_reason, "");
  EXPECT_EQ(after.value->status.entries.size(), 2u);
  EXPECT_TRUE(after.value->recipients[0].done);
  EXPECT_EQ(read_file(path("status", id)).substr(0, whole.size()), whole);
}

TEST_F(QueueStoreTest, MoveRemoveAndList) {
  const std::string a = id_of(5), b = id_of(6);
  write_queue_file(path("active", a), envelope_with(a, 1), "x\r\n");
  write_queue_file(path("active", b), envelope_with(b, 1), "x\r\n");
  std::ofstream(path("active", "not-a-queue-id")) << "junk";
  auto listed = store_->list(QueueName::kActive);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, (std::vector<std::string>{a, b}));
  ASSERT_TRUE(store_->move(a, QueueName::kActive, QueueName::kDeferred).ok());
  EXPECT_TRUE(store_->read_envelope(QueueName::kDeferred, a).ok());
  auto gone = store_->read_envelope(QueueName::kActive, a);
  EXPECT_FALSE(gone.ok());
  EXPECT_EQ(gone.failure, ReadFailure::kGone);
  // Never replacing: b cannot be moved over an existing deferred/<b>.
  write_queue_file(path("deferred", b), envelope_with(b, 1), "y\r\n");
  EXPECT_FALSE(store_->move(b, QueueName::kActive, QueueName::kDeferred).ok());
  ASSERT_TRUE(store_->record(a, {{StatusKind::kDeferred, 0, 1, "4.0.0", "", "x"}}).ok());
  ASSERT_TRUE(store_->remove(QueueName::kDeferred, a).ok());
  EXPECT_EQ(list_names(tmp.path() + "/status"), std::vector<std::string>{});
  EXPECT_TRUE(store_->sync(QueueName::kDeferred).ok());
}

TEST_F(QueueStoreTest, DamagedFilesAreCorruptNotGone) {
  const std::string id = id_of(7);
  write_queue_file(path("active", id), envelope_with(id, 1), "hello\r\n");
  std::string bytes = read_file(path("active", id));
  // Truncated: the END record is missing.
  std::ofstream(path("active", id), std::ios::binary) << bytes.substr(0, bytes.size() - 5);
  auto r = store_->read_envelope(QueueName::kActive, id);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.failure, ReadFailure::kCorrupt);
  EXPECT_EQ(store_->read_message(QueueName::kActive, id).failure, ReadFailure::kCorrupt);
  // Whole, but under another queue id's name.
  const std::string other = id_of(8);
  std::ofstream(path("active", other), std::ios::binary) << bytes;
  auto m = store_->read_envelope(QueueName::kActive, other);
  EXPECT_EQ(m.failure, ReadFailure::kCorrupt);
  EXPECT_NE(m.reason.find("not its name"), std::string::npos) << m.reason;
  // Only the envelope was read: a content byte flipped is found by read_message.
  std::string flipped = bytes;
  flipped[flipped.size() - kEndRecordSize - 3] ^= 1;
  std::ofstream(path("active", id), std::ios::binary) << flipped;
  EXPECT_TRUE(store_->read_envelope(QueueName::kActive, id).ok());
  EXPECT_EQ(store_->read_message(QueueName::kActive, id).failure, ReadFailure::kCorrupt);
}

TEST_F(QueueStoreTest, Version1FileIsReadWithItsDoneMarks) {
  const std::string id = id_of(9);
  std::string out;
  put_record(out, kRecordVersion, "1");
  put_record(out, kRecordQueueId, id);
  put_record(out, kRecordArrival, "1700000000000000");
  put_record(out, kRecordSender, "a@b");
  const size_t first = out.size();
  put_record(out, kRecordRecipient, "x@localhost");
  put_record(out, kRecordRecipient, "y@localhost");
  out += encode_content("hi\r\n");
  char sum[9];
  std::snprintf(sum, sizeof sum, "%08x", update_checksum(0, out));
  std::string end;
  put_record(end, kRecordEnd, sum);
  out[first] = kRecordRecipientDone;
  std::ofstream(path("deferred", id), std::ios::binary) << out + end;
  auto r = store_->read_envelope(QueueName::kDeferred, id);
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(r.value->version, 1);
  EXPECT_TRUE(r.value->recipients[0].done);
  EXPECT_FALSE(r.value->recipients[1].done);
  EXPECT_EQ(r.value->content_size, 4u);
}

TEST_F(QueueStoreTest, OrphanStatusLogsAreRemoved) {
  const std::string kept = id_of(10), orphan = id_of(11);
  write_queue_file(path("hold", kept), envelope_with(kept, 1), "x\r\n");
  ASSERT_TRUE(store_->record(kept, {{StatusKind::kDeferred, 0, 1, "4.0.0", "", "x"}}).ok());
  ASSERT_TRUE(store_->record(orphan, {{StatusKind::kDeferred, 0, 1, "4.0.0", "", "x"}}).ok());
  auto removed = store_->remove_orphan_status_logs();
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  EXPECT_EQ(list_names(tmp.path() + "/status"), std::vector<std::string>{kept});
}

// The real file system, remembering the largest read_at() asked for (read_at allocates what
// it is asked for) and counting directory syncs.
class CountingFilesystem : public Filesystem {
 public:
  size_t largest_read = 0;
  int dir_syncs = 0;
  int lookups = 0;  // exists()

  Status make_dir(const std::string& p, int mode) override { return real_->make_dir(p, mode); }
  Status remove_dir(const std::string& p) override { return real_->remove_dir(p); }
  Result<int> open_dir(const std::string& p) override { return real_->open_dir(p); }
  Result<std::vector<std::string>> list_dir(int dir) override { return real_->list_dir(dir); }
  Result<int> create_file(int dir, const std::string& name) override {
    return real_->create_file(dir, name);
  }
  Status write_all(int fd, std::string_view data) override { return real_->write_all(fd, data); }
  Status sync_data(int fd) override { return real_->sync_data(fd); }
  Result<int> open_read(int dir, const std::string& name) override {
    return real_->open_read(dir, name);
  }
  Result<Appender> open_append(int dir, const std::string& name) override {
    return real_->open_append(dir, name);
  }
  Result<std::string> read_at(int fd, uint64_t offset, size_t max) override {
    largest_read = std::max(largest_read, max);
    return real_->read_at(fd, offset, max);
  }
  Result<uint64_t> file_size(int fd) override { return real_->file_size(fd); }
  Status truncate(int fd, uint64_t size) override { return real_->truncate(fd, size); }
  Result<int64_t> modified_time(int dir, const std::string& name) override {
    return real_->modified_time(dir, name);
  }
  Status set_modified_time(int dir, const std::string& name, int64_t us) override {
    return real_->set_modified_time(dir, name, us);
  }
  Status sync_dir(int dir) override {
    ++dir_syncs;
    return real_->sync_dir(dir);
  }
  Result<FileIdentity> identify(int dir, const std::string& name) override {
    return real_->identify(dir, name);
  }
  Result<FileIdentity> identify_open(int fd) override { return real_->identify_open(fd); }
  Status link(int from_dir, const std::string& from, int to_dir,
              const std::string& to) override {
    return real_->link(from_dir, from, to_dir, to);
  }
  Status rename(int from_dir, const std::string& from, int to_dir,
                const std::string& to) override {
    return real_->rename(from_dir, from, to_dir, to);
  }
  Status unlink(int dir, const std::string& name) override { return real_->unlink(dir, name); }
  bool exists(int dir, const std::string& name) override {
    ++lookups;
    return real_->exists(dir, name);
  }
  void close(int fd) override { real_->close(fd); }

 private:
  std::unique_ptr<Filesystem> real_ = make_posix_filesystem();
};

// A store over CountingFilesystem: the tests count the syncs, reads and lookups it makes.
class CountedQueueStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = QueueStore::open({.queue_directory = tmp.path(), .filesystem = &fs});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    owned_ = std::move(*opened);
  }
  QueueStore& store() { return *owned_; }

  TempDir tmp;
  CountingFilesystem fs;
  std::unique_ptr<QueueStore> owned_;
};

// A status log is read for its size, not for the 16 MiB a log may reach: mailq and the queue
// manager read one per deferred message (100,000 reads of 16 MiB buffers made `mailq` of a
// large deferred queue take minutes).
TEST_F(CountedQueueStoreTest, StatusLogReadIsSizedToTheLog) {
  const std::string id = id_of(12);
  write_queue_file(tmp.path() + "/deferred/" + id, envelope_with(id, 2), "x\r\n");
  ASSERT_TRUE(store().record(id, {{StatusKind::kDeferred, 0, 1, "4.2.0", "local", "later"}}).ok());
  ASSERT_TRUE(store().record(id, {{StatusKind::kDelivered, 1, 2, "2.0.0", "local", "ok"}}).ok());
  fs.largest_read = 0;
  auto r = store().read_envelope(QueueName::kDeferred, id);
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(r.value->status.entries.size(), 2u);
  EXPECT_TRUE(r.value->recipients[1].done);
  EXPECT_EQ(r.value->recipients[0].last.reason, "later");
  EXPECT_LE(fs.largest_read, 4096u);
  fs.largest_read = 0;
  auto m = store().read_message(QueueName::kDeferred, id);
  ASSERT_TRUE(m.ok()) << m.reason;
  EXPECT_EQ(m.value->status.entries.size(), 2u);
  EXPECT_LE(fs.largest_read, 4096u);
}

// postqueue -f of a large queue: many renames, one sync of each directory; a name gone
// meanwhile is skipped, a collision is reported and the rest still moves.
TEST_F(CountedQueueStoreTest, MoveManySyncsEachDirectoryOnce) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(id_of(20 + i));
    write_queue_file(tmp.path() + "/deferred/" + ids.back(), envelope_with(ids.back(), 1),
                     "x\r\n");
  }
  // ids[1] is already in active/ (a crash left both names): never replaced.
  write_queue_file(tmp.path() + "/active/" + ids[1], envelope_with(ids[1], 1), "y\r\n");
  std::vector<std::string> asked = ids;
  asked.push_back(id_of(30));  // never existed (taken meanwhile)
  fs.dir_syncs = 0;
  auto failed = store().move_many(asked, QueueName::kDeferred, QueueName::kActive);
  ASSERT_TRUE(failed.ok()) << failed.error().message;
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ((*failed)[0].queue_id, ids[1]);
  EXPECT_EQ(fs.dir_syncs, 2);
  EXPECT_EQ(list_names(tmp.path() + "/deferred"), std::vector<std::string>{ids[1]});
  EXPECT_EQ(list_names(tmp.path() + "/active").size(), 5u);
  // Nothing to move: nothing synced.
  fs.dir_syncs = 0;
  auto none = store().move_many({id_of(31)}, QueueName::kDeferred, QueueName::kActive);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(fs.dir_syncs, 0);
}

// The queue manager's removal of what one turn finished: one sync for all, logs after it; a
// file gone from the queue (moved by a tool) is reported and keeps its log.
TEST_F(CountedQueueStoreTest, RemoveManySyncsOnceThenRemovesTheLogs) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(id_of(40 + i));
    write_queue_file(tmp.path() + "/active/" + ids.back(), envelope_with(ids.back(), 1), "x\r\n");
    if (i != 0) {  // ids[0] finished at its first attempt: no status log
      ASSERT_TRUE(
          store().record(ids.back(), {{StatusKind::kDeferred, 0, 1, "4.2.0", "", "x"}}).ok());
    }
  }
  // ids[3] was moved to hold/ by a queue tool: it stays, with its log.
  ASSERT_TRUE(store().move(ids[3], QueueName::kActive, QueueName::kHold).ok());
  fs.dir_syncs = 0;
  auto failed = store().remove_many(QueueName::kActive, ids);
  ASSERT_TRUE(failed.ok()) << failed.error().message;
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ((*failed)[0].queue_id, ids[3]);
  EXPECT_EQ((*failed)[0].error.code, ENOENT);
  EXPECT_EQ(fs.dir_syncs, 1);
  EXPECT_EQ(list_names(tmp.path() + "/active"), std::vector<std::string>{});
  EXPECT_EQ(list_names(tmp.path() + "/status"), std::vector<std::string>{ids[3]});
  EXPECT_EQ(list_names(tmp.path() + "/hold"), std::vector<std::string>{ids[3]});
  // Nothing with a log: no sync.
  write_queue_file(tmp.path() + "/active/" + ids[0], envelope_with(ids[0], 1), "x\r\n");
  fs.dir_syncs = 0;
  auto plain = store().remove_many(QueueName::kActive, {ids[0]});
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->empty());
  EXPECT_EQ(fs.dir_syncs, 0);
}

// Start-up with a large queue: the orphan check lists each queue once instead of looking
// every log up in every queue; only a log found in no listing is looked up by name.
TEST_F(CountedQueueStoreTest, OrphanCheckListsTheQueues) {
  std::vector<std::string> kept;
  for (int i = 0; i < 50; ++i) {
    kept.push_back(id_of(100 + i));
    const char* queue = i % 3 == 0 ? "/deferred/" : i % 3 == 1 ? "/active/" : "/hold/";
    write_queue_file(tmp.path() + queue + kept.back(), envelope_with(kept.back(), 1), "x\r\n");
    ASSERT_TRUE(store().record(kept.back(), {{StatusKind::kDeferred, 0, 1, "4.0.0", "", "x"}}).ok());
  }
  const std::string orphan = id_of(99);
  ASSERT_TRUE(store().record(orphan, {{StatusKind::kDeferred, 0, 1, "4.0.0", "", "x"}}).ok());
  fs.lookups = 0;
  auto removed = store().remove_orphan_status_logs();
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(*removed, 1u);
  EXPECT_EQ(fs.lookups, 5) << "only the orphan is looked up (incoming/ and the four queues)";
  std::sort(kept.begin(), kept.end());
  auto logs = list_names(tmp.path() + "/status");
  std::sort(logs.begin(), logs.end());
  EXPECT_EQ(logs, kept);
}

}  // namespace
}  // namespace estafeta::queue
