// POSIX implementation of queue::Filesystem: each method is one system call (plus EINTR
// retries), errors carry the call name, the file name and strerror(errno).
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

Error sys_error(std::string_view call, std::string_view name) {
  return make_error(fmt::format("{}({}): {}", call, name, std::strerror(errno)));
}

class PosixFilesystem : public Filesystem {
 public:
  Status make_dir(const std::string& path, int mode) override {
    if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) == 0 || errno == EEXIST) return {};
    return sys_error("mkdir", path);
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
      ::close(fd);
      return sys_error("fdopendir", ".");
    }
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    ::closedir(d);
    return names;
  }

  Result<Reused> reuse_file(int from_dir, const std::string& from, int to_dir,
                            const std::string& to) override {
    if (Status moved = rename(from_dir, from, to_dir, to); !moved.ok()) return moved.error();
    int fd = ::openat(to_dir, to.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return sys_error("openat", to);
    // A second name for this inode (say a queue file in active/ whose removal a power loss
    // undid, and fsck counted both links): truncating would destroy it. Drop our name.
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_nlink != 1 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      (void)::unlinkat(to_dir, to.c_str(), 0);
      return make_error("reuse_file: not a regular file with one link");
    }
    // Not truncated: overwriting blocks already allocated spares the block allocator, and
    // fdatasync then writes no inode while the size stays. The decoder ignores what follows
    // END. Only a large stale tail goes, since the delivery agent reads the whole file.
    if (st.st_size > kMaxStaleTail) {
      if (::ftruncate(fd, 0) != 0) {
        Error e = sys_error("ftruncate", to);
        ::close(fd);
        return e;
      }
      st.st_size = 0;
    }
    return Reused{fd, static_cast<uint64_t>(st.st_size)};
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

  Status write_back(int fd) override {
    constexpr unsigned kFlags =
        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
    while (::sync_file_range(fd, 0, 0, kFlags) != 0) {
      if (errno == EINTR) continue;
      if (errno == ENOSYS || errno == EINVAL) return sync_data(fd);  // not supported here
      return sys_error("sync_file_range", "queue file");
    }
    return {};
  }

  Status sync_dir(int dir) override {
    while (::fsync(dir) != 0) {
      if (errno != EINTR) return sys_error("fsync", "queue directory");
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
