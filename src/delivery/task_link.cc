// One link carrying delivery tasks and their replies. See task_link.h.
#include "delivery/task_link.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "delivery/fd_passing.h"

namespace estafeta::delivery {
namespace {

// A reply datagram is small: results with content travel in a memfd.
constexpr size_t kMaxReplyBytes = 64 * 1024;

Result<std::string> read_whole(int fd) {
  std::string out;
  char buf[65536];
  off_t offset = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int code = errno;
      return make_error(fmt::format("read the result: {}", std::strerror(code)), code);
    }
    if (n == 0) return out;
    if (out.size() + static_cast<size_t>(n) > kMaxReadLimit + kMaxReplyBytes) {
      return make_error("result too large");
    }
    out.append(buf, static_cast<size_t>(n));
    offset += n;
  }
}

TaskResult result_from_fd(int fd) {
  auto bytes = read_whole(fd);
  ::close(fd);
  if (!bytes) return deferred("4.3.0", "delivery result: " + bytes.error().message);
  auto result = decode_result(*bytes);
  if (!result) return deferred("4.3.0", "delivery result: " + result.error().message);
  return *result;
}

}  // namespace

TaskLink::TaskLink(int socket, std::string peer) : socket_(socket), peer_(std::move(peer)) {}

TaskLink::~TaskLink() {
  ::shutdown(socket_, SHUT_RDWR);
  ::close(socket_);
}

bool TaskLink::dead() const {
  std::lock_guard lock(mutex_);
  return !dead_.empty();
}

size_t TaskLink::in_flight() const {
  std::lock_guard lock(mutex_);
  return waiting_.size();
}

std::chrono::steady_clock::time_point TaskLink::last_used() const {
  std::lock_guard lock(mutex_);
  return last_used_;
}

void TaskLink::shut_down(std::string why) {
  ::shutdown(socket_, SHUT_RDWR);  // a poller sees POLLHUP; the other end sees EOF
  std::lock_guard lock(mutex_);
  if (dead_.empty()) dead_ = std::move(why);
  for (auto& [id, waiter] : waiting_) waiter->woken.notify_one();
}

void TaskLink::receive_one() {
  auto datagram = receive_datagram(socket_, kMaxReplyBytes);
  if (!datagram) return shut_down(datagram.error().message);
  if (!datagram->has_value()) return shut_down("the " + peer_ + " exited");
  Datagram& d = **datagram;
  auto reply = decode_reply(d.bytes);
  if (!reply) {
    if (d.fd >= 0) ::close(d.fd);
    return shut_down(reply.error().message);
  }
  if (reply->published) {
    if (d.fd >= 0) {
      ::close(d.fd);
      return shut_down("a reply with an unexpected descriptor");
    }
    std::lock_guard lock(mutex_);
    auto it = waiting_.find(reply->id);
    if (it != waiting_.end()) {
      it->second->published = true;
      it->second->woken.notify_one();
    }
    return;
  }
  bool accepts_fd = false;
  {
    std::lock_guard lock(mutex_);
    auto it = waiting_.find(reply->id);
    accepts_fd = it != waiting_.end() && it->second->accept_fd;
  }
  const bool own_fd = !reply->result_in_fd && d.fd >= 0;
  if (own_fd && !accepts_fd) {
    ::close(d.fd);
    return shut_down("a reply with an unexpected descriptor");
  }
  if (reply->result_in_fd && d.fd < 0) return shut_down("reply without its result");
  TaskResult result = reply->result_in_fd ? result_from_fd(d.fd) : std::move(reply->result);
  std::lock_guard lock(mutex_);
  auto it = waiting_.find(reply->id);
  if (it == waiting_.end()) {  // its caller left (the link was shut down meanwhile)
    if (own_fd) ::close(d.fd);
    return;
  }
  it->second->result = std::move(result);
  if (own_fd) it->second->received_fd = d.fd;
  it->second->woken.notify_one();
}

void TaskLink::hand_over_reading(const Waiter* self) {
  for (auto& [other, waiter] : waiting_) {
    if (waiter != self && !waiter->result && !waiter->in_callback) {
      waiter->woken.notify_one();
      return;
    }
  }
}

TaskLink::Outcome TaskLink::run(const DeliveryTask& task, int message_fd, bool accept_fd,
                                const std::function<void()>& published) {
  Waiter me;
  me.accept_fd = accept_fd;
  uint64_t id;
  {
    std::lock_guard lock(mutex_);
    if (!dead_.empty()) {
      return {deferred("4.3.0", fmt::format("{} unavailable: {}", peer_, dead_)), true};
    }
    id = next_id_++;
    waiting_[id] = &me;
    last_used_ = std::chrono::steady_clock::now();
  }
  TaskRequest tagged{id, task};
  tagged.task.report_published = static_cast<bool>(published);
  const std::string request = encode_request(tagged);
  Status sent = request.size() > kMaxTaskRequestBytes
                    ? Status(make_error("delivery task too large"))
                    : send_datagram(socket_, request, message_fd);
  std::unique_lock lock(mutex_);
  while (sent.ok() && !me.result && dead_.empty()) {
    if (me.published && !me.published_told) {
      me.published_told = true;
      if (published) {
        if (!reading_) hand_over_reading(&me);  // the others read on while this one reports
        me.in_callback = true;
        lock.unlock();
        published();
        lock.lock();
        me.in_callback = false;
      }
      continue;
    }
    if (reading_) {
      me.woken.wait(lock);
      continue;
    }
    // The reader: read one reply for whoever it is for, then look again.
    reading_ = true;
    lock.unlock();
    receive_one();
    lock.lock();
    reading_ = false;
  }
  waiting_.erase(id);
  last_used_ = std::chrono::steady_clock::now();
  // Leaving without reading any more: another waiter becomes the reader.
  if (!reading_) hand_over_reading(nullptr);
  if (me.result) return {std::move(*me.result), false, me.received_fd};
  if (me.received_fd >= 0) ::close(me.received_fd);
  if (!sent.ok()) {
    return {deferred("4.3.0", fmt::format("cannot pass the task to the {}: {}", peer_,
                                          sent.error().message)),
            true};
  }
  return {deferred("4.3.0", fmt::format("{} unavailable: {}", peer_, dead_)), false};
}

}  // namespace estafeta::delivery
