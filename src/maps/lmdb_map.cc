// lmdb: tables; see lmdb_map.h.
#include "maps/lmdb_map.h"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/ascii.h"

namespace estafeta::maps {
namespace {

std::string lmdb_error(const std::string& what, int rc) { return what + ": " + mdb_strerror(rc); }
// LMDB returns errno values for system errors (ENOSPC, EACCES) and negative MDB_* codes for
// its own.
Error lmdb_failure(const std::string& what, int rc) {
  return make_error(lmdb_error(what, rc), rc > 0 ? rc : 0);
}

std::string strip_nul(const MDB_val& v) {
  const char* p = static_cast<const char*>(v.mv_data);
  size_t n = v.mv_size;
  if (n > 0 && p[n - 1] == '\0') --n;
  return std::string(p, n);
}

class LmdbEnv {
 public:
  LmdbEnv() = default;
  LmdbEnv(const LmdbEnv&) = delete;
  LmdbEnv& operator=(const LmdbEnv&) = delete;
  ~LmdbEnv() {
    if (env_ != nullptr) mdb_env_close(env_);
  }
  MDB_env* get() const { return env_; }
  Status open_readonly(const std::string& path) {
    int rc = mdb_env_create(&env_);
    if (rc == 0) {
      rc = mdb_env_open(env_, path.c_str(), MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOTLS,
                        0644);
    }
    if (rc != 0) return lmdb_failure("open database " + path, rc);
    return {};
  }

 private:
  MDB_env* env_ = nullptr;
};

class LmdbMap final : public Map {
 public:
  LmdbMap(std::unique_ptr<LmdbEnv> env, MDB_dbi dbi, bool fold, std::string path)
      : env_(std::move(env)), dbi_(dbi), fold_(fold), path_(std::move(path)) {}

  LookupResult lookup(std::string_view raw_key) const override {
    std::string key = fold_ ? ascii::lower(raw_key) : std::string(raw_key);
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_->get(), nullptr, MDB_RDONLY, &txn);
    if (rc != 0) return LookupResult::temp_fail(lmdb_error(path_, rc));
    key.push_back('\0');
    MDB_val k{key.size(), key.data()};
    MDB_val v{};
    rc = mdb_get(txn, dbi_, &k, &v);
    // LMDB refuses a zero-length key (MDB_BAD_VALSIZE): the empty key is only looked up
    // with its NUL, so that `-q -` with an empty line answers "not found", not an error.
    if (rc == MDB_NOTFOUND && key.size() > 1) {
      k.mv_size = key.size() - 1;
      rc = mdb_get(txn, dbi_, &k, &v);
    }
    LookupResult result;
    if (rc == 0) {
      result = LookupResult::found(strip_nul(v));
    } else if (rc != MDB_NOTFOUND) {
      result = LookupResult::temp_fail(lmdb_error(path_, rc));
    }
    mdb_txn_abort(txn);
    return result;
  }

  Result<std::vector<Entry>> entries() const override { return read_lmdb_entries(path_, false); }

 private:
  std::unique_ptr<LmdbEnv> env_;
  MDB_dbi dbi_;
  bool fold_;
  std::string path_;
};

Status fsync_directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int code = errno;
    return make_error("open " + dir + ": " + std::strerror(code), code);
  }
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) return make_error("fsync " + dir + ": " + std::strerror(saved), saved);
  return {};
}

}  // namespace

Result<std::unique_ptr<Map>> open_lmdb_map(const std::string& db_path, bool fold_keys) {
  auto env = std::make_unique<LmdbEnv>();
  Status st = env->open_readonly(db_path);
  if (!st.ok()) return st.error();
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env->get(), nullptr, MDB_RDONLY, &txn);
  MDB_dbi dbi = 0;
  if (rc == 0) rc = mdb_dbi_open(txn, nullptr, 0, &dbi);
  if (txn != nullptr) mdb_txn_abort(txn);
  if (rc != 0) return lmdb_failure("open database " + db_path, rc);
  return std::unique_ptr<Map>(std::make_unique<LmdbMap>(std::move(env), dbi, fold_keys, db_path));
}

Result<std::vector<Entry>> read_lmdb_entries(const std::string& db_path, bool allow_missing) {
  std::vector<Entry> out;
  if (allow_missing && ::access(db_path.c_str(), F_OK) != 0 && errno == ENOENT) return out;
  LmdbEnv env;
  Status st = env.open_readonly(db_path);
  if (!st.ok()) return st.error();
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env.get(), nullptr, MDB_RDONLY, &txn);
  MDB_dbi dbi = 0;
  MDB_cursor* cursor = nullptr;
  if (rc == 0) rc = mdb_dbi_open(txn, nullptr, 0, &dbi);
  if (rc == 0) rc = mdb_cursor_open(txn, dbi, &cursor);
  if (rc == 0) {
    MDB_val k{};
    MDB_val v{};
    int c = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
    while (c == 0) {
      out.push_back(Entry{strip_nul(k), strip_nul(v)});
      c = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
    }
    if (c != MDB_NOTFOUND) rc = c;
    mdb_cursor_close(cursor);
  }
  if (txn != nullptr) mdb_txn_abort(txn);
  if (rc != 0) return lmdb_failure("read database " + db_path, rc);
  return out;
}

struct LmdbTableWriter::State {
  std::string db_path;
  std::string tmp_path;
  MDB_env* env = nullptr;
  MDB_txn* txn = nullptr;
  MDB_dbi dbi = 0;
  std::string kbuf;
  std::string vbuf;
  bool committed = false;
};

LmdbTableWriter::LmdbTableWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}

LmdbTableWriter::~LmdbTableWriter() {
  if (state_->txn != nullptr) mdb_txn_abort(state_->txn);
  if (state_->env != nullptr) mdb_env_close(state_->env);
  if (!state_->committed) ::unlink(state_->tmp_path.c_str());
}

Result<std::unique_ptr<LmdbTableWriter>> LmdbTableWriter::create(const std::string& db_path,
                                                                 size_t map_size) {
  auto st = std::make_unique<State>();
  st->db_path = db_path;
  st->tmp_path = db_path + ".tmp." + std::to_string(::getpid());
  ::unlink(st->tmp_path.c_str());
  // The writer owns the state from here on, so every early return cleans up.
  auto w = std::make_unique<LmdbTableWriter>(std::move(st));
  State& s = *w->state_;
  int rc = mdb_env_create(&s.env);
  if (rc == 0) rc = mdb_env_set_mapsize(s.env, map_size);
  if (rc == 0) rc = mdb_env_open(s.env, s.tmp_path.c_str(), MDB_NOSUBDIR | MDB_NOLOCK, 0644);
  if (rc == 0) rc = mdb_txn_begin(s.env, nullptr, 0, &s.txn);
  if (rc == 0) rc = mdb_dbi_open(s.txn, nullptr, 0, &s.dbi);
  if (rc != 0) return lmdb_failure("create database " + s.tmp_path, rc);
  return w;
}

Result<LmdbTableWriter::PutOutcome> LmdbTableWriter::put(std::string_view key,
                                                         std::string_view value, bool replace) {
  State& s = *state_;
  s.kbuf.assign(key).push_back('\0');
  s.vbuf.assign(value).push_back('\0');
  MDB_val k{s.kbuf.size(), s.kbuf.data()};
  MDB_val v{s.vbuf.size(), s.vbuf.data()};
  int rc = mdb_put(s.txn, s.dbi, &k, &v, MDB_NOOVERWRITE);
  if (rc == 0) return PutOutcome::Added;
  if (rc == MDB_KEYEXIST) {
    if (!replace) return PutOutcome::Duplicate;
    v = MDB_val{s.vbuf.size(), s.vbuf.data()};
    rc = mdb_put(s.txn, s.dbi, &k, &v, 0);
    if (rc == 0) return PutOutcome::Replaced;
  }
  map_full_ = rc == MDB_MAP_FULL;
  return lmdb_failure(s.tmp_path + ": key \"" + std::string(key.substr(0, 60)) + "\"", rc);
}

Status LmdbTableWriter::commit() {
  State& s = *state_;
  int rc = mdb_txn_commit(s.txn);  // fsyncs the data file (no MDB_NOSYNC)
  s.txn = nullptr;
  if (rc != 0) {
    map_full_ = rc == MDB_MAP_FULL;
    return lmdb_failure("commit " + s.tmp_path, rc);
  }
  mdb_env_close(s.env);
  s.env = nullptr;
  if (::rename(s.tmp_path.c_str(), s.db_path.c_str()) != 0) {
    const int code = errno;
    return make_error("rename " + s.tmp_path + " to " + s.db_path + ": " + std::strerror(code),
                      code);
  }
  s.committed = true;
  return fsync_directory_of(s.db_path);
}

Status write_lmdb_file(const std::string& db_path, std::vector<Entry> entries) {
  size_t bytes = 0;
  for (const Entry& e : entries) bytes += e.key.size() + e.value.size() + 64;
  size_t map_size = (size_t(64) << 20) + bytes * 8;
  for (int attempt = 0; attempt < 6; ++attempt, map_size *= 4) {
    Result<std::unique_ptr<LmdbTableWriter>> w = LmdbTableWriter::create(db_path, map_size);
    if (!w.ok()) return w.error();
    bool full = false;
    for (const Entry& e : entries) {
      Result<LmdbTableWriter::PutOutcome> r = (*w)->put(e.key, e.value, true);
      if (!r.ok()) {
        if (!(*w)->map_full()) return r.error();
        full = true;
        break;
      }
    }
    if (full) continue;
    Status st = (*w)->commit();
    if (st.ok() || !(*w)->map_full()) return st;
  }
  return make_error(db_path + ": database too large");
}

}  // namespace estafeta::maps
