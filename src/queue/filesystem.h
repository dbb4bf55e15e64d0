// The few file-system calls the spool makes, behind an interface so that tests can inject
// faults and drop unsynced data (LevelDB's Env / fault_injection_test). Directories are
// handled as open descriptors so that the hot path uses openat/renameat, not full paths.
// Errors are Status/Result with the syscall, the name and strerror. Implementations must be
// safe to call from several threads at once (the POSIX one is: each call is one syscall).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::queue {

/// Larger reused files are truncated; smaller ones keep their old bytes after the new END.
inline constexpr long kMaxStaleTail = 64 * 1024;

class Filesystem {
 public:
  virtual ~Filesystem() = default;

  /// mkdir(path, mode); an existing directory is success.
  virtual Status make_dir(const std::string& path, int mode) = 0;
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
  /// The file's data written to the device and waited for, without a cache flush and
  /// without metadata (sync_file_range). Enough only for an overwrite inside a file whose
  /// size and blocks are already stable, and only once a later sync_dir (whose cache flush
  /// covers every write completed before it) has returned. The default is sync_data.
  virtual Status write_back(int fd) { return sync_data(fd); }
  /// fsync(dir): every entry change made in the directory before the call is stable.
  virtual Status sync_dir(int dir) = 0;
  /// renameat2(..., RENAME_NOREPLACE) (plain renameat where unsupported): never replaces.
  virtual Status rename(int from_dir, const std::string& from, int to_dir,
                        const std::string& to) = 0;
  /// unlinkat(dir, name); a missing name is success.
  virtual Status unlink(int dir, const std::string& name) = 0;
  /// True if dir/name exists (any type).
  virtual bool exists(int dir, const std::string& name) = 0;
  virtual void close(int fd) = 0;
  /// Renames from_dir/from to to_dir/to (never replacing) and opens it for writing at
  /// offset 0: an old file reused as a new one without allocating an inode. The old content
  /// stays past what is written (truncated only beyond kMaxStaleTail bytes); a file with
  /// more than one link is refused (and the new name removed). The default says "not
  /// supported" (callers then create a file).
  struct Reused {
    int fd = -1;
    uint64_t size = 0;  // the file's size (stable) when it was taken
  };
  virtual Result<Reused> reuse_file(int /*from_dir*/, const std::string& /*from*/,
                                    int /*to_dir*/, const std::string& /*to*/) {
    return make_error("reuse_file is not supported");
  }
};

/// The real thing: one system call per method.
std::unique_ptr<Filesystem> make_posix_filesystem();

}  // namespace estafeta::queue
