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
    if (rc != 0) return make_error(lmdb_error("open database " + path, rc));
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
    if (rc == MDB_NOTFOUND) {
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
  if (fd < 0) return make_error("open " + dir + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) return make_error("fsync " + dir + ": " + std::strerror(saved));
  return {};
}

// One attempt at writing a temp database with the given map size.
int write_attempt(const std::string& tmp, const std::vector<Entry>& sorted, size_t map_size,
                  std::string& why) {
  ::unlink(tmp.c_str());
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != 0) {
    why = lmdb_error("mdb_env_create", rc);
    return rc;
  }
  struct Closer {
    MDB_env* e;
    ~Closer() { mdb_env_close(e); }
  } closer{env};
  mdb_env_set_mapsize(env, map_size);
  rc = mdb_env_open(env, tmp.c_str(), MDB_NOSUBDIR | MDB_NOLOCK, 0644);
  if (rc != 0) {
    why = lmdb_error("create database " + tmp, rc);
    return rc;
  }
  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(env, nullptr, 0, &txn);
  MDB_dbi dbi = 0;
  if (rc == 0) rc = mdb_dbi_open(txn, nullptr, 0, &dbi);
  std::string kbuf;
  std::string vbuf;
  for (size_t i = 0; rc == 0 && i < sorted.size(); ++i) {
    kbuf.assign(sorted[i].key).push_back('\0');
    vbuf.assign(sorted[i].value).push_back('\0');
    MDB_val k{kbuf.size(), kbuf.data()};
    MDB_val v{vbuf.size(), vbuf.data()};
    rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND);
    if (rc != 0 && rc != MDB_MAP_FULL) {
      why = lmdb_error(tmp + ": key \"" + sorted[i].key.substr(0, 60) + "\"", rc);
    }
  }
  if (rc == 0) {
    rc = mdb_txn_commit(txn);  // commit fsyncs the data file (no MDB_NOSYNC)
    if (rc != 0) why = lmdb_error("commit " + tmp, rc);
  } else if (txn != nullptr) {
    mdb_txn_abort(txn);
  }
  if (rc != 0 && why.empty()) why = lmdb_error(tmp, rc);
  return rc;
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
  if (rc != 0) return make_error(lmdb_error("open database " + db_path, rc));
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
  if (rc != 0) return make_error(lmdb_error("read database " + db_path, rc));
  return out;
}

Status write_lmdb_file(const std::string& db_path, std::vector<Entry> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.key < b.key; });
  size_t bytes = 0;
  for (const Entry& e : entries) bytes += e.key.size() + e.value.size() + 32;
  // Sparse: the map size is address space, the file grows only as pages are written.
  size_t map_size = std::max<size_t>(size_t(1) << 24, bytes * 3);
  std::string tmp = db_path + ".tmp." + std::to_string(::getpid());
  std::string why;
  int rc = MDB_MAP_FULL;
  for (int attempt = 0; attempt < 6 && rc == MDB_MAP_FULL; ++attempt, map_size *= 2) {
    why.clear();
    rc = write_attempt(tmp, entries, map_size, why);
  }
  if (rc != 0) {
    ::unlink(tmp.c_str());
    return make_error(why);
  }
  if (::rename(tmp.c_str(), db_path.c_str()) != 0) {
    std::string e = "rename " + tmp + " to " + db_path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return make_error(e);
  }
  return fsync_directory_of(db_path);
}

}  // namespace estafeta::maps
