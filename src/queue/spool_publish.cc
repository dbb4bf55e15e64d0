// The spool's publication of acknowledged files and its clean-up of incoming/ (see
// spool.h): the publisher thread that links pre-created files into active/ after their
// acknowledgement, and Spool::open's recovery of what a dead writer left (a dead writer's
// liveness lock is free: liveness_lock.h). The crash-safety argument is in
// docs/queue-format.md, section 4.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "base/clock.h"
#include "queue/background_thread.h"
#include "queue/queue_file.h"
#include "queue/spool.h"

namespace estafeta::queue {
namespace {

// A whole file in incoming/ this old is published even if its writer's pid is alive (the
// pid may have been reused by another process): its writer publishes within milliseconds.
constexpr int64_t kStrandedAfterUs = 60 * 1000 * 1000;
// How long the publisher waits before trying a failed batch again.
constexpr auto kPublishRetry = std::chrono::seconds(1);
// How often the publisher looks for whole files nobody published (kStrandedAfterUs).
constexpr auto kStrandedScanInterval = std::chrono::seconds(60);

}  // namespace

// What a writer that is gone left in incoming/. A whole queue file may have been
// acknowledged (its data was synced, and its name in incoming/ was stable before the first
// write): it is published into active/ as the publisher does (after a data sync of ours:
// its writer may have died before its own), or moved into hold/ when it records HOLD. An incomplete
// one was never acknowledged, so removing it loses nothing; one that cannot be read is left alone.
// Files of a live writer (another smtpd, `smtpd -bs` under inetd, another Spool of this process)
// are in flight and stay, unless whole and last written more than a minute ago (a pid reused
// since).
Status Spool::recover_incoming() {
  auto names = fs_->list_dir(incoming_dir_);
  if (!names) return names.error();
  std::vector<std::string> whole;
  for (const auto& name : *names) {
    const int pid = queue_id_pid(name);
    if (pid <= 0) {  // not a queue id: nothing of ours
      if (Status s = fs_->unlink(incoming_dir_, name); !s.ok()) return s;
      continue;
    }
    const bool alive = writer_alive(options_.queue_directory, pid);
    if (alive && !is_stranded(name)) continue;
    switch (examine_incoming(name)) {
      case IncomingState::kWhole:
        whole.push_back(name);
        break;
      case IncomingState::kWholeHeld:
        // HOLD: where its writer was taking it (it may have been acknowledged).
        if (Status s = move_into_hold(name); !s.ok()) {
          warn(fmt::format("incoming/{}: cannot move into hold/: {}", name, s.error().message));
        }
        break;
      case IncomingState::kIncomplete:
        if (alive) break;
        if (Status s = fs_->unlink(incoming_dir_, name); !s.ok()) return s;
        break;
      case IncomingState::kUnreadable:
        warn(fmt::format("incoming/{}: cannot be read; left in place", name));
        break;
    }
  }
  if (Status s = fs_->sync_dir(incoming_dir_); !s.ok()) return s;
  if (whole.empty()) return {};
  PublishOutcome outcome = publish(std::move(whole));
  for (const std::string& id : outcome.published) wake_up(id);
  for (const std::string& id : outcome.retry) {
    warn(fmt::format("incoming/{}: whole queue file not moved into active/ yet", id));
  }
  return {};
}

Spool::IncomingState Spool::examine_incoming(const std::string& name) {
  auto fd = fs_->open_read(incoming_dir_, name);
  if (!fd) {
    return fd.error().code == ENOENT ? IncomingState::kIncomplete : IncomingState::kUnreadable;
  }
  IncomingState state = IncomingState::kUnreadable;
  auto size = fs_->file_size(*fd);
  if (size && *size == 0) {
    state = IncomingState::kIncomplete;
  } else if (size) {
    auto bytes = fs_->read_at(*fd, 0, *size);
    auto file = bytes ? decode_queue_file(*bytes) : Result<QueueFile>(make_error("unread"));
    if (bytes && !file.ok()) {
      state = IncomingState::kIncomplete;
    } else if (bytes) {
      const IncomingState whole =
          file->envelope.actions.hold ? IncomingState::kWholeHeld : IncomingState::kWhole;
      state = fs_->sync_data(*fd).ok() ? whole : IncomingState::kUnreadable;
    }
  }
  fs_->close(*fd);
  return state;
}

bool Spool::is_stranded(const std::string& name) {
  auto modified = fs_->modified_time(incoming_dir_, name);
  return modified && *modified < system_now_us() - kStrandedAfterUs;
}

std::vector<std::string> Spool::stranded_whole_files() {
  std::vector<std::string> stranded;
  auto names = fs_->list_dir(incoming_dir_);
  if (!names) return stranded;
  for (const auto& name : *names) {
    if (queue_id_pid(name) > 0 && is_stranded(name) &&
        examine_incoming(name) == IncomingState::kWhole) {
      stranded.push_back(name);
    }
  }
  return stranded;
}

void Spool::warn(const std::string& text) const {
  if (options_.warn) options_.warn(text);
}

void Spool::publish_loop() {
  (void)make_current_thread_background();
  std::vector<std::string> retry;  // acknowledged, still only in incoming/
  auto next_stranded_scan = std::chrono::steady_clock::now() + kStrandedScanInterval;
  for (;;) {
    std::vector<std::string> batch;
    bool stopping = false;
    {
      std::unique_lock lock(publish_mutex_);
      auto ready = [this] { return publish_stopping_ || !to_publish_.empty(); };
      const auto until = retry.empty() ? next_stranded_scan
                                       : std::min(next_stranded_scan,
                                                  std::chrono::steady_clock::now() + kPublishRetry);
      publish_cv_.wait_until(lock, until, ready);
      batch.swap(to_publish_);
      stopping = publish_stopping_;
    }
    batch.insert(batch.end(), retry.begin(), retry.end());
    retry.clear();
    if (!stopping && std::chrono::steady_clock::now() >= next_stranded_scan) {
      std::vector<std::string> stranded = stranded_whole_files();
      batch.insert(batch.end(), stranded.begin(), stranded.end());
      next_stranded_scan = std::chrono::steady_clock::now() + kStrandedScanInterval;
    }
    if (!batch.empty()) {
      PublishOutcome outcome = publish(std::move(batch));
      for (const std::string& id : outcome.published) wake_up(id);
      retry = std::move(outcome.retry);
    }
    if (stopping) return;  // what is left stays in incoming/ for the next Spool::open
  }
}

// The order keeps a stable name at every moment: link into active/, fsync(active/), and
// only then unlink the incoming/ name. A crash in between leaves both names; Spool::open
// then finds the incoming/ one whole and publishes it again, which finds the active/ name
// (the same file: checked) and only removes its twin.
Spool::PublishOutcome Spool::publish(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  PublishOutcome outcome;
  std::vector<std::string> linked;
  for (std::string& id : ids) {
    Status s = fs_->link(incoming_dir_, id, active_dir_, id);
    const int code = s.ok() ? 0 : s.error().code;
    if (code == 0) {
      linked.push_back(std::move(id));
      continue;
    }
    auto incoming = fs_->identify(incoming_dir_, id);
    auto active = fs_->identify(active_dir_, id);
    if (code == EEXIST && incoming && active && incoming->same_file(*active)) {
      linked.push_back(std::move(id));  // published before (a crash, another Spool)
    } else if (code == EEXIST && incoming && active) {
      // Never replace a queued message, never drop this one: it waits for the postmaster.
      warn(
          fmt::format("incoming/{}: acknowledged, but active/{} is another file (a queue id "
                      "used twice); it stays in incoming/",
                      id, id));
    } else if (code == ENOENT && !incoming && active) {
      outcome.published.push_back(std::move(id));  // another Spool's recovery published it
    } else if (code == ENOENT && !incoming) {
      warn(
          fmt::format("incoming/{}: acknowledged, but removed from outside before it reached "
                      "active/",
                      id));
    } else {
      warn(fmt::format("incoming/{}: cannot link into active/ ({}); trying again", id,
                       s.error().message));
      outcome.retry.push_back(std::move(id));
    }
  }
  if (linked.empty()) return outcome;
  Status synced = group_sync_.sync("active", [this] { return fs_->sync_dir(active_dir_); });
  if (!synced.ok()) {
    warn(fmt::format("fsync of active/: {}; acknowledged files keep their incoming/ names",
                     synced.error().message));
    keep_incoming_names_ = true;
    outcome.retry.insert(outcome.retry.end(), linked.begin(), linked.end());
    return outcome;
  }
  for (const std::string& id : linked) {
    if (!keep_incoming_names_) (void)fs_->unlink(incoming_dir_, id);
  }
  outcome.published.insert(outcome.published.end(), linked.begin(), linked.end());
  return outcome;
}

}  // namespace estafeta::queue
