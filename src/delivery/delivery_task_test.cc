// The delivery task codec and validate_task(): round trips, every field, malformed input,
// and what the spawner refuses.
#include "delivery/delivery_task.h"

#include <gtest/gtest.h>

#include "queue/record.h"

namespace estafeta::delivery {
namespace {

DeliveryTask full_task() {
  DeliveryTask t;
  t.kind = TaskKind::Mbox;
  t.as = {1000, 1000, {1000, 24, 100}, "alice", "/home/alice"};
  t.path = "/var/mail/alice";
  t.maildir_name = "x";
  t.sender = "bob@example.org";
  t.arrival_sec = 1700000000;
  t.mbox_locks = 3;
  t.create_with_spool_privileges = true;
  t.check_already_delivered = true;
  t.report_published = true;
  t.command = "procmail -a \"$EXTENSION\"";
  t.environment = {"HOME=/home/alice", "USER=alice", "EMPTY="};
  t.working_directory = "/home/alice";
  t.time_limit_seconds = 30;
  t.read_limit = 4096;
  t.lock_attempts = 3;
  t.lock_delay_seconds = 0;
  t.stale_lock_seconds = 60;
  t.file_size_limit = 51200000;
  return t;
}

TEST(DeliveryTaskCodec, RequestRoundTripKeepsEveryField) {
  for (TaskKind kind : {TaskKind::Maildir, TaskKind::Mbox, TaskKind::Command, TaskKind::ReadFile}) {
    TaskRequest r{42, full_task()};
    r.task.kind = kind;
    auto back = decode_request(encode_request(r));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, r);
  }
  TaskRequest plain{1, DeliveryTask{}};  // defaults, empty strings left out
  auto back = decode_request(encode_request(plain));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, plain);
}

TEST(DeliveryTaskCodec, ReplyAndResultRoundTrip) {
  TaskResult r{
      TaskStatus::Bounced, "5.1.1", "user unknown. Command output: no such user", "", 0, {}};
  for (bool in_fd : {false, true}) {
    TaskReply reply{7, in_fd, in_fd ? TaskResult{} : r};
    auto back = decode_reply(encode_reply(reply));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, reply);
  }
  TaskReply published{8, false, {}, /*published=*/true};
  auto published_back = decode_reply(encode_reply(published));
  ASSERT_TRUE(published_back.ok()) << published_back.error().message;
  EXPECT_EQ(*published_back, published);
  TaskResult big{TaskStatus::Delivered, "2.0.0", "read", std::string(3 << 20, 'x'), 0, {}};
  big.content[1 << 20] = 'y';
  auto back = decode_result(encode_result(big));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, big);
  TaskResult failed = deferred("4.3.0", "cannot open /x", 13);
  auto back2 = decode_result(encode_result(failed));
  ASSERT_TRUE(back2.ok());
  EXPECT_EQ(*back2, failed);
}

// A request with `fields` (after the version) as its payload.
std::string request_with(const std::string& fields, std::string_view version = "1") {
  std::string p;
  queue::put_record(p, 'v', version);
  p += fields;
  std::string out;
  queue::put_record(out, 'T', p);
  return out;
}

std::string field(char type, std::string_view value) {
  std::string out;
  queue::put_record(out, type, value);
  return out;
}

TEST(DeliveryTaskCodec, RejectsMalformedRequests) {
  const std::string id_kind = field('n', "1") + field('k', "M");
  ASSERT_TRUE(decode_request(request_with(id_kind)).ok());
  const std::vector<std::string> bad = {
      "",
      "X",
      request_with(id_kind, "2"),                                   // another version
      request_with(id_kind).substr(0, 5),                           // truncated
      request_with(id_kind) + "T",                                  // trailing bytes
      request_with(field('n', "1")),                                // no kind
      request_with(field('k', "M")),                                // no id
      request_with(id_kind + field('n', "2")),                      // duplicate id
      request_with(id_kind + field('?', "x")),                      // unknown field
      request_with(field('n', "1") + field('k', "Q")),              // unknown kind
      request_with(id_kind + field('u', "-1")),                     // negative uid
      request_with(id_kind + field('u', "01")),                     // non-canonical number
      request_with(id_kind + field('u', "4294967295")),             // (uid_t)-1
      request_with(id_kind + field('l', "8")),                      // lock bits beyond the set
      request_with(id_kind + field('P', "0")),                      // bad flag
      request_with(id_kind + field('p', "/a") + field('p', "/b")),  // duplicate path
  };
  for (const auto& bytes : bad) {
    EXPECT_FALSE(decode_request(bytes).ok()) << testing::PrintToString(bytes);
  }
}

TEST(DeliveryTaskCodec, ClampsLimitsAndDropsGroupsBeyondTheMaximum) {
  const std::string id_kind = field('n', "4") + field('k', "X");
  auto r = decode_request(request_with(id_kind + field('R', "999999999") + field('t', "99999999") +
                                       field('A', "5000") + field('D', "7200") +
                                       field('S', "99999999")));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->task.read_limit, kMaxReadLimit);
  EXPECT_EQ(r->task.time_limit_seconds, 7 * 24 * 3600);
  EXPECT_EQ(r->task.lock_attempts, 1000);
  EXPECT_EQ(r->task.lock_delay_seconds, 3600);
  EXPECT_EQ(r->task.stale_lock_seconds, 7 * 24 * 3600);
  std::string groups = id_kind;
  for (int i = 0; i < 300; ++i) groups += field('G', std::to_string(100 + i));
  r = decode_request(request_with(groups));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->task.as.groups.size(), kMaxTaskGroups);
  EXPECT_EQ(r->task.as.groups.front(), 100u);
  EXPECT_EQ(r->task.as.groups.back(), 100u + kMaxTaskGroups - 1);
}

TEST(DeliveryTaskCodec, ARefusedRequestStillShowsItsId) {
  const std::string id_kind = field('n', "42") + field('k', "M");
  EXPECT_EQ(request_id_of(request_with(id_kind + field('?', "x"))), std::optional<uint64_t>(42));
  EXPECT_EQ(request_id_of(request_with(id_kind + field('u', "-1"))), std::optional<uint64_t>(42));
  EXPECT_EQ(request_id_of(encode_request({7, full_task()})), std::optional<uint64_t>(7));
  EXPECT_EQ(request_id_of(request_with(field('k', "M"))), std::nullopt);       // no id
  EXPECT_EQ(request_id_of(request_with(id_kind).substr(0, 5)), std::nullopt);  // truncated
  EXPECT_EQ(request_id_of("X"), std::nullopt);
}

TEST(DeliveryTaskCodec, RejectsMalformedReplies) {
  std::string p;
  queue::put_record(p, 'v', "1");
  queue::put_record(p, 'n', "3");
  std::string none;
  queue::put_record(none, 'P', p);
  EXPECT_FALSE(decode_reply(none).ok());  // neither inline result nor fd
  std::string result;
  queue::put_record(result, 'd', "2.0.0");  // no status
  std::string q = p;
  queue::put_record(q, 'x', result);
  std::string no_status;
  queue::put_record(no_status, 'P', q);
  EXPECT_FALSE(decode_reply(no_status).ok());
  std::string published_with_result = p;
  queue::put_record(published_with_result, 'q', "1");
  queue::put_record(published_with_result, 'f', "1");
  std::string both;
  queue::put_record(both, 'P', published_with_result);
  EXPECT_FALSE(decode_reply(both).ok());  // published: the result comes later, not here
  EXPECT_FALSE(decode_result("").ok());
  EXPECT_FALSE(decode_result(encode_reply({1, true, {}})).ok());
}

TEST(DeliveryTaskCodec, DecodesInPiecesNeverAsWholes) {
  // A datagram is whole or it is an error: no prefix of a request decodes.
  const std::string bytes = encode_request({9, full_task()});
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_request(bytes.substr(0, n)).ok()) << n;
  }
}

struct Validation {
  const char* what;
  void (*change)(DeliveryTask&);
  bool ok;
};

DeliveryTask valid(TaskKind kind) {
  DeliveryTask t = full_task();
  t.kind = kind;
  t.path = kind == TaskKind::Maildir ? "/home/alice/Maildir/" : "/var/mail/alice";
  t.maildir_name = "1700000000.QABCR0.host";
  return t;
}

TEST(ValidateTask, RefusesRootAndBadFields) {
  const TaskPolicy policy{{}, 1, "/var/mail"};
  const Validation cases[] = {
      {"valid", [](DeliveryTask&) {}, true},
      {"spool privileges outside the spool", [](DeliveryTask& t) { t.path = "/home/alice/mbox"; },
       false},
      {"spool privileges in a spool subdirectory",
       [](DeliveryTask& t) { t.path = "/var/mail/sub/alice"; }, false},
      {"spool privileges in a look-alike directory",
       [](DeliveryTask& t) { t.path = "/var/mailx/alice"; }, false},
      {"outside the spool without spool privileges",
       [](DeliveryTask& t) {
         t.path = "/home/alice/mbox";
         t.create_with_spool_privileges = false;
       },
       true},
      {"uid 0", [](DeliveryTask& t) { t.as.uid = 0; }, false},
      {"gid 0", [](DeliveryTask& t) { t.as.gid = 0; }, false},
      {"group 0", [](DeliveryTask& t) { t.as.groups.push_back(0); }, false},
      {"relative path", [](DeliveryTask& t) { t.path = "var/mail/a"; }, false},
      {"dot-dot", [](DeliveryTask& t) { t.path = "/var/mail/../etc/passwd"; }, false},
      {"dot", [](DeliveryTask& t) { t.path = "/var/./mail/a"; }, false},
      {"empty component", [](DeliveryTask& t) { t.path = "/var//mail/a"; }, false},
      {"NUL", [](DeliveryTask& t) { t.path = std::string("/var/mail/a\0b", 13); }, false},
      {"mbox names a directory", [](DeliveryTask& t) { t.path = "/var/mail/"; }, false},
      {"sender with newline", [](DeliveryTask& t) { t.sender = "a\nFrom b"; }, false},
      {"no lock attempts", [](DeliveryTask& t) { t.lock_attempts = 0; }, false},
      {"negative delay", [](DeliveryTask& t) { t.lock_delay_seconds = -1; }, false},
  };
  for (const auto& c : cases) {
    DeliveryTask t = valid(TaskKind::Mbox);
    c.change(t);
    EXPECT_EQ(!validate_task(t, policy).has_value(), c.ok) << c.what;
  }
}

TEST(ValidateTask, PolicyForbiddenAndMinimumUids) {
  DeliveryTask t = valid(TaskKind::Maildir);
  t.as.uid = 105;
  EXPECT_FALSE(validate_task(t).has_value());
  EXPECT_TRUE(validate_task(t, TaskPolicy{{105}, 1, ""}).has_value());  // mail_owner
  EXPECT_FALSE(validate_task(t, TaskPolicy{{106}, 1, ""}).has_value());
  EXPECT_TRUE(validate_task(t, TaskPolicy{{}, 1000, ""}).has_value());  // virtual_minimum_uid
  EXPECT_FALSE(validate_task(t, TaskPolicy{{}, 105, ""}).has_value());
  // Spool privileges need the policy's spool directory: none given, none allowed.
  DeliveryTask m = valid(TaskKind::Mbox);
  EXPECT_TRUE(validate_task(m).has_value());
  EXPECT_FALSE(validate_task(m, TaskPolicy{{}, 1, "/var/mail/"}).has_value());
}

TEST(ValidateTask, KindSpecificFields) {
  DeliveryTask m = valid(TaskKind::Maildir);
  EXPECT_FALSE(validate_task(m).has_value());
  for (const char* name : {"", ".", "..", "a/b"}) {
    m.maildir_name = name;
    EXPECT_TRUE(validate_task(m).has_value()) << name;
  }
  m = valid(TaskKind::Maildir);
  m.path = "/home/alice/Maildir";  // no trailing '/'
  EXPECT_TRUE(validate_task(m).has_value());

  DeliveryTask c = valid(TaskKind::Command);
  c.path.clear();  // a command needs no path
  EXPECT_FALSE(validate_task(c).has_value());
  for (auto change : {+[](DeliveryTask& t) { t.command.clear(); },
                      +[](DeliveryTask& t) { t.environment.push_back("NOEQUALS"); },
                      +[](DeliveryTask& t) { t.environment.push_back("=x"); },
                      +[](DeliveryTask& t) { t.time_limit_seconds = 0; },
                      +[](DeliveryTask& t) { t.working_directory = "home"; }}) {
    DeliveryTask bad = c;
    change(bad);
    EXPECT_TRUE(validate_task(bad).has_value());
  }

  DeliveryTask r = valid(TaskKind::ReadFile);
  r.path = "/home/alice/.forward";
  EXPECT_FALSE(validate_task(r).has_value());
  r.read_limit = 0;
  EXPECT_TRUE(validate_task(r).has_value());
  r.read_limit = kMaxReadLimit + 1;
  EXPECT_TRUE(validate_task(r).has_value());
}

}  // namespace
}  // namespace estafeta::delivery

namespace estafeta::delivery {
namespace {

DeliveryTask batch() {
  DeliveryTask t;
  t.kind = TaskKind::MaildirBatch;
  t.as = {5000, 6000, {}, "ann@hosted.example", ""};
  t.file_size_limit = 51200000;
  t.copies = {{"/srv/vmail/a/", "1.Q1R0.host", 0, 10}, {"/srv/vmail/b/", "1.Q1R1.host", 10, 5}};
  return t;
}

TEST(DeliveryTaskCodec, MaildirBatchRoundTrip) {
  TaskRequest request{9, batch()};
  auto back = decode_request(encode_request(request));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, request);
  EXPECT_EQ(validate_task(request.task), std::nullopt);

  TaskResult r{TaskStatus::Delivered, "2.0.0", "maildir batch", "", 0, {}};
  r.parts = {{TaskStatus::Delivered, "2.0.0", "delivered to maildir", "", 0, {}},
             {TaskStatus::Deferred, "4.2.2", "maildir delivery failed: too big", "", 27, {}}};
  auto result = decode_result(encode_result(r));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(*result, r);
  TaskReply reply{9, false, r};
  auto reply_back = decode_reply(encode_reply(reply));
  ASSERT_TRUE(reply_back.ok()) << reply_back.error().message;
  EXPECT_EQ(*reply_back, reply);
}

TEST(DeliveryTaskCodec, ResultPartsAreNotNested) {
  TaskResult inner{TaskStatus::Delivered, "2.0.0", "x", "", 0, {}};
  TaskResult middle{TaskStatus::Delivered, "2.0.0", "y", "", 0, {inner}};
  TaskResult outer{TaskStatus::Delivered, "2.0.0", "z", "", 0, {middle}};
  EXPECT_FALSE(decode_result(encode_result(outer)).ok());
}

TEST(DeliveryTaskValidation, MaildirBatch) {
  DeliveryTask t = batch();
  t.copies.clear();
  EXPECT_NE(validate_task(t), std::nullopt);
  for (const char* bad_path : {"relative/", "/srv/../etc/", "/srv/vmail/a"}) {
    t = batch();
    t.copies[1].path = bad_path;
    EXPECT_NE(validate_task(t), std::nullopt) << bad_path;
  }
  for (const char* bad_name : {"", "..", "a/b"}) {
    t = batch();
    t.copies[0].maildir_name = bad_name;
    EXPECT_NE(validate_task(t), std::nullopt) << bad_name;
  }
  t = batch();
  t.as.uid = 0;
  EXPECT_NE(validate_task(t), std::nullopt);
  t = batch();
  t.copies.resize(kMaxBatchCopies + 1, t.copies[0]);
  EXPECT_NE(validate_task(t), std::nullopt);
}

}  // namespace
}  // namespace estafeta::delivery
