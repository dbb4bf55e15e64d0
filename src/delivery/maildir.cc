// Maildir writer: tmp/<name> -> fsync -> rename into new/; then fsync new/.
// See maildir.h.
#include "delivery/maildir.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace estafeta::delivery {
namespace {

Error sys_error(std::string_view call, std::string_view path) {
  const int code = errno;
  return make_error(fmt::format("{}({}): {}", call, path, std::strerror(code)), code);
}

Status fsync_path(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error("open", dir);
  int rc;
  do {
    rc = ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  Status s = rc == 0 ? Status() : Status(sys_error("fsync", dir));
  ::close(fd);
  return s;
}

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos || slash == 0 ? std::string("/") : path.substr(0, slash);
}

// mkdir -p that makes each new entry durable (fsync of its parent). `depth` bounds the
// recursion on absurd paths.
Status make_dir_durable(const std::string& path, int depth = 0) {
  if (::mkdir(path.c_str(), 0700) != 0) {
    // EEXIST: a concurrent delivery made it, maybe not durably yet; the fsync below makes
    // sure before this delivery counts on it (only first deliveries come here).
    if (errno != EEXIST && (errno != ENOENT || depth > 32 || path == "/")) {
      return sys_error("mkdir", path);
    }
    if (errno == ENOENT) {
      if (Status s = make_dir_durable(parent_of(path), depth + 1); !s.ok()) return s;
      if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return sys_error("mkdir", path);
    }
  }
  return fsync_path(parent_of(path));
}

Status make_maildir(const std::string& maildir) {
  if (Status s = make_dir_durable(maildir); !s.ok()) return s;
  for (const char* sub : {"/tmp", "/new", "/cur"}) {
    if (Status s = make_dir_durable(maildir + sub); !s.ok()) return s;
  }
  return {};
}

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

}  // namespace

std::string maildir_file_name(int64_t arrival_sec, std::string_view queue_id, size_t index,
                              std::string_view hostname) {
  std::string host;
  for (char c : hostname) {
    if (c == '/') {
      host += "\\057";
    } else if (c == ':') {
      host += "\\072";
    } else {
      host += c;
    }
  }
  return fmt::format("{}.Q{}R{}.{}", arrival_sec, queue_id, index, host);
}

std::string delivery_prefix(std::string_view sender, std::string_view recipient,
                            std::string_view orcpt) {
  std::string_view original = recipient;
  constexpr std::string_view kRfc822 = "rfc822;";
  if (orcpt.size() > kRfc822.size() &&
      std::equal(kRfc822.begin(), kRfc822.end(), orcpt.begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); }) &&
      orcpt.find_first_of("\r\n") == std::string_view::npos) {
    original = orcpt.substr(kRfc822.size());
  }
  return fmt::format("Return-Path: <{}>\nX-Original-To: {}\nDelivered-To: {}\n", sender, original,
                     recipient);
}

std::string maildir_message(std::string_view sender, std::string_view recipient,
                            std::string_view crlf_content, std::string_view orcpt) {
  std::string out = delivery_prefix(sender, recipient, orcpt);
  out.reserve(out.size() + crlf_content.size());
  size_t i = 0;
  while (i < crlf_content.size()) {
    size_t cr = crlf_content.find("\r\n", i);
    if (cr == std::string_view::npos) {
      out.append(crlf_content.substr(i));
      break;
    }
    out.append(crlf_content.substr(i, cr - i));
    out += '\n';
    i = cr + 2;
  }
  return out;
}

namespace {

}  // namespace

MaildirTmpFile::MaildirTmpFile(MaildirTmpFile&& other) noexcept
    : fd_(other.fd_),
      maildir_(std::move(other.maildir_)),
      name_(std::move(other.name_)),
      settled_(other.settled_) {
  other.fd_ = -1;
  other.settled_ = true;
}

MaildirTmpFile::~MaildirTmpFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!settled_) ::unlink((maildir_ + "/tmp/" + name_).c_str());
}

Result<MaildirTmpFile> write_maildir_tmp(const std::string& maildir, const std::string& name,
                                         std::string_view message, bool start_writeback) {
  const std::string tmp = maildir + "/tmp/" + name;
  // O_TRUNC: a tmp/ leftover of a crashed attempt is simply rewritten.
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno == ENOENT) {
    if (Status s = make_maildir(maildir); !s.ok()) return s.error();
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  }
  if (fd < 0) return sys_error("open", tmp);
  MaildirTmpFile file(fd, maildir, name);
  if (Status s = write_all(fd, message, tmp); !s.ok()) return s.error();
  // Only a hint: the device gets this file's data while the batch writes its other copies;
  // publish()'s fsync is what makes it durable, on any file system.
  if (start_writeback) (void)::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  return file;
}

// fsync, not fdatasync: the file's inode (created with the tmp/ entry) must be durable
// with its data, so that the documented pair (this fsync, then the fsync of new/ after the
// rename) makes the new/ entry and what it names durable on any file system. One file sync
// per delivery (an unnamed O_TMPFILE file linked into new/ needs two: its data, then its
// link count).
Result<MaildirOutcome> MaildirTmpFile::publish() {
  const std::string tmp = maildir_ + "/tmp/" + name_;
  const std::string dst = maildir_ + "/new/" + name_;
  while (::fsync(fd_) != 0) {
    if (errno != EINTR) return sys_error("fsync", tmp);
  }
  ::close(fd_);
  fd_ = -1;
  // RENAME_NOREPLACE: never replaces, so a name already in new/ (an earlier attempt of this
  // very delivery that finished before a crash) is detected, not duplicated.
  auto rename_into_new = [&] {
    return ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dst.c_str(), RENAME_NOREPLACE);
  };
  int renamed = rename_into_new();
  if (renamed != 0 && errno == ENOENT) {
    // A concurrent first delivery into this Maildir may have created tmp/ but not yet
    // new/: finish creating it (idempotent) and try once more.
    if (Status made = make_maildir(maildir_); !made.ok()) return made.error();
    renamed = rename_into_new();
  }
  if (renamed == 0) {
    settled_ = true;
    return MaildirOutcome::Delivered;
  }
  if (errno != EEXIST) return sys_error("rename", dst);
  return MaildirOutcome::AlreadyDelivered;  // the destructor removes tmp/<name>
}

Result<MaildirOutcome> link_into_maildir(const std::string& maildir, const std::string& name,
                                         std::string_view message) {
  auto file = write_maildir_tmp(maildir, name, message, /*start_writeback=*/false);
  if (!file) return file.error();
  return file->publish();
}

Status sync_maildir_new(const std::string& maildir, queue::GroupSync& syncs) {
  // The new/ entry on stable storage before the caller forgets the queue file. Also after
  // AlreadyDelivered: that entry may be the unsynced result of the attempt that crashed.
  const std::string new_dir = maildir + "/new";
  return syncs.sync(new_dir, [&new_dir] { return fsync_path(new_dir); });
}

Result<MaildirOutcome> deliver_to_maildir(const std::string& maildir, const std::string& name,
                                          std::string_view message, queue::GroupSync& syncs) {
  auto outcome = link_into_maildir(maildir, name, message);
  if (!outcome) return outcome.error();
  if (Status d = sync_maildir_new(maildir, syncs); !d.ok()) return d.error();
  return *outcome;
}

}  // namespace estafeta::delivery
