// Tests of PolicyClient against a scripted policy server on loopback (TCP on 127.0.0.1:0, or a
// UNIX socket in a temporary queue directory), on one io_context: answers, connection reuse
// and its limits, timeouts, closed connections, malformed replies, the default action.
#include "daemon/policy_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "log/memory_sink.h"

namespace estafeta::daemon {
namespace {

using namespace std::chrono_literals;
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

// What the server does with one request.
struct Reply {
  std::string bytes;         // sent first
  bool close = false;        // then close the connection
  bool hang = false;         // or never answer (bytes ignored)
};

// A policy server whose answers come from `script(connection, request_on_connection, text)`
// (both indexes from 0). It records every request's text.
class ScriptedServer {
 public:
  using Script = std::function<Reply(int connection, int request, const std::string& text)>;

  ScriptedServer(asio::io_context& io, Script script) : io_(io), script_(std::move(script)) {}

  // Listens on 127.0.0.1:0; returns "inet:127.0.0.1:PORT".
  std::string listen_tcp() {
    auto acceptor = std::make_shared<asio::ip::tcp::acceptor>(
        io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = acceptor->local_endpoint().port();
    asio::co_spawn(io_, accept_loop(acceptor), asio::detached);
    return "inet:127.0.0.1:" + std::to_string(port);
  }
  // Listens on `path`.
  void listen_unix(const std::string& path) {
    auto acceptor = std::make_shared<asio::local::stream_protocol::acceptor>(
        io_, asio::local::stream_protocol::endpoint(path));
    asio::co_spawn(io_, accept_loop(acceptor), asio::detached);
  }

  int connections() const { return connections_; }
  const std::vector<std::string>& requests() const { return requests_; }

 private:
  template <class Acceptor>
  asio::awaitable<void> accept_loop(std::shared_ptr<Acceptor> acceptor) {
    while (true) {
      auto [ec, socket] = co_await acceptor->async_accept(kNoThrow);
      if (ec) co_return;
      asio::co_spawn(io_, serve(std::move(socket), connections_++), asio::detached);
    }
  }

  template <class Socket>
  asio::awaitable<void> serve(Socket socket, int connection) {
    std::string buffer;
    for (int request = 0;; ++request) {
      auto [ec, n] = co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer), "\n\n",
                                                     kNoThrow);
      if (ec) co_return;
      std::string text = buffer.substr(0, n);
      buffer.erase(0, n);
      requests_.push_back(text);
      Reply reply = script_(connection, request, text);
      if (reply.hang) {
        asio::steady_timer forever(io_, 1h);
        co_await forever.async_wait(kNoThrow);
        co_return;
      }
      if (!reply.bytes.empty()) {
        auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(reply.bytes), kNoThrow);
        if (wec) co_return;
      }
      if (reply.close) co_return;
    }
  }

  asio::io_context& io_;
  Script script_;
  int connections_ = 0;
  std::vector<std::string> requests_;
};

class PolicyClientTest : public testing::Test {
 protected:
  PolicyClientTest()
      : sink_(std::make_shared<log::MemorySink>()),
        client_(io_, queue_dir_.string(), log::Logger(sink_, "estafeta/smtpd")) {
    settings_.timeout = 2s;
    settings_.retry_delay = 10ms;
  }
  ~PolicyClientTest() override { std::filesystem::remove_all(queue_dir_); }

  // Runs one query to completion on the io_context.
  PolicyAnswer query(const std::string& service, policy::PolicyAttributes attributes = kRequest) {
    std::optional<PolicyAnswer> answer;
    asio::co_spawn(io_, client_.query(service, std::move(attributes), settings_),
                   [&](std::exception_ptr e, PolicyAnswer a) {
                     if (e) std::rethrow_exception(e);
                     answer = std::move(a);
                   });
    if (io_.stopped()) io_.restart();  // a previous run ran out of work
    while (!answer && io_.run_one() > 0) {
    }
    EXPECT_TRUE(answer) << "the query never completed";
    return answer.value_or(PolicyAnswer{"(no answer)", true});
  }

  // Runs the io_context until `done()` or 20 s have passed (a guard against a hang only).
  void run_until(const std::function<bool()>& done) {
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    while (!done() && std::chrono::steady_clock::now() < give_up) {
      io_.run_for(10ms);
    }
  }

  std::vector<std::string> warnings() const {
    std::vector<std::string> out;
    for (const auto& line : sink_->lines()) {
      if (line.find("warning: ") != std::string::npos) out.push_back(line);
    }
    return out;
  }

  static inline const policy::PolicyAttributes kRequest = {
      {"request", "smtpd_access_policy"}, {"protocol_state", "RCPT"},
      {"client_address", "192.0.2.1"},   {"sender", "a@example.net"},
      {"recipient", "b@example.org"}};

  static std::filesystem::path make_queue_dir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "policy_client_test.XXXXXX").string();
    const char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    std::filesystem::create_directory(std::filesystem::path(pattern) / "private");
    return pattern;
  }

  std::filesystem::path queue_dir_ = make_queue_dir();
  asio::io_context io_;
  std::shared_ptr<log::MemorySink> sink_;
  PolicyClient client_;
  PolicyServiceSettings settings_;
};

Reply answer(std::string action) { return Reply{"action=" + action + "\n\n"}; }

TEST_F(PolicyClientTest, SendsTheRequestAndReturnsTheAction) {
  ScriptedServer server(io_, [](int, int, const std::string&) {
    return Reply{"log=ignored\naction=DEFER_IF_PERMIT Greylisted\n\n"};
  });
  const std::string service = server.listen_tcp();
  PolicyAnswer a = query(service);
  EXPECT_EQ(a.action, "DEFER_IF_PERMIT Greylisted");
  EXPECT_FALSE(a.from_default);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0],
            "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.1\n"
            "sender=a@example.net\nrecipient=b@example.org\n\n");
  EXPECT_TRUE(warnings().empty());
}

TEST_F(PolicyClientTest, PolicyContextReplacesOrAddsTheAttribute) {
  ScriptedServer server(io_, [](int, int, const std::string&) { return answer("DUNNO"); });
  const std::string service = server.listen_tcp();
  settings_.policy_context = "submission";
  query(service, {{"request", "smtpd_access_policy"}, {"policy_context", ""}, {"size", "0"}});
  query(service, {{"request", "smtpd_access_policy"}});
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[0],
            "request=smtpd_access_policy\npolicy_context=submission\nsize=0\n\n");
  EXPECT_EQ(server.requests()[1], "request=smtpd_access_policy\npolicy_context=submission\n\n");
}

TEST_F(PolicyClientTest, ReusesTheConnection) {
  ScriptedServer server(io_, [](int, int request, const std::string&) {
    return answer(request == 0 ? "DUNNO" : "OK");
  });
  const std::string service = server.listen_tcp();
  EXPECT_EQ(query(service).action, "DUNNO");
  EXPECT_EQ(client_.idle_connections(service), 1u);
  EXPECT_EQ(query(service).action, "OK");
  EXPECT_EQ(query(service).action, "OK");
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(PolicyClientTest, RequestLimitClosesTheConnection) {
  ScriptedServer server(io_, [](int, int, const std::string&) { return answer("DUNNO"); });
  const std::string service = server.listen_tcp();
  settings_.request_limit = 2;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(query(service).action, "DUNNO");
  EXPECT_EQ(server.connections(), 3);  // 2 + 2 + 1 requests
}

TEST_F(PolicyClientTest, MaxTtlClosesAnOldConnection) {
  ScriptedServer server(io_, [](int, int, const std::string&) { return answer("DUNNO"); });
  const std::string service = server.listen_tcp();
  settings_.max_ttl = 0ms;  // every connection is too old once used
  query(service);
  EXPECT_EQ(client_.idle_connections(service), 0u);
  query(service);
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(PolicyClientTest, MaxIdleClosesAnIdleConnection) {
  ScriptedServer server(io_, [](int, int, const std::string&) { return answer("DUNNO"); });
  const std::string service = server.listen_tcp();
  settings_.max_idle = 50ms;
  query(service);
  run_until([&] { return client_.idle_connections(service) == 0; });
  EXPECT_EQ(client_.idle_connections(service), 0u);
  query(service);
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(PolicyClientTest, TimeoutThenTheDefaultAction) {
  ScriptedServer server(io_, [](int, int, const std::string&) { return Reply{"", false, true}; });
  const std::string service = server.listen_tcp();
  settings_.timeout = 100ms;
  PolicyAnswer a = query(service);
  EXPECT_TRUE(a.from_default);
  EXPECT_EQ(a.action, "451 4.3.5 Server configuration problem");
  EXPECT_EQ(server.connections(), 2);  // try_limit 2
  const auto w = warnings();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_NE(w[0].find("problem talking to server " + service + ": timeout while waiting"),
            std::string::npos)
      << w[0];
  EXPECT_NE(w[2].find("no answer after 2 tries: using the default action \"451 4.3.5"),
            std::string::npos)
      << w[2];
}

TEST_F(PolicyClientTest, ClosedConnectionIsRetried) {
  // The first connection is closed without an answer; the retry gets one.
  ScriptedServer server(io_, [](int connection, int, const std::string&) {
    return connection == 0 ? Reply{"", true} : answer("REJECT go away");
  });
  const std::string service = server.listen_tcp();
  PolicyAnswer a = query(service);
  EXPECT_EQ(a.action, "REJECT go away");
  EXPECT_FALSE(a.from_default);
  EXPECT_EQ(server.connections(), 2);
  const auto w = warnings();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("connection closed by the server"), std::string::npos) << w[0];
}

TEST_F(PolicyClientTest, StaleIdleConnectionIsReplacedSilently) {
  // The server answers, then closes: the idle connection the client kept is dead.
  ScriptedServer server(io_, [](int, int, const std::string&) {
    return Reply{"action=DUNNO\n\n", true};
  });
  const std::string service = server.listen_tcp();
  settings_.try_limit = 1;
  EXPECT_EQ(query(service).action, "DUNNO");
  PolicyAnswer a = query(service);
  EXPECT_EQ(a.action, "DUNNO");
  EXPECT_FALSE(a.from_default);
  EXPECT_EQ(server.connections(), 2);
  EXPECT_TRUE(warnings().empty());
}

TEST_F(PolicyClientTest, MalformedRepliesGiveTheDefaultAction) {
  ScriptedServer server(io_, [](int, int, const std::string&) { return Reply{"garbage\n\n"}; });
  const std::string service = server.listen_tcp();
  settings_.default_action = "DUNNO";
  PolicyAnswer a = query(service);
  EXPECT_TRUE(a.from_default);
  EXPECT_EQ(a.action, "DUNNO");
  EXPECT_EQ(server.connections(), 2);  // a malformed reply closes the connection
  const auto w = warnings();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_NE(w[0].find("malformed response: response line without '='"), std::string::npos)
      << w[0];
}

TEST_F(PolicyClientTest, ResponseWithoutActionIsMalformed) {
  ScriptedServer server(io_, [](int connection, int, const std::string&) {
    return connection == 0 ? Reply{"result=ok\n\n"} : answer("OK");
  });
  const std::string service = server.listen_tcp();
  PolicyAnswer a = query(service);
  EXPECT_EQ(a.action, "OK");
  ASSERT_EQ(warnings().size(), 1u);
  EXPECT_NE(warnings()[0].find("without an action"), std::string::npos);
}

TEST_F(PolicyClientTest, DataAfterTheResponseStopsReuse) {
  ScriptedServer server(io_, [](int, int, const std::string&) {
    return Reply{"action=DUNNO\n\naction=OK\n\n"};
  });
  const std::string service = server.listen_tcp();
  EXPECT_EQ(query(service).action, "DUNNO");
  EXPECT_EQ(client_.idle_connections(service), 0u);
  EXPECT_EQ(query(service).action, "DUNNO");
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(PolicyClientTest, ConnectionRefused) {
  std::string service;
  {
    asio::ip::tcp::acceptor closed(io_, {asio::ip::make_address("127.0.0.1"), 0});
    service = "inet:127.0.0.1:" + std::to_string(closed.local_endpoint().port());
  }
  settings_.try_limit = 3;
  PolicyAnswer a = query(service);
  EXPECT_TRUE(a.from_default);
  const auto w = warnings();
  ASSERT_EQ(w.size(), 4u);
  EXPECT_NE(w[0].find("Connection refused"), std::string::npos) << w[0];
  EXPECT_NE(w[3].find("no answer after 3 tries"), std::string::npos) << w[3];
}

TEST_F(PolicyClientTest, HostNameIsResolved) {
  // "localhost" from /etc/hosts (no nameserver is asked for a name it lists); it may give
  // ::1 first, where nothing listens: the next address is tried.
  std::ifstream hosts("/etc/hosts");
  std::string line;
  bool listed = false;
  while (std::getline(hosts, line)) {
    listed = listed || (line.starts_with("127.0.0.1") && line.find("localhost") != std::string::npos);
  }
  if (!listed) GTEST_SKIP() << "/etc/hosts does not list localhost as 127.0.0.1";
  ScriptedServer server(io_, [](int, int, const std::string&) { return answer("OK"); });
  std::string service = server.listen_tcp();
  service.replace(service.find("127.0.0.1"), 9, "localhost");
  PolicyAnswer a = query(service);
  EXPECT_EQ(a.action, "OK");
  EXPECT_TRUE(warnings().empty());
}

TEST_F(PolicyClientTest, UnixSocketInTheQueueDirectory) {
  ScriptedServer server(io_, [](int, int, const std::string&) { return answer("OK unix"); });
  server.listen_unix((queue_dir_ / "private" / "policy").string());
  EXPECT_EQ(query("private/policy").action, "OK unix");
  EXPECT_EQ(query("unix:private/policy").action, "OK unix");
  EXPECT_EQ(query("unix:" + (queue_dir_ / "private" / "policy").string()).action, "OK unix");
  // Three names, three pools: one connection each.
  EXPECT_EQ(server.connections(), 3);
}

TEST_F(PolicyClientTest, MissingUnixSocket) {
  settings_.try_limit = 1;
  PolicyAnswer a = query("private/nothing");
  EXPECT_TRUE(a.from_default);
  ASSERT_EQ(warnings().size(), 2u);
  EXPECT_NE(warnings()[0].find("problem talking to server private/nothing"), std::string::npos);
}

TEST_F(PolicyClientTest, BadServiceNameOrAttribute) {
  PolicyAnswer a = query("tcp:127.0.0.1:1");
  EXPECT_TRUE(a.from_default);
  a = query("private/x", {{"bad=name", "v"}});
  EXPECT_TRUE(a.from_default);
  const auto w = warnings();
  ASSERT_EQ(w.size(), 2u);
  EXPECT_NE(w[1].find("bad attribute name"), std::string::npos) << w[1];
}

TEST_F(PolicyClientTest, ConcurrentQueriesUseSeparateConnections) {
  ScriptedServer server(io_, [](int, int, const std::string&) { return answer("DUNNO"); });
  const std::string service = server.listen_tcp();
  int done = 0;
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(io_, client_.query(service, kRequest, settings_),
                   [&](std::exception_ptr e, PolicyAnswer a) {
                     if (e) std::rethrow_exception(e);
                     EXPECT_EQ(a.action, "DUNNO");
                     ++done;
                   });
  }
  while (done < 3 && io_.run_one() > 0) {
  }
  ASSERT_EQ(done, 3);
  EXPECT_EQ(server.connections(), 3);
  EXPECT_EQ(client_.idle_connections(service), 3u);
  client_.close_idle();
  EXPECT_EQ(client_.idle_connections(service), 0u);
}

TEST(PolicyServiceSettings, PostfixDefaults) {
  auto loaded = config::Config::parse("", "main.cf", "/etc/estafeta", "mx.example.org");
  ASSERT_TRUE(loaded.config);
  const PolicyServiceSettings s = policy_service_settings(*loaded.config);
  EXPECT_EQ(s.timeout, 100s);
  EXPECT_EQ(s.max_idle, 300s);
  EXPECT_EQ(s.max_ttl, 1000s);
  EXPECT_EQ(s.request_limit, 0u);
  EXPECT_EQ(s.try_limit, 2);
  EXPECT_EQ(s.retry_delay, 1s);
  EXPECT_EQ(s.default_action, "451 4.3.5 Server configuration problem");
  EXPECT_EQ(s.policy_context, "");

  loaded = config::Config::parse(
      "smtpd_policy_service_timeout = 5s\nsmtpd_policy_service_try_limit = 1\n"
      "smtpd_policy_service_default_action = DUNNO\n"
      "smtpd_policy_service_policy_context = submission\n",
      "main.cf", "/etc/estafeta", "mx.example.org");
  ASSERT_TRUE(loaded.config);
  const PolicyServiceSettings t = policy_service_settings(*loaded.config);
  EXPECT_EQ(t.timeout, 5s);
  EXPECT_EQ(t.try_limit, 1);
  EXPECT_EQ(t.default_action, "DUNNO");
  EXPECT_EQ(t.policy_context, "submission");
}

}  // namespace
}  // namespace estafeta::daemon
