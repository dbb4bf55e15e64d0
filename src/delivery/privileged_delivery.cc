// The agent's side of the privileged delivery link, and start(). See privileged_delivery.h.
#include "delivery/privileged_delivery.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "delivery/fd_passing.h"
#include "delivery/spawner.h"

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

Result<std::unique_ptr<PrivilegedDelivery>> PrivilegedDelivery::start(TaskPolicy policy) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    const int code = errno;
    return make_error(fmt::format("socketpair: {}", std::strerror(code)), code);
  }
  const bool privileged = ::geteuid() == 0;
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int code = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    return make_error(fmt::format("fork: {}", std::strerror(code)), code);
  }
  if (pid == 0) {
    ::close(sv[0]);
    ::_exit(run_spawner(sv[1], privileged, std::move(policy)));
  }
  ::close(sv[1]);
  return std::unique_ptr<PrivilegedDelivery>(new PrivilegedDelivery(sv[0], pid, privileged));
}

PrivilegedDelivery::PrivilegedDelivery(int socket, pid_t pid, bool privileged)
    : socket_(socket), pid_(pid), privileged_(privileged) {}

PrivilegedDelivery::~PrivilegedDelivery() {
  ::shutdown(socket_, SHUT_RDWR);
  ::close(socket_);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

void PrivilegedDelivery::mark_dead(std::string why) {
  ::shutdown(socket_, SHUT_RDWR);  // exit_fd() hangs up; a live spawner sees EOF and exits
  std::lock_guard lock(mutex_);
  if (dead_.empty()) dead_ = std::move(why);
  for (auto& [id, waiter] : waiting_) waiter->woken.notify_one();
}

void PrivilegedDelivery::receive_one() {
  auto datagram = receive_datagram(socket_, kMaxReplyBytes);
  if (!datagram) return mark_dead(datagram.error().message);
  if (!datagram->has_value()) return mark_dead("the delivery spawner exited");
  Datagram& d = **datagram;
  auto reply = decode_reply(d.bytes);
  if (!reply || reply->result_in_fd != (d.fd >= 0)) {
    if (d.fd >= 0) ::close(d.fd);
    return mark_dead(reply ? "reply without its result" : reply.error().message);
  }
  TaskResult result = reply->result_in_fd ? result_from_fd(d.fd) : std::move(reply->result);
  std::lock_guard lock(mutex_);
  if (auto it = waiting_.find(reply->id); it != waiting_.end()) {
    it->second->result = std::move(result);
    it->second->woken.notify_one();
  }
}

TaskResult PrivilegedDelivery::run(const DeliveryTask& task, int message_fd) {
  Waiter me;
  uint64_t id;
  {
    std::lock_guard lock(mutex_);
    if (!dead_.empty()) return deferred("4.3.0", "delivery spawner unavailable: " + dead_);
    id = next_id_++;
    waiting_[id] = &me;
  }
  const std::string request = encode_request({id, task});
  Status sent = request.size() > kMaxTaskRequestBytes
                    ? Status(make_error("delivery task too large"))
                    : send_datagram(socket_, request, message_fd);
  std::unique_lock lock(mutex_);
  while (sent.ok() && !me.result && dead_.empty()) {
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
  // Leaving without reading any more: another waiter becomes the reader.
  if (!reading_) {
    for (auto& [other, waiter] : waiting_) {
      if (!waiter->result) {
        waiter->woken.notify_one();
        break;
      }
    }
  }
  if (me.result) return std::move(*me.result);
  if (!sent.ok()) {
    return deferred("4.3.0",
                    "cannot pass the task to the delivery spawner: " + sent.error().message);
  }
  return deferred("4.3.0", "delivery spawner unavailable: " + dead_);
}

}  // namespace estafeta::delivery
