// Maildrop files (see maildrop.h).
#include "submit/maildrop.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "net/unix_socket.h"

namespace estafeta::submit {
namespace {

constexpr mode_t kWriting = 0600;
constexpr mode_t kReady = 0640;

Error errno_error(const std::string& what) {
  const int code = errno;
  return make_error(fmt::format("{}: {}", what, std::strerror(code)), code);
}

// A name nobody can guess: the time (so pickup takes files roughly in order) and 64 random
// bits.
Result<std::string> new_name() {
  uint64_t random = 0;
  if (::getrandom(&random, sizeof random, 0) != sizeof random) return errno_error("getrandom");
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  return fmt::format("{:014X}{:016X}", us, random);
}

void wake_pickup(const std::string& queue_directory) {
  // Best effort: pickup also scans every minute.
  (void)net::DatagramSender(queue_directory + "/" + kPickupSocket).send("W");
}

Status write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write");
    }
    bytes.remove_prefix(size_t(n));
  }
  return {};
}

}  // namespace

Result<std::string> write_drop_file(const std::string& queue_directory, std::string_view bytes) {
  const std::string dir = queue_directory + "/" + kMaildrop;
  for (int attempt = 0;; ++attempt) {
    auto name = new_name();
    if (!name.ok()) return name.error();
    const std::string path = dir + "/" + *name;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                          kWriting);
    if (fd < 0) {
      if (errno == EEXIST && attempt < 3) continue;
      return errno_error(fmt::format("create a file in {}", dir));
    }
    Status status = write_all(fd, bytes);
    if (status.ok() && ::fchmod(fd, kReady) != 0) status = errno_error("fchmod");
    if (status.ok() && ::fsync(fd) != 0) status = errno_error("fsync");
    if (status.ok() && ::syncfs(fd) != 0) status = errno_error("syncfs");
    ::close(fd);
    if (!status.ok()) {
      ::unlink(path.c_str());
      return make_error(fmt::format("{}: {}", path, status.error().message), status.error().code);
    }
    wake_pickup(queue_directory);
    return *name;
  }
}

Result<DropFileRead> read_drop_file(int dir_fd, const std::string& name, gid_t group,
                                    uint64_t size_limit) {
  DropFileRead out;
  const int fd =
      ::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) return out;  // Gone
    if (errno == EACCES) {
      // Not readable by the group: still being written (or someone else's odd file).
      struct stat st {};
      if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return out;
      out.modified = std::chrono::system_clock::from_time_t(st.st_mtime);
      out.owner = st.st_uid;
      out.kind = DropFileRead::Kind::NotReady;
      return out;
    }
    if (errno == ELOOP) {
      out.kind = DropFileRead::Kind::Refused;
      out.why = "a symbolic link";
      return out;
    }
    return errno_error(fmt::format("open maildrop/{}", name));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Error error = errno_error(fmt::format("fstat maildrop/{}", name));
    ::close(fd);
    return error;
  }
  out.owner = st.st_uid;
  out.modified = std::chrono::system_clock::from_time_t(st.st_mtime);
  out.kind = DropFileRead::Kind::Refused;
  if (!S_ISREG(st.st_mode)) {
    out.why = "not a regular file";
  } else if (st.st_nlink != 1) {
    out.why = fmt::format("{} links (a drop file has one)", st.st_nlink);
  } else if (st.st_gid != group) {
    out.why = fmt::format("group {} (want {}: is maildrop set-group-id?)", st.st_gid, group);
  } else if ((st.st_mode & 0777) != kReady) {
    out.kind = DropFileRead::Kind::NotReady;
  } else if (uint64_t(st.st_size) > size_limit) {
    out.why = fmt::format("{} bytes, larger than the limit of {}", st.st_size, size_limit);
  } else {
    out.kind = DropFileRead::Kind::Ready;
  }
  if (out.kind != DropFileRead::Kind::Ready) {
    ::close(fd);
    return out;
  }
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error error = errno_error(fmt::format("read maildrop/{}", name));
      ::close(fd);
      return error;
    }
    if (n == 0) break;
    out.bytes.append(buffer, size_t(n));
    if (out.bytes.size() > size_limit) {  // grew while we read
      out.kind = DropFileRead::Kind::Refused;
      out.why = fmt::format("grew beyond the limit of {} bytes", size_limit);
      out.bytes.clear();
      break;
    }
  }
  ::close(fd);
  return out;
}

}  // namespace estafeta::submit
