// Tests for pgsql:/redis: failure handling without a real server: a refused connection and
// a server that accepts and never answers must both be TempFail (never NotFound) once the
// configured timeout passes. Real-server behaviour is covered by
// tests/integration/test_maps_remote.py.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "maps/open_map.h"

namespace estafeta::maps {
namespace {

// A loopback listener that never accepts: connects succeed (backlog), nothing is answered.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A port with nothing listening: bind, read the port, close.
int closed_port() {
  SilentServer s;
  return s.port();
}

class RemoteMapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/remote_map_test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(RemoteMapTest, RedisHungAndRefusedAreTempFail) {
  SilentServer silent;
  for (int port : {silent.port(), closed_port()}) {
    std::string cf =
        write("r.cf", "hosts = 127.0.0.1:" + std::to_string(port) + "\ntimeout = 0.2\n");
    Result<OpenedMap> m = open_map("redis:" + cf, {});
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_TRUE(m->map->is_remote());
    LookupResult r = m->map->lookup("key");
    EXPECT_TRUE(r.is_temp_fail()) << port << ": " << r.value;
  }
}

TEST_F(RemoteMapTest, PgsqlHungAndRefusedAreTempFail) {
  SilentServer silent;
  for (int port : {silent.port(), closed_port()}) {
    std::string cf = write("p.cf", "hosts = 127.0.0.1:" + std::to_string(port) +
                                       "\ndbname = x\nuser = x\nquery = SELECT '%s'\n"
                                       "timeout = 0.2\n");
    Result<OpenedMap> m = open_map("pgsql:" + cf, {});
    ASSERT_TRUE(m.ok()) << m.error().message;
    LookupResult r = m->map->lookup("key");
    EXPECT_TRUE(r.is_temp_fail()) << port << ": " << r.value;
  }
}

TEST_F(RemoteMapTest, BadConfigCannotOpen) {
  EXPECT_FALSE(open_map("redis:" + write("b.cf", "bogus = 1\n"), {}).ok());
  EXPECT_FALSE(open_map("pgsql:" + write("c.cf", "hosts = x\n"), {}).ok());
  EXPECT_FALSE(open_map("redis:" + dir_ + "/missing.cf", {}).ok());
}

}  // namespace
}  // namespace estafeta::maps
