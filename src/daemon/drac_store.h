// DracStore: where DRAC (POP-before-SMTP) grants live (an Estafeta addition; docs/drac.md).
// `estafeta drac add ADDRESS` records a grant; smtpd asks granted(ADDRESS) for
// permit_drac_client. Grants are kept
// - in a directory (drac_database, default $queue_directory/drac): one file per address,
//   named by its canonical numeric form (policy/drac.h) and holding the grant time, written
//   to a temporary file and renamed into place, so a reader never sees half a grant and no
//   lock is needed; expired files are removed by expire() (`estafeta drac expire`);
// - and, when drac_redis_server is set, also in Redis under drac_redis_key_prefix + address
//   with a TTL of drac_timeout, so that every instance behind one MX sees a grant made on
//   any of them. granted() asks Redis first; when Redis cannot answer it uses the local
//   directory, with one warning per outage (and a notice when Redis answers again); an
//   address is never refused because of Redis. While Redis is down it is tried again at
//   most once per `retry_after`.
// Edge (files, hiredis). Thread-safe: smtpd calls granted() from lookup pool threads.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "policy/drac.h"

namespace estafeta::daemon {

struct DracOptions {
  std::string directory;                      // drac_database, absolute
  std::chrono::seconds timeout{1800};         // drac_timeout
  std::string redis_server;                   // drac_redis_server; empty: directory only
  std::string redis_key_prefix = "estafeta:drac:";  // drac_redis_key_prefix
  std::chrono::milliseconds redis_timeout{1000};
  std::chrono::milliseconds retry_after{10000};
};

/// Receives the store's "warning" and "notice" records (Redis went down, came back).
using DracLog = std::function<void(std::string_view kind, const std::string& text)>;

struct DracGrant {
  std::string address;
  policy::DracTime granted;
  bool active = false;
};

class DracStore {
 public:
  /// `clock` is the time source (SystemClock in the daemon, a FakeClock in tests). An Error
  /// for a bad redis_server.
  static Result<std::unique_ptr<DracStore>> create(DracOptions options,
                                                   std::shared_ptr<const Clock> clock);
  ~DracStore();

  /// Records a grant for `address` now: its file, and its Redis key when configured. An
  /// Error for an address that is not numeric or a file that cannot be written; a Redis
  /// failure only warns (the file grant stands).
  Status add(std::string_view address, const DracLog& log) const;
  /// Whether `address` holds a grant that has not expired. May block on Redis (at most
  /// about redis_timeout): call it off the event loop when remote().
  bool granted(std::string_view address, const DracLog& log) const;
  /// The grants in the directory (expired ones too, marked), sorted by address.
  Result<std::vector<DracGrant>> list() const;
  /// Removes the expired grant files (and unreadable ones); returns how many.
  Result<size_t> expire() const;

  bool remote() const { return !options_.redis_server.empty(); }
  const DracOptions& options() const { return options_; }

 private:
  struct Redis;
  DracStore(DracOptions options, std::shared_ptr<const Clock> clock);
  bool file_granted(const std::string& key) const;
  /// Runs one Redis command under the lock; false when Redis could not answer.
  bool redis_exists(const std::string& key, bool& exists, const DracLog& log) const;
  bool redis_set(const std::string& key, const DracLog& log) const;

  DracOptions options_;
  std::shared_ptr<const Clock> clock_;
  mutable std::mutex redis_mu_;
  std::unique_ptr<Redis> redis_;  // guarded by redis_mu_; null without drac_redis_server
};

}  // namespace estafeta::daemon
