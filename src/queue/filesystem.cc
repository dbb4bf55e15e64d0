// POSIX implementation of queue::Filesystem: each method is one system call (plus EINTR
// retries), errors carry the call name, the file name and strerror(errno), and errno as the
// Error's code.
#include "queue/filesystem.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace estafeta::queue {
namespace {

// Call right after the failed system call: errno is read first.
Error sys_error(std::string_view call, std::string_view name) {
  const int code = errno;
  return make_error(fmt::format("{}({}): {}", call, name, std::strerror(code)), code);
}

class PosixFilesystem : public Filesystem {
 public:
  Status make_dir(const std::string& path, int mode) override {
    if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) == 0 || errno == EEXIST) return {};
    return sys_error("mkdir", path);
  }

  Status remove_dir(const std::string& path) override {
    if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return {};
    return sys_error("rmdir", path);
  }

  Result<int> open_dir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sys_error("open", path);
    return fd;
  }

  Result<std::vector<std::string>> list_dir(int dir) override {
    // fdopendir takes ownership of its descriptor: give it a duplicate.
    int fd = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sys_error("openat", ".");
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      Error e = sys_error("fdopendir", ".");
      ::close(fd);
      return e;
    }
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    ::closedir(d);
    return names;
  }

  Result<int> create_file(int dir, const std::string& name) override {
    int fd = ::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return sys_error("openat", name);
    return fd;
  }

  Status write_all(int fd, std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::write(fd, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sys_error("write", "queue file");
      data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
  }

  Status sync_data(int fd) override {
    while (::fdatasync(fd) != 0) {
      if (errno != EINTR) return sys_error("fdatasync", "queue file");
    }
    return {};
  }

  Result<int> open_read(int dir, const std::string& name) override {
    int fd = ::openat(dir, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return sys_error("openat", name);
    return fd;
  }

  Result<Appender> open_append(int dir, const std::string& name) override {
    constexpr int kFlags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW;
    int fd = ::openat(dir, name.c_str(), kFlags);
    if (fd >= 0) return Appender{fd, false};
    if (errno != ENOENT) return sys_error("openat", name);
    fd = ::openat(dir, name.c_str(), kFlags | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return sys_error("openat", name);
    return Appender{fd, true};
  }

  Result<std::string> read_at(int fd, uint64_t offset, size_t max) override {
    std::string out(max, '\0');
    size_t got = 0;
    while (got < max) {
      ssize_t n = ::pread(fd, out.data() + got, max - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sys_error("pread", "queue file");
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    out.resize(got);
    return out;
  }

  Result<uint64_t> file_size(int fd) override {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return sys_error("fstat", "queue file");
    return static_cast<uint64_t>(st.st_size);
  }

  Result<int64_t> modified_time(int dir, const std::string& name) override {
    struct stat st {};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return sys_error("fstatat", name);
    }
    return int64_t(st.st_mtim.tv_sec) * 1000000 + st.st_mtim.tv_nsec / 1000;
  }

  Status set_modified_time(int dir, const std::string& name, int64_t time_us) override {
    timespec times[2];
    times[0].tv_sec = time_us / 1000000;
    times[0].tv_nsec = (time_us % 1000000) * 1000;
    times[1] = times[0];
    if (::utimensat(dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return sys_error("utimensat", name);
    }
    return {};
  }

  Status truncate(int fd, uint64_t size) override {
    while (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      if (errno != EINTR) return sys_error("ftruncate", "queue file");
    }
    return {};
  }

  Status sync_dir(int dir) override {
    while (::fsync(dir) != 0) {
      if (errno != EINTR) return sys_error("fsync", "queue directory");
    }
    return {};
  }

  Result<FileIdentity> identify(int dir, const std::string& name) override {
    struct stat st;
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return sys_error("fstatat", name);
    }
    return FileIdentity{st.st_dev, st.st_ino, st.st_nlink};
  }
  Result<FileIdentity> identify_open(int fd) override {
    struct stat st;
    if (::fstat(fd, &st) != 0) return sys_error("fstat", "");
    return FileIdentity{st.st_dev, st.st_ino, st.st_nlink};
  }
  Status link(int from_dir, const std::string& from, int to_dir, const std::string& to) override {
    if (::linkat(from_dir, from.c_str(), to_dir, to.c_str(), 0) != 0) {
      return sys_error("linkat", from);
    }
    return {};
  }
  Status rename(int from_dir, const std::string& from, int to_dir, const std::string& to) override {
    if (::syscall(SYS_renameat2, from_dir, from.c_str(), to_dir, to.c_str(), RENAME_NOREPLACE) ==
        0) {
      return {};
    }
    if (errno != EINVAL && errno != ENOSYS) return sys_error("renameat2", from);
    // XXX: file systems without RENAME_NOREPLACE: check, then rename (racy but queue ids
    // are unique by construction; the check is a second line of defence).
    if (exists(to_dir, to)) {
      errno = EEXIST;
      return sys_error("renameat", to);
    }
    if (::renameat(from_dir, from.c_str(), to_dir, to.c_str()) != 0) {
      return sys_error("renameat", from);
    }
    return {};
  }

  Status unlink(int dir, const std::string& name) override {
    if (::unlinkat(dir, name.c_str(), 0) == 0 || errno == ENOENT) return {};
    return sys_error("unlinkat", name);
  }

  bool exists(int dir, const std::string& name) override {
    return ::faccessat(dir, name.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0;
  }

  void close(int fd) override { ::close(fd); }
};

}  // namespace

std::unique_ptr<Filesystem> make_posix_filesystem() { return std::make_unique<PosixFilesystem>(); }

}  // namespace estafeta::queue
