// pgsql: tables; see pgsql_map.h.
#include "maps/pgsql_map.h"

#include <libpq-fe.h>
#include <poll.h>

#include <chrono>
#include <mutex>

#include "maps/open_map.h"
#include "maps/remote_config.h"

namespace estafeta::maps {
namespace {

using Clock = std::chrono::steady_clock;

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

struct PgsqlConfig {
  std::string host = "127.0.0.1";
  std::string port = "5432";
  std::string user;
  std::string password;
  std::string dbname;
  std::string query;
  double timeout = 5;
};

// Waits until fd is ready for `events` or the deadline passes. False on timeout.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return true;  // let libpq report the error
  }
}

class PgsqlMap final : public Map {
 public:
  explicit PgsqlMap(PgsqlConfig config) : config_(std::move(config)) {}

  bool is_remote() const override { return true; }

  LookupResult lookup(std::string_view key) const override {
    std::lock_guard lock(mu_);
    auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(config_.timeout));
    if (!conn_) {
      Status st = connect(deadline);
      if (!st.ok()) return LookupResult::temp_fail(st.error().message);
    }
    PGconn* c = conn_.get();
    Result<std::string> query = expand_query(config_.query, key, [c](std::string_view s) {
      std::string out(s.size() * 2 + 1, '\0');
      int err = 0;
      size_t n = PQescapeStringConn(c, out.data(), s.data(), s.size(), &err);
      out.resize(n);
      return out;
    });
    if (!query.ok()) return LookupResult::temp_fail(query.error().message);
    if (PQsendQuery(c, query->c_str()) != 1) return fail("query failed: ");
    std::vector<PgResultPtr> results;
    while (true) {
      if (PQflush(c) < 0) return fail("query failed: ");
      while (PQisBusy(c)) {
        if (!wait_fd(PQsocket(c), POLLIN, deadline)) {
          conn_.reset();
          return LookupResult::temp_fail("pgsql:" + where() + ": query timed out");
        }
        if (PQconsumeInput(c) != 1) return fail("query failed: ");
      }
      PGresult* r = PQgetResult(c);
      if (r == nullptr) break;
      results.emplace_back(r);
    }
    std::string value;
    bool found = false;
    for (const PgResultPtr& r : results) {
      ExecStatusType st = PQresultStatus(r.get());
      if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        return LookupResult::temp_fail("pgsql:" + where() + ": " + PQresultErrorMessage(r.get()));
      }
      for (int row = 0; row < PQntuples(r.get()); ++row) {
        if (PQnfields(r.get()) < 1 || PQgetisnull(r.get(), row, 0)) continue;
        if (found) value += ", ";
        value += PQgetvalue(r.get(), row, 0);
        found = true;
      }
    }
    return found ? LookupResult::found(std::move(value)) : LookupResult::not_found();
  }

 private:
  std::string where() const { return config_.host + ":" + config_.port; }

  LookupResult fail(const std::string& what) const {
    std::string why = "pgsql:" + where() + ": " + what + PQerrorMessage(conn_.get());
    conn_.reset();
    return LookupResult::temp_fail(why);
  }

  Status connect(Clock::time_point deadline) const {
    const char* keys[] = {"host", "port", "user", "password", "dbname", nullptr};
    const char* values[] = {config_.host.c_str(),     config_.port.c_str(),   config_.user.c_str(),
                            config_.password.c_str(), config_.dbname.c_str(), nullptr};
    PgConnPtr conn(PQconnectStartParams(keys, values, 0));
    if (!conn) return make_error("pgsql: out of memory");
    if (PQstatus(conn.get()) == CONNECTION_BAD) {
      return make_error("pgsql:" + where() + ": " + PQerrorMessage(conn.get()));
    }
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
      if (st == PGRES_POLLING_FAILED) {
        return make_error("pgsql:" + where() + ": " + PQerrorMessage(conn.get()));
      }
      short ev = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
      if (!wait_fd(PQsocket(conn.get()), ev, deadline)) {
        return make_error("pgsql:" + where() + ": connect timed out");
      }
      st = PQconnectPoll(conn.get());
    }
    if (PQsetnonblocking(conn.get(), 1) != 0) {
      return make_error("pgsql:" + where() + ": " + PQerrorMessage(conn.get()));
    }
    conn_ = std::move(conn);
    return {};
  }

  PgsqlConfig config_;
  mutable std::mutex mu_;
  mutable PgConnPtr conn_;  // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<Map>> open_pgsql_map(const std::string& config_file) {
  Result<std::string> text = read_text_file(config_file);
  if (!text.ok()) return text.error();
  Result<RemoteConfig> cfg = parse_remote_config(
      *text, config_file, {"hosts", "user", "password", "dbname", "query", "timeout"});
  if (!cfg.ok()) return cfg.error();
  PgsqlConfig c;
  auto get = [&](std::string_view name, std::string& into) {
    auto it = cfg->find(name);
    if (it != cfg->end()) into = it->second;
  };
  std::string hosts;
  get("hosts", hosts);
  if (!hosts.empty()) {
    // One host; "host:port", "unix:/path" style sockets are not supported yet.
    size_t colon = hosts.rfind(':');
    c.host = hosts.substr(0, colon);
    if (colon != std::string::npos) c.port = hosts.substr(colon + 1);
  }
  get("user", c.user);
  get("password", c.password);
  get("dbname", c.dbname);
  get("query", c.query);
  if (c.query.empty() || c.dbname.empty()) {
    return make_error(config_file + ": \"dbname\" and \"query\" are required");
  }
  std::string timeout;
  get("timeout", timeout);
  if (!timeout.empty()) {
    Result<double> t = parse_timeout_seconds(timeout);
    if (!t.ok()) return make_error(config_file + ": " + t.error().message);
    c.timeout = *t;
  }
  return std::unique_ptr<Map>(std::make_unique<PgsqlMap>(std::move(c)));
}

}  // namespace estafeta::maps
