// Group commit of Maildir copies for one worker. See maildir_batcher.h.
#include "delivery/maildir_batcher.h"

#include <algorithm>
#include <string>

namespace estafeta::delivery {

size_t maildir_copy_request_bytes(const MaildirCopy& copy) {
  return copy.path.size() + copy.maildir_name.size() + kMaildirCopyOverheadBytes;
}

std::vector<TaskResult> results_per_copy(const TaskResult& result, size_t copies) {
  if (result.parts.size() == copies) return result.parts;
  const TaskResult whole = result.status == TaskStatus::Deferred
                               ? result
                               : deferred("4.3.0",
                                          "delivery process answered without a result per copy");
  return std::vector<TaskResult>(copies, whole);
}

std::vector<TaskResult> MaildirBatcher::run(const DeliveryTask& task, std::string_view bytes,
                                            const Send& send, const Published& published) {
  Pending me;
  me.task = &task;
  me.bytes = bytes;
  if (published) me.published = &published;
  std::unique_lock lock(mutex_);
  waiting_.push_back(&me);
  while (!me.done) {
    if (in_flight_ < tasks_in_flight_ && !waiting_.empty() && waiting_.front() == &me) {
      // First in line with a free slot: lead a batch (it holds at least my copies).
      std::vector<Pending*> batch = take_batch();
      ++in_flight_;
      // The next in line may lead too while this batch is out.
      if (in_flight_ < tasks_in_flight_ && !waiting_.empty()) waiting_.front()->woken.notify_one();
      lock.unlock();
      send_batch(batch, send);
      lock.lock();
      --in_flight_;
      for (Pending* p : batch) {
        p->done = true;
        if (p != &me) p->woken.notify_one();
      }
      if (!waiting_.empty()) waiting_.front()->woken.notify_one();
      continue;
    }
    me.woken.wait(lock);
  }
  return std::move(me.results);
}

size_t MaildirBatcher::waiting_callers() {
  std::lock_guard lock(mutex_);
  return waiting_.size();
}

std::vector<MaildirBatcher::Pending*> MaildirBatcher::take_batch() {
  std::vector<Pending*> batch;
  size_t copies = 0, request_bytes = 0, message_bytes = 0;
  while (!waiting_.empty()) {
    Pending* next = waiting_.front();
    size_t next_request_bytes = 0;
    for (const MaildirCopy& c : next->task->copies) {
      next_request_bytes += maildir_copy_request_bytes(c);
    }
    const bool fits = copies + next->task->copies.size() <= kMaxBatchCopies &&
                      request_bytes + next_request_bytes <= kMaildirBatchRequestBytes &&
                      message_bytes + next->bytes.size() <= kMaildirBatchMessageBytes;
    if (!batch.empty() && !fits) break;
    batch.push_back(next);
    waiting_.pop_front();
    copies += next->task->copies.size();
    request_bytes += next_request_bytes;
    message_bytes += next->bytes.size();
  }
  return batch;
}

void MaildirBatcher::tell_published(const std::vector<Pending*>& batch) {
  // Each caller is in run() until its batch's result, which comes after this: its callback
  // and what it refers to are alive.
  for (Pending* p : batch) {
    if (p->published != nullptr) (*p->published)();
  }
}

void MaildirBatcher::send_batch(const std::vector<Pending*>& batch, const Send& send) {
  // Only when a caller of the batch listens: otherwise the worker need not say it.
  const bool listened = std::any_of(batch.begin(), batch.end(),
                                    [](const Pending* p) { return p->published != nullptr; });
  Published mark_published;
  if (listened) mark_published = [this, &batch] { tell_published(batch); };
  if (batch.size() == 1) {
    Pending& only = *batch.front();
    only.results =
        results_per_copy(send(*only.task, only.bytes, mark_published), only.task->copies.size());
    return;
  }
  DeliveryTask combined = *batch.front()->task;
  combined.copies.clear();
  std::string bytes;
  size_t total = 0;
  for (const Pending* p : batch) total += p->bytes.size();
  bytes.reserve(total);
  for (const Pending* p : batch) {
    for (MaildirCopy copy : p->task->copies) {
      copy.offset += bytes.size();
      combined.copies.push_back(std::move(copy));
    }
    bytes.append(p->bytes);
  }
  const std::vector<TaskResult> results =
      results_per_copy(send(combined, bytes, mark_published), combined.copies.size());
  size_t next = 0;
  for (Pending* p : batch) {
    const size_t n = p->task->copies.size();
    p->results.assign(results.begin() + static_cast<std::ptrdiff_t>(next),
                      results.begin() + static_cast<std::ptrdiff_t>(next + n));
    next += n;
  }
}

}  // namespace estafeta::delivery
