// TaskLink with several callers at once and a scripted peer on a real SOCK_SEQPACKET
// socketpair: a task asks for a published reply only when its caller listens, each
// listening caller hears its own published reply (once, before its result) while the others
// keep waiting for theirs, and every caller gets its own result.
#include "delivery/task_link.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "delivery/fd_passing.h"

namespace estafeta::delivery {
namespace {

DeliveryTask batch_named(const std::string& name) {
  DeliveryTask t;
  t.kind = TaskKind::MaildirBatch;
  t.as = {1000, 1000, {}, "user", ""};
  t.copies = {{"/home/user/Maildir/", name, 0, 1}};
  return t;
}

TaskResult delivered(const std::string& text) {
  return TaskResult{TaskStatus::Delivered, "2.0.0", text, {}, 0, {}};
}

TEST(TaskLink, ListeningCallersHearTheirPublishedRepliesBeforeTheirResults) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  TaskLink link(sv[0], "test worker");
  const int peer = sv[1];

  // The callers: "a" and "b" listen, "c" does not (the map is only read while they run).
  std::map<std::string, std::atomic<int>> told;
  told.emplace("a", 0);
  told.emplace("b", 0);
  std::map<std::string, TaskResult> results;
  std::map<std::string, bool> told_before_result;
  std::vector<std::thread> callers;
  std::mutex results_mutex;
  for (const std::string name : {"a", "b", "c"}) {
    callers.emplace_back([&, name] {
      std::function<void()> published;
      if (name != "c") published = [&told, name] { ++told.at(name); };
      TaskLink::Outcome out = link.run(batch_named(name), -1, false, published);
      std::lock_guard lock(results_mutex);
      results[name] = out.result;
      told_before_result[name] = name == "c" || told.at(name).load() == 1;
    });
  }

  // The peer: the three requests, then a published reply for each that asked, then (once
  // both listeners have heard) the results in reverse order.
  std::map<std::string, uint64_t> ids;
  std::map<std::string, bool> asked;
  for (int i = 0; i < 3; ++i) {
    auto d = receive_datagram(peer, kMaxDatagramBytes);
    ASSERT_TRUE(d.ok() && d->has_value());
    auto request = decode_request((*d)->bytes);
    ASSERT_TRUE(request.ok()) << request.error().message;
    const std::string name = request->task.copies.at(0).maildir_name;
    ids[name] = request->id;
    asked[name] = request->task.report_published;
  }
  EXPECT_TRUE(asked["a"]);
  EXPECT_TRUE(asked["b"]);
  EXPECT_FALSE(asked["c"]);
  for (const std::string name : {"b", "a"}) {
    ASSERT_TRUE(
        send_datagram(peer, encode_reply({ids[name], false, {}, /*published=*/true}), -1).ok());
  }
  for (int i = 0; i < 10000 && (told.at("a").load() == 0 || told.at("b").load() == 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // a bound for a hung test
  }
  EXPECT_EQ(told.at("a").load(), 1);
  EXPECT_EQ(told.at("b").load(), 1);
  for (const std::string name : {"c", "b", "a"}) {
    ASSERT_TRUE(
        send_datagram(peer, encode_reply({ids[name], false, delivered("done " + name)}), -1).ok());
  }
  for (auto& t : callers) t.join();
  for (const std::string name : {"a", "b", "c"}) {
    EXPECT_EQ(results[name].status, TaskStatus::Delivered) << name << ": " << results[name].text;
    EXPECT_EQ(results[name].text, "done " + name);
    EXPECT_TRUE(told_before_result[name]) << name;
  }
  EXPECT_EQ(told.at("a").load(), 1);  // once each
  EXPECT_EQ(told.at("b").load(), 1);
  ::close(peer);
}

}  // namespace
}  // namespace estafeta::delivery
