// MaildirBatcher: copies handed in while a batch is out leave together as the next one,
// each caller gets the results of its own copies, and the batch limits hold.
#include "delivery/maildir_batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace estafeta::delivery {
namespace {

// A MaildirBatch of `names`, each copy's bytes "<name>;" one after another.
struct CallerTask {
  DeliveryTask task;
  std::string bytes;
};
CallerTask caller_task(const std::vector<std::string>& names) {
  CallerTask out;
  out.task.kind = TaskKind::MaildirBatch;
  out.task.as = {1000, 1000, {}, "user", ""};
  for (const std::string& name : names) {
    MaildirCopy c;
    c.path = "/home/user/Maildir/";
    c.maildir_name = name;
    c.offset = out.bytes.size();
    c.length = name.size() + 1;
    out.bytes += name + ";";
    out.task.copies.push_back(c);
  }
  return out;
}

// The worker's stand-in: answers every copy Delivered with its name and bytes as text,
// records each task, and holds its first `hold` calls, call n until release() has been
// called n + 1 times. With `publish_first`, each call says its copies are published before
// it is held.
class FakeWorker {
 public:
  explicit FakeWorker(int hold = 0, bool publish_first = false)
      : hold_(hold), publish_first_(publish_first) {}
  TaskResult send(const DeliveryTask& task, std::string_view bytes,
                  const MaildirBatcher::Published& published) {
    if (publish_first_) published();
    {
      std::unique_lock lock(mutex_);
      tasks_.push_back(task);
      const int call = calls_++;
      if (call < hold_) released_.wait(lock, [this, call] { return releases_ > call; });
    }
    TaskResult all{TaskStatus::Delivered, "2.0.0", "batch", {}, 0, {}};
    for (const MaildirCopy& c : task.copies) {
      TaskResult part{TaskStatus::Delivered, "2.0.0", "", {}, 0, {}};
      part.text = c.maildir_name + "=" + std::string(bytes.substr(c.offset, c.length));
      all.parts.push_back(part);
    }
    return all;
  }
  void release() {
    std::lock_guard lock(mutex_);
    ++releases_;
    released_.notify_all();
  }
  std::vector<DeliveryTask> tasks() {
    std::lock_guard lock(mutex_);
    return tasks_;
  }

 private:
  const int hold_;
  const bool publish_first_;
  int calls_ = 0;
  int releases_ = 0;
  std::mutex mutex_;
  std::condition_variable released_;
  std::vector<DeliveryTask> tasks_;
};

void wait_for_waiting(MaildirBatcher& batcher, size_t n) {
  for (int i = 0; i < 10000 && batcher.waiting_callers() < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(batcher.waiting_callers(), n);
}

TEST(MaildirBatcher, ALoneCallerSendsItsTaskAtOnce) {
  MaildirBatcher batcher;
  FakeWorker worker;
  CallerTask t = caller_task({"a", "b"});
  auto results = batcher.run(
      t.task, t.bytes,
      [&](const DeliveryTask& task, std::string_view b,
          const MaildirBatcher::Published& published) { return worker.send(task, b, published); });
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].text, "a=a;");
  EXPECT_EQ(results[1].text, "b=b;");
  ASSERT_EQ(worker.tasks().size(), 1u);
  EXPECT_EQ(worker.tasks()[0], t.task);
}

TEST(MaildirBatcher, CopiesArrivingWhileABatchIsOutLeaveTogether) {
  MaildirBatcher batcher(/*tasks_in_flight=*/1);
  FakeWorker worker(/*hold=*/1);
  const MaildirBatcher::Send send = [&](const DeliveryTask& task, std::string_view b,
                                        const MaildirBatcher::Published& published) {
    return worker.send(task, b, published);
  };
  CallerTask first = caller_task({"first"});
  std::vector<TaskResult> first_results;
  std::thread leader([&] { first_results = batcher.run(first.task, first.bytes, send); });
  while (worker.tasks().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  // Three callers come while the first batch is held: they wait, then go as one task.
  std::vector<CallerTask> later = {caller_task({"x1", "x2"}), caller_task({"y1"}),
                                   caller_task({"z1", "z2", "z3"})};
  std::vector<std::vector<TaskResult>> later_results(later.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < later.size(); ++i) {
    threads.emplace_back([&, i] { later_results[i] = batcher.run(later[i].task, later[i].bytes, send); });
    wait_for_waiting(batcher, i + 1);
  }
  worker.release();
  leader.join();
  for (auto& t : threads) t.join();

  const std::vector<DeliveryTask> tasks = worker.tasks();
  ASSERT_EQ(tasks.size(), 2u);
  ASSERT_EQ(tasks[1].copies.size(), 6u);
  EXPECT_EQ(tasks[1].kind, TaskKind::MaildirBatch);
  EXPECT_EQ(tasks[1].as.uid, 1000u);
  ASSERT_EQ(first_results.size(), 1u);
  EXPECT_EQ(first_results[0].text, "first=first;");
  for (size_t i = 0; i < later.size(); ++i) {
    ASSERT_EQ(later_results[i].size(), later[i].task.copies.size());
    for (size_t k = 0; k < later_results[i].size(); ++k) {
      const std::string& name = later[i].task.copies[k].maildir_name;
      EXPECT_EQ(later_results[i][k].text, name + "=" + name + ";");  // its own copy's bytes
    }
  }
}

TEST(MaildirBatcher, ABatchStaysWithinTheCopyLimit) {
  MaildirBatcher batcher(/*tasks_in_flight=*/1);
  FakeWorker worker(/*hold=*/1);
  const MaildirBatcher::Send send = [&](const DeliveryTask& task, std::string_view b,
                                        const MaildirBatcher::Published& published) {
    return worker.send(task, b, published);
  };
  CallerTask first = caller_task({"first"});
  std::thread leader([&] { batcher.run(first.task, first.bytes, send); });
  while (worker.tasks().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // Two callers of 200 copies each: together over kMaxBatchCopies, so two batches.
  std::vector<std::string> names_a, names_b;
  for (int i = 0; i < 200; ++i) {
    names_a.push_back("a" + std::to_string(i));
    names_b.push_back("b" + std::to_string(i));
  }
  CallerTask a = caller_task(names_a), b = caller_task(names_b);
  std::thread ta([&] { batcher.run(a.task, a.bytes, send); });
  wait_for_waiting(batcher, 1);
  std::thread tb([&] { batcher.run(b.task, b.bytes, send); });
  wait_for_waiting(batcher, 2);
  worker.release();
  leader.join();
  ta.join();
  tb.join();
  const std::vector<DeliveryTask> tasks = worker.tasks();
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(tasks[1].copies.size(), 200u);
  EXPECT_EQ(tasks[2].copies.size(), 200u);
}

TEST(MaildirBatcher, ManyThreadsEachGetTheirOwnResults) {
  MaildirBatcher batcher;
  FakeWorker worker;
  const MaildirBatcher::Send send = [&](const DeliveryTask& task, std::string_view b,
                                        const MaildirBatcher::Published& published) {
    return worker.send(task, b, published);
  };
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string name = "t" + std::to_string(t) + "m" + std::to_string(i);
        CallerTask c = caller_task({name});
        auto r = batcher.run(c.task, c.bytes, send);
        if (r.size() != 1 || r[0].text != name + "=" + name + ";") ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  size_t copies = 0;
  for (const DeliveryTask& task : worker.tasks()) copies += task.copies.size();
  EXPECT_EQ(copies, 16u * 200u);
}

TEST(MaildirBatcher, EveryCallerOfABatchHearsItIsPublishedBeforeItsResults) {
  MaildirBatcher batcher(/*tasks_in_flight=*/1);
  FakeWorker worker(/*hold=*/2, /*publish_first=*/true);
  const MaildirBatcher::Send send = [&](const DeliveryTask& task, std::string_view b,
                                        const MaildirBatcher::Published& published) {
    return worker.send(task, b, published);
  };
  std::atomic<int> published{0}, returned{0};
  auto run = [&](const CallerTask& c) {
    batcher.run(c.task, c.bytes, send, [&] { ++published; });
    ++returned;
  };
  auto wait_until = [](const std::atomic<int>& counter, int n) {
    for (int i = 0; i < 10000 && counter.load() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(counter.load(), n);
  };
  CallerTask first = caller_task({"first"}), a = caller_task({"a"}), b = caller_task({"b"});
  std::thread leader([&] { run(first); });
  wait_until(published, 1);  // held by the worker, its copies published
  EXPECT_EQ(returned.load(), 0);
  std::thread ta([&] { run(a); });
  wait_for_waiting(batcher, 1);
  std::thread tb([&] { run(b); });
  wait_for_waiting(batcher, 2);
  worker.release();          // the first batch's result; a and b go as the next one, which is held
  wait_until(published, 3);  // a (the leader) and b (woken) both heard before any result
  EXPECT_EQ(returned.load(), 1);
  worker.release();
  leader.join();
  ta.join();
  tb.join();
  EXPECT_EQ(returned.load(), 3);
  EXPECT_EQ(published.load(), 3);  // once each
  ASSERT_EQ(worker.tasks().size(), 2u);
  EXPECT_EQ(worker.tasks()[1].copies.size(), 2u);
}

TEST(MaildirBatcher, AWholeResultIsSplitPerCopy) {
  TaskResult deferral = deferred("4.3.0", "worker gone");
  auto split = results_per_copy(deferral, 3);
  ASSERT_EQ(split.size(), 3u);
  EXPECT_EQ(split[2].text, "worker gone");
  TaskResult odd{TaskStatus::Delivered, "2.0.0", "no parts", {}, 0, {}};
  split = results_per_copy(odd, 2);
  ASSERT_EQ(split.size(), 2u);
  EXPECT_EQ(split[0].status, TaskStatus::Deferred);
}

}  // namespace
}  // namespace estafeta::delivery
