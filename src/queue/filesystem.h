// The few file-system calls the spool makes, behind an interface so that tests can inject
// faults and drop unsynced data (LevelDB's Env / fault_injection_test). Directories are
// handled as open descriptors so that the hot path uses openat/renameat, not full paths.
// Errors are Status/Result with the syscall, the name and strerror, and errno as the
// Error's code (what the SMTP reply to a failed commit depends on). Implementations must be
// safe to call from several threads at once (the POSIX one is: each call is one syscall).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::queue {

/// Which file a name or a descriptor refers to, and how many names it has.
struct FileIdentity {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t links = 0;
  bool same_file(const FileIdentity& other) const {
    return device == other.device && inode == other.inode;
  }
};

class Filesystem {
 public:
  virtual ~Filesystem() = default;

  /// mkdir(path, mode); an existing directory is success.
  virtual Status make_dir(const std::string& path, int mode) = 0;
  /// rmdir(path) of an empty directory; a missing one is success.
  virtual Status remove_dir(const std::string& path) = 0;
  /// Opens a directory for the *at calls and for sync_dir. Caller closes it with close().
  virtual Result<int> open_dir(const std::string& path) = 0;
  /// Names in a directory, without "." and "..".
  virtual Result<std::vector<std::string>> list_dir(int dir) = 0;
  /// Creates dir/name exclusively (O_EXCL), mode 0600, for writing. Caller closes it.
  virtual Result<int> create_file(int dir, const std::string& name) = 0;
  /// Writes all of `data` at the current offset.
  virtual Status write_all(int fd, std::string_view data) = 0;
  /// fdatasync(fd): the file's data and the metadata needed to read it back are stable.
  virtual Status sync_data(int fd) = 0;
  /// Opens dir/name read-only (never following a symbolic link). Caller closes it.
  virtual Result<int> open_read(int dir, const std::string& name) = 0;
  /// Opens dir/name for appending, creating it (mode 0600) if missing; `created` tells
  /// which. Caller closes it.
  struct Appender {
    int fd = -1;
    bool created = false;
  };
  virtual Result<Appender> open_append(int dir, const std::string& name) = 0;
  /// Up to `max` bytes from `offset` (fewer only at the end of the file).
  virtual Result<std::string> read_at(int fd, uint64_t offset, size_t max) = 0;
  /// The file's size.
  virtual Result<uint64_t> file_size(int fd) = 0;
  /// ftruncate(fd, size).
  virtual Status truncate(int fd, uint64_t size) = 0;
  /// dir/name's modification time, microseconds since the epoch.
  virtual Result<int64_t> modified_time(int dir, const std::string& name) = 0;
  /// Sets dir/name's modification (and access) time. Not synced: the queue manager keeps a
  /// deferred message's next attempt there (as Postfix does); losing it in a crash only
  /// makes the next attempt come sooner.
  virtual Status set_modified_time(int dir, const std::string& name, int64_t time_us) = 0;
  /// fsync(dir): every entry change made in the directory before the call is stable.
  virtual Status sync_dir(int dir) = 0;
  /// renameat2(..., RENAME_NOREPLACE) (plain renameat where unsupported): never replaces.
  virtual Status rename(int from_dir, const std::string& from, int to_dir,
                        const std::string& to) = 0;
  /// linkat: a second name for from_dir/from; never replaces (an existing `to` is EEXIST).
  virtual Status link(int from_dir, const std::string& from, int to_dir,
                      const std::string& to) = 0;
  /// unlinkat(dir, name); a missing name is success.
  virtual Status unlink(int dir, const std::string& name) = 0;
  /// fstatat(dir, name) without following a symbolic link.
  virtual Result<FileIdentity> identify(int dir, const std::string& name) = 0;
  /// fstat(fd).
  virtual Result<FileIdentity> identify_open(int fd) = 0;
  /// True if dir/name exists (any type).
  virtual bool exists(int dir, const std::string& name) = 0;
  virtual void close(int fd) = 0;
};

/// The real thing: one system call per method.
std::unique_ptr<Filesystem> make_posix_filesystem();

}  // namespace estafeta::queue
