// smtp_pipeline_load: a pipelining SMTP load generator for bench/run.sh (smtp-source does not
// pipeline). One thread, one epoll loop, N concurrent sessions sharing M messages in total (like
// smtp-source's -s and -m), each message carrying S bytes of payload after its headers.
// With DATA, a session writes MAIL+RCPT+DATA in one write, waits for 354, then writes the body,
// the end-of-data dot and the next MAIL+RCPT+DATA (or QUIT) in one write (RFC 2920); with -B it
// sends MAIL+RCPT+"BDAT n LAST"+message in one write (RFC 3030). It never sends RSET.
// Contract: counts a message as acknowledged only on a 2xx reply to its end of data; prints one
// "RESULT ..." line (sent, acked, failed, seconds, rate) on stdout; exit 0 iff every message was
// acknowledged. Benchmark tool only: not part of the server and not used by tests.
#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

#include "base/result.h"

namespace estafeta::bench {
namespace {

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 25;
  int sessions = 1;
  long messages = 1;
  long length = 1024;
  std::string from = "bench@localhost";
  std::string to = "bench@localhost";
  std::string helo = "localhost";
  bool bdat = false;
  bool quiet = false;
  int idle_timeout_s = 120;
};

// What a queued reply answers; replies come back in the order the commands were sent.
enum class Expect { Banner, Ehlo, Mail, Rcpt, Data, EndOfData, Bdat, Quit };

enum class Phase { Connecting, Running, Done };

struct Session {
  int fd = -1;
  Phase phase = Phase::Connecting;
  long to_send = 0;   // messages assigned to this session not yet started
  long started = 0;   // transactions whose MAIL was written
  long acked = 0;     // 2xx after end of data
  std::deque<Expect> expect;
  std::string in;     // unparsed reply bytes
  std::string out;    // bytes not yet written
  size_t out_off = 0;
  bool want_write = false;
  bool bdat_ok = false;
  long body_seq = 0;   // message whose body follows the next 354
};

struct Reply {
  int code = 0;
  std::string last_line;
};

Result<Options> parse_options(int argc, char** argv) {
  Options o;
  int c;
  while ((c = getopt(argc, argv, "s:m:l:f:t:M:BqT:")) != -1) {
    switch (c) {
      case 's': o.sessions = std::atoi(optarg); break;
      case 'm': o.messages = std::atol(optarg); break;
      case 'l': o.length = std::atol(optarg); break;
      case 'f': o.from = optarg; break;
      case 't': o.to = optarg; break;
      case 'M': o.helo = optarg; break;
      case 'B': o.bdat = true; break;
      case 'q': o.quiet = true; break;
      case 'T': o.idle_timeout_s = std::atoi(optarg); break;
      default: return make_error("bad option");
    }
  }
  if (optind + 1 != argc) {
    return make_error("expected one host:port argument");
  }
  std::string_view target = argv[optind];
  auto colon = target.rfind(':');
  if (colon == std::string_view::npos) {
    o.host = std::string(target);
  } else {
    o.host = std::string(target.substr(0, colon));
    int port = std::atoi(std::string(target.substr(colon + 1)).c_str());
    if (port <= 0 || port > 65535) {
      return make_error("bad port");
    }
    o.port = static_cast<uint16_t>(port);
  }
  if (o.sessions < 1 || o.messages < 0 || o.length < 0 || o.idle_timeout_s < 1) {
    return make_error("-s, -m, -l and -T must be positive");
  }
  return o;
}

// Payload of exactly `length` bytes (except length 1, which gives none): lines of at most 81
// bytes ending in CRLF, never starting with '.', so no dot-stuffing is needed and DATA and BDAT
// carry the same bytes.
std::string make_payload(long length) {
  static constexpr std::string_view kText =
      "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 the quick brown fox";
  std::string p;
  p.reserve(static_cast<size_t>(length));
  long left = length;
  bool widen = length % 80 == 1;  // a lone byte would be left over: widen the first line
  while (left >= 2) {
    long width = std::min<long>(left, 80) - 2;
    if (widen) {
      width += 1;
      widen = false;
    }
    p.append(kText.substr(0, static_cast<size_t>(width)));
    p.append("\r\n");
    left -= width + 2;
  }
  return p;
}

class Loader {
 public:
  explicit Loader(Options o) : o_(std::move(o)), payload_(make_payload(o_.length)) {}

  // Runs every session to completion; returns the process exit status.
  int run();

 private:
  std::string message(long seq) const;
  void begin_transaction_or_quit(Session& s);
  bool flush(Session& s, size_t index);
  bool read_replies(Session& s, size_t index);
  void on_reply(Session& s, const Reply& r);
  void finish(Session& s, std::string_view why);
  void note_error(std::string_view what, const Reply& r);

  Options o_;
  std::string payload_;
  std::vector<Session> sessions_;
  int ep_ = -1;
  long seq_ = 0;
  int live_ = 0;
  long errors_logged_ = 0;
};

std::string Loader::message(long seq) const {
  std::string m = fmt::format(
      "From: <{}>\r\nTo: <{}>\r\nSubject: bench {}\r\nMessage-ID: <{}.{}@{}>\r\n"
      "Date: Thu, 1 Jan 2026 00:00:00 +0000\r\n\r\n",
      o_.from, o_.to, seq, seq, getpid(), o_.helo);
  m.append(payload_);
  return m;
}

// Appends the next transaction's commands (or QUIT) to s.out; the caller flushes.
void Loader::begin_transaction_or_quit(Session& s) {
  if (s.to_send == 0) {
    s.out.append("QUIT\r\n");
    s.expect.push_back(Expect::Quit);
    return;
  }
  --s.to_send;
  ++s.started;
  long seq = ++seq_;
  s.out.append(fmt::format("MAIL FROM:<{}>\r\nRCPT TO:<{}>\r\n", o_.from, o_.to));
  s.expect.push_back(Expect::Mail);
  s.expect.push_back(Expect::Rcpt);
  if (o_.bdat) {
    std::string m = message(seq);
    s.out.append(fmt::format("BDAT {} LAST\r\n", m.size()));
    s.out.append(m);
    s.expect.push_back(Expect::Bdat);
  } else {
    s.out.append("DATA\r\n");
    s.expect.push_back(Expect::Data);
    s.body_seq = seq;
  }
}

void Loader::note_error(std::string_view what, const Reply& r) {
  if (!o_.quiet && errors_logged_ < 10) {
    fmt::print(stderr, "smtp_pipeline_load: {}: {}\n", what, r.last_line);
  }
  ++errors_logged_;
}

void Loader::finish(Session& s, std::string_view why) {
  if (s.phase == Phase::Done) {
    return;
  }
  if (!why.empty() && !o_.quiet && errors_logged_ < 10) {
    fmt::print(stderr, "smtp_pipeline_load: session ended: {}\n", why);
    ++errors_logged_;
  }
  epoll_ctl(ep_, EPOLL_CTL_DEL, s.fd, nullptr);
  close(s.fd);
  s.fd = -1;
  s.phase = Phase::Done;
  --live_;
}

// Writes what it can; keeps EPOLLOUT interest only while bytes remain. False on error.
bool Loader::flush(Session& s, size_t index) {
  while (s.out_off < s.out.size()) {
    ssize_t n = send(s.fd, s.out.data() + s.out_off, s.out.size() - s.out_off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN) {
        break;
      }
      finish(s, fmt::format("send: {}", std::strerror(errno)));
      return false;
    }
    s.out_off += static_cast<size_t>(n);
  }
  if (s.out_off == s.out.size()) {
    s.out.clear();
    s.out_off = 0;
  }
  bool want = !s.out.empty();
  if (want != s.want_write) {
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.u64 = index;
    epoll_ctl(ep_, EPOLL_CTL_MOD, s.fd, &ev);
    s.want_write = want;
  }
  return true;
}

void Loader::on_reply(Session& s, const Reply& r) {
  if (s.expect.empty()) {
    finish(s, fmt::format("unexpected reply: {}", r.last_line));
    return;
  }
  Expect e = s.expect.front();
  s.expect.pop_front();
  bool ok = r.code >= 200 && r.code < 300;
  switch (e) {
    case Expect::Banner:
      if (!ok) {
        finish(s, fmt::format("banner: {}", r.last_line));
        return;
      }
      s.out.append(fmt::format("EHLO {}\r\n", o_.helo));
      s.expect.push_back(Expect::Ehlo);
      return;
    case Expect::Ehlo:
      if (!ok) {
        finish(s, fmt::format("EHLO: {}", r.last_line));
        return;
      }
      if (o_.bdat && !s.bdat_ok) {
        finish(s, "server does not advertise CHUNKING");
        return;
      }
      begin_transaction_or_quit(s);
      return;
    case Expect::Mail:
    case Expect::Rcpt:
      if (!ok) {
        note_error(e == Expect::Mail ? "MAIL" : "RCPT", r);
      }
      return;
    case Expect::Data:
      if (r.code == 354) {
        // Body, end of data, and the next transaction's commands in one write (RFC 2920).
        s.out.append(message(s.body_seq));
        s.out.append(".\r\n");
        s.expect.push_back(Expect::EndOfData);
        begin_transaction_or_quit(s);
      } else {
        note_error("DATA", r);
        begin_transaction_or_quit(s);
      }
      return;
    case Expect::EndOfData:
    case Expect::Bdat:
      if (ok) {
        ++s.acked;
      } else {
        note_error("end of data", r);
      }
      if (e == Expect::Bdat) {
        begin_transaction_or_quit(s);
      }
      return;
    case Expect::Quit:
      finish(s, "");
      return;
  }
}

// Parses complete (possibly multiline) replies out of s.in. False once the session ended.
bool Loader::read_replies(Session& s, size_t index) {
  char buf[16384];
  bool eof = false;
  for (;;) {
    ssize_t n = recv(s.fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN) {
        break;
      }
      finish(s, fmt::format("recv: {}", std::strerror(errno)));
      return false;
    }
    if (n == 0) {
      eof = true;  // parse what arrived before the close first
      break;
    }
    s.in.append(buf, static_cast<size_t>(n));
  }
  size_t pos = 0;
  Reply r;
  for (;;) {
    size_t eol = s.in.find("\r\n", pos);
    if (eol == std::string::npos) {
      break;
    }
    std::string_view line(s.in.data() + pos, eol - pos);
    pos = eol + 2;
    if (line.size() < 3) {
      finish(s, fmt::format("malformed reply: {}", line));
      return false;
    }
    if (!s.expect.empty() && s.expect.front() == Expect::Ehlo && line.size() >= 12 &&
        strncasecmp(line.data() + 4, "CHUNKING", 8) == 0) {
      s.bdat_ok = true;
    }
    if (line.size() > 3 && line[3] == '-') {
      continue;
    }
    r.code = std::atoi(std::string(line.substr(0, 3)).c_str());
    r.last_line = std::string(line);
    on_reply(s, r);
    if (s.phase == Phase::Done) {
      return false;
    }
  }
  s.in.erase(0, pos);
  if (eof) {
    finish(s, s.expect.empty() ? "" : "connection closed by server");
    return false;
  }
  return flush(s, index);
}

int Loader::run() {
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  if (ep_ < 0) {
    fmt::print(stderr, "smtp_pipeline_load: epoll_create1: {}\n", std::strerror(errno));
    return 2;
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(o_.port);
  if (inet_pton(AF_INET, o_.host.c_str(), &sa.sin_addr) != 1) {
    fmt::print(stderr, "smtp_pipeline_load: not an IPv4 address: {}\n", o_.host);
    return 2;
  }
  sessions_.resize(static_cast<size_t>(o_.sessions));
  for (size_t i = 0; i < sessions_.size(); ++i) {
    bool extra = static_cast<long>(i) < o_.messages % o_.sessions;
    sessions_[i].to_send = o_.messages / o_.sessions + (extra ? 1 : 0);
  }
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < sessions_.size(); ++i) {
    Session& s = sessions_[i];
    s.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.fd < 0) {
      fmt::print(stderr, "smtp_pipeline_load: socket: {}\n", std::strerror(errno));
      s.phase = Phase::Done;
      continue;
    }
    int one = 1;
    setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(s.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0 && errno != EINPROGRESS) {
      fmt::print(stderr, "smtp_pipeline_load: connect: {}\n", std::strerror(errno));
      close(s.fd);
      s.phase = Phase::Done;
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = i;
    epoll_ctl(ep_, EPOLL_CTL_ADD, s.fd, &ev);
    s.want_write = true;
    s.expect.push_back(Expect::Banner);
    ++live_;
  }
  auto last_progress = std::chrono::steady_clock::now();
  std::vector<epoll_event> events(256);
  bool timed_out = false;
  while (live_ > 0) {
    int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 1000);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      fmt::print(stderr, "smtp_pipeline_load: epoll_wait: {}\n", std::strerror(errno));
      break;
    }
    auto now = std::chrono::steady_clock::now();
    if (n == 0) {
      if (now - last_progress > std::chrono::seconds(o_.idle_timeout_s)) {
        timed_out = true;
        break;
      }
      continue;
    }
    last_progress = now;
    for (int k = 0; k < n; ++k) {
      size_t i = events[k].data.u64;
      Session& s = sessions_[i];
      if (s.phase == Phase::Done) {
        continue;
      }
      if (s.phase == Phase::Connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          finish(s, fmt::format("connect: {}", std::strerror(err)));
          continue;
        }
        s.phase = Phase::Running;
      }
      if ((events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
        if (!read_replies(s, i)) {
          continue;
        }
      }
      if ((events[k].events & EPOLLOUT) != 0 || s.want_write) {
        flush(s, i);
      }
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  long started = 0;
  long acked = 0;
  for (Session& s : sessions_) {
    started += s.started;
    acked += s.acked;
    if (s.phase != Phase::Done) {
      close(s.fd);
    }
  }
  close(ep_);
  if (timed_out) {
    fmt::print(stderr, "smtp_pipeline_load: no progress for {} s; giving up\n", o_.idle_timeout_s);
  }
  fmt::print("RESULT mode={} sessions={} length={} messages={} sent={} acked={} failed={} "
             "seconds={:.3f} rate={:.1f}\n",
             o_.bdat ? "bdat" : "data", o_.sessions, o_.length, o_.messages, started, acked,
             o_.messages - acked, secs, secs > 0 ? static_cast<double>(acked) / secs : 0.0);
  return acked == o_.messages ? 0 : 1;
}

}  // namespace
}  // namespace estafeta::bench

int main(int argc, char** argv) {
  auto opts = estafeta::bench::parse_options(argc, argv);
  if (!opts) {
    fmt::print(stderr,
               "smtp_pipeline_load: {}\nusage: smtp_pipeline_load [-B] [-q] [-s sessions] "
               "[-m messages (total)] [-l payload_bytes] [-f from] [-t to] [-M helo] "
               "[-T idle_timeout_s] host:port\n",
               opts.error().message);
    return 2;
  }
  estafeta::bench::Loader loader(std::move(*opts));
  return loader.run();
}
