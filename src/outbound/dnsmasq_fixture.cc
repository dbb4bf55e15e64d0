// The dnsmasq test fixture: see dnsmasq_fixture.h.
#include "outbound/dnsmasq_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace estafeta::outbound::testing {
namespace {

// A bound socket of `type` on 127.0.0.1:port (0: any), or -1.
int bind_loopback(int type, uint16_t port) {
  int fd = socket(AF_INET, type, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

uint16_t port_of(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

// A port free for both UDP and TCP right now.
uint16_t free_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int udp = bind_loopback(SOCK_DGRAM, 0);
    if (udp < 0) continue;
    uint16_t port = port_of(udp);
    int tcp = bind_loopback(SOCK_STREAM, port);
    close(udp);
    if (tcp >= 0) {
      close(tcp);
      return port;
    }
  }
  return 0;
}

// True once something answers a DNS query on 127.0.0.1:port.
bool answers(uint16_t port) {
  static const unsigned char query[] = {0x00, 0x01, 0x01, 0x00, 0,   1,   0,   0,   0, 0,
                                        0,    0,    5,    'r',  'e', 'a', 'd', 'y', 4, 't',
                                        'e',  's',  't',  0,    0,   1,   0,   1};
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (sendto(fd, query, sizeof query, 0, reinterpret_cast<sockaddr*>(&address), sizeof address) ==
      static_cast<ssize_t>(sizeof query)) {
    pollfd poll_fd{fd, POLLIN, 0};
    if (poll(&poll_fd, 1, 200) == 1) {
      unsigned char reply[512];
      ok = recv(fd, reply, sizeof reply, 0) >= 12;
    }
  }
  close(fd);
  return ok;
}

std::string dnsmasq_path() {
  for (const char* path : {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

uint16_t unused_udp_port() {
  int fd = bind_loopback(SOCK_DGRAM, 0);
  if (fd < 0) return 9;  // discard: nothing listens there on a test machine
  uint16_t port = port_of(fd);
  close(fd);
  return port;
}

Result<std::unique_ptr<Dnsmasq>> Dnsmasq::start(const std::vector<std::string>& records) {
  std::string program = dnsmasq_path();
  if (program.empty()) {
    return make_error("dnsmasq is not installed (Debian package dnsmasq-base)");
  }
  char pattern[] = "/tmp/estafeta-dnsmasq-XXXXXX";
  if (mkdtemp(pattern) == nullptr) return make_error("mkdtemp failed");
  std::string directory = pattern;
  std::string log_path = directory + "/dnsmasq.log";
  const passwd* user = getpwuid(geteuid());
  std::string user_name = user != nullptr ? user->pw_name : "nobody";

  for (int attempt = 0; attempt < 5; ++attempt) {
    uint16_t port = free_port();
    std::vector<std::string> args = {program,
                                     "--no-daemon",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--no-poll",
                                     "--bind-interfaces",
                                     "--listen-address=127.0.0.1",
                                     "--port=" + std::to_string(port),
                                     "--conf-file=/dev/null",
                                     "--user=" + user_name,
                                     "--pid-file=" + directory + "/dnsmasq.pid",
                                     "--cache-size=0",
                                     "--log-queries",
                                     "--local=/test/"};
    for (const std::string& record : records) args.push_back("--" + record);
    pid_t pid = fork();
    if (pid < 0) return make_error("fork failed");
    if (pid == 0) {
      int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (log >= 0) {
        dup2(log, 1);
        dup2(log, 2);
      }
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    auto server = std::unique_ptr<Dnsmasq>(new Dnsmasq(pid, port, directory));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool exited = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (answers(port)) return server;
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (exited) {
      server->pid_ = -1;
      server->directory_.clear();  // keep the directory: the next attempt logs there too
      continue;                    // the port was taken meanwhile: try another
    }
    std::string log = read_file(log_path);
    return make_error("dnsmasq did not answer within 10 s: " + log);
  }
  std::string log = read_file(log_path);
  std::filesystem::remove_all(directory);
  return make_error("dnsmasq did not start: " + log);
}

Dnsmasq::~Dnsmasq() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (!directory_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
}

std::string Dnsmasq::nameserver() const { return "127.0.0.1:" + std::to_string(port_); }

std::string Dnsmasq::log() const { return read_file(directory_ + "/dnsmasq.log"); }

}  // namespace estafeta::outbound::testing
