// DnsResolver on c-ares and Asio: see dns_resolver.h. c-ares tells us which sockets it wants
// watched (ARES_OPT_SOCK_STATE_CB); each becomes a non-owning stream_descriptor whose
// readiness calls ares_process_fd, and one steady_timer follows ares_timeout.
#include "outbound/dns_resolver.h"

#include <ares.h>
#include <fmt/format.h>
#include <poll.h>

#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "outbound/dns_message.h"

namespace estafeta::outbound {
namespace {

constexpr unsigned char kAdBit = 0x20;  // in the header's fourth byte (RFC 4035 3.2.3)
constexpr int kMaxReadsPerWakeup = 64;

// What c-ares delivered for one query: ARES_SUCCESS with the reply's bytes, or an error.
struct RawReply {
  int status = ARES_SUCCESS;
  std::vector<uint8_t> message;
};

// One query in flight; the reply may come before or after someone waits for it.
struct PendingQuery {
  std::optional<RawReply> reply;
  std::function<void(RawReply)> waiter;

  void complete(RawReply result) {
    if (waiter) {
      auto deliver = std::move(waiter);
      waiter = nullptr;
      deliver(std::move(result));
    } else {
      reply = std::move(result);
    }
  }
};

// A socket of c-ares, watched but not owned (c-ares closes it).
struct Watch {
  Watch(asio::io_context& io, int fd) : descriptor(io), fd(fd) {}
  asio::posix::stream_descriptor descriptor;
  int fd;
  bool want_read = false;
  bool want_write = false;
  bool reading = false;
  bool writing = false;
  bool closed = false;
};

std::string failure_reason(int status) {
  switch (status) {
    case ARES_ESERVFAIL:
      return "Host not found, try again";
    case ARES_ETIMEOUT:
      return "Host not found, try again (timeout)";
    case ARES_EREFUSED:
      return "Host not found, try again (nameserver refused the query)";
    case ARES_ECONNREFUSED:
      return "Host not found, try again (connection refused)";
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
      return "Host not found, try again (resolver shut down)";
    default:
      return fmt::format("Host not found, try again ({})", ares_strerror(status));
  }
}

template <class T, class Parse>
DnsAnswer<T> answer_from(const RawReply& raw, Parse parse) {
  if (raw.status == ARES_SUCCESS) return parse(std::span<const uint8_t>(raw.message));
  DnsAnswer<T> answer;
  if (raw.status == ARES_EBADNAME) {
    answer.status = DnsStatus::NotFound;
    answer.reason = "Host not found (malformed domain name)";
  } else {
    answer.reason = failure_reason(raw.status);
  }
  return answer;
}

}  // namespace

struct DnsResolver::Core : std::enable_shared_from_this<DnsResolver::Core> {
  explicit Core(asio::io_context& context) : io(context), timer(context) {}
  ~Core() { shut_down(); }

  asio::io_context& io;
  ares_channel channel = nullptr;
  asio::steady_timer timer;
  std::map<int, std::shared_ptr<Watch>> watches;

  // c-ares: start, change or stop watching `fd`.
  static void socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    static_cast<Core*>(data)->watch(fd, readable != 0, writable != 0);
  }

  static void on_reply(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    std::unique_ptr<std::shared_ptr<PendingQuery>> owner(
        static_cast<std::shared_ptr<PendingQuery>*>(arg));
    RawReply reply{status, {}};
    if (status == ARES_SUCCESS && abuf != nullptr && alen > 0) {
      reply.message.assign(abuf, abuf + alen);
    }
    (*owner)->complete(std::move(reply));
  }

  void watch(int fd, bool readable, bool writable) {
    auto found = watches.find(fd);
    if (!readable && !writable) {
      if (found == watches.end()) return;
      found->second->closed = true;
      found->second->descriptor.release();  // cancels its waits; c-ares closes the socket
      watches.erase(found);
      return;
    }
    std::shared_ptr<Watch> entry;
    if (found == watches.end()) {
      entry = std::make_shared<Watch>(io, fd);
      std::error_code error;
      entry->descriptor.assign(fd, error);
      if (error) return;  // left to c-ares's timeout
      watches.emplace(fd, entry);
    } else {
      entry = found->second;
    }
    entry->want_read = readable;
    entry->want_write = writable;
    arm(entry);
  }

  void arm(const std::shared_ptr<Watch>& entry) {
    if (entry->want_read && !entry->reading) {
      entry->reading = true;
      entry->descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                                   [weak = weak_from_this(), entry](const std::error_code& error) {
                                     entry->reading = false;
                                     auto core = weak.lock();
                                     if (!core || entry->closed || error) return;
                                     core->readable(entry);
                                   });
    }
    if (entry->want_write && !entry->writing) {
      entry->writing = true;
      entry->descriptor.async_wait(
          asio::posix::stream_descriptor::wait_write,
          [weak = weak_from_this(), entry](const std::error_code& error) {
            entry->writing = false;
            auto core = weak.lock();
            if (!core || entry->closed || error || core->channel == nullptr) return;
            ares_process_fd(core->channel, ARES_SOCKET_BAD, entry->fd);
            if (!entry->closed) core->arm(entry);
            core->update_timer();
          });
    }
  }

  // Asio's reactor reports edges: read until the socket has nothing more (c-ares reads one
  // TCP message per call), so that no reply waits for a later edge that never comes.
  void readable(const std::shared_ptr<Watch>& entry) {
    for (int i = 0; i < kMaxReadsPerWakeup && channel != nullptr; ++i) {
      ares_process_fd(channel, entry->fd, ARES_SOCKET_BAD);
      if (entry->closed) break;
      pollfd poll_fd{entry->fd, POLLIN, 0};
      if (poll(&poll_fd, 1, 0) <= 0 || (poll_fd.revents & (POLLIN | POLLERR | POLLHUP)) == 0) {
        break;
      }
    }
    if (!entry->closed) arm(entry);
    update_timer();
  }

  void update_timer() {
    if (channel == nullptr) return;
    timeval storage{};
    timeval* next = ares_timeout(channel, nullptr, &storage);
    if (next == nullptr) {
      timer.cancel();
      return;
    }
    timer.expires_after(std::chrono::seconds(next->tv_sec) +
                        std::chrono::microseconds(next->tv_usec));
    timer.async_wait([weak = weak_from_this()](const std::error_code& error) {
      auto core = weak.lock();
      if (!core || error || core->channel == nullptr) return;
      ares_process_fd(core->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      core->update_timer();
    });
  }

  std::shared_ptr<PendingQuery> send(const std::string& name, int type) {
    auto pending = std::make_shared<PendingQuery>();
    if (channel == nullptr) {
      pending->complete(RawReply{ARES_EDESTRUCTION, {}});
      return pending;
    }
    unsigned char* query = nullptr;
    int length = 0;
    int status = ares_create_query(name.c_str(), kClassIn, type, 0, 1, &query, &length, 0);
    if (status != ARES_SUCCESS) {
      pending->complete(RawReply{status, {}});
      return pending;
    }
    query[3] |= kAdBit;
    ares_send(channel, query, length, &Core::on_reply, new std::shared_ptr<PendingQuery>(pending));
    ares_free_string(query);
    update_timer();
    return pending;
  }

  void shut_down() {
    if (channel == nullptr) return;
    ares_channel doomed = channel;
    ares_destroy(doomed);  // completes every query with ARES_EDESTRUCTION, closes the sockets
    channel = nullptr;
    timer.cancel();
    for (auto& [fd, entry] : watches) {
      entry->closed = true;
      entry->descriptor.release();
    }
    watches.clear();
  }
};

namespace {

// Waits for a query's reply; resumes the coroutine through its executor, never inline.
asio::awaitable<RawReply> wait_for(asio::io_context& io, std::shared_ptr<PendingQuery> pending) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(RawReply)>(
      [&io, pending](auto handler) {
        auto executor = asio::get_associated_executor(handler, io.get_executor());
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto deliver = [executor, shared](RawReply reply) {
          asio::post(executor,
                     [shared, reply = std::move(reply)]() mutable { (*shared)(std::move(reply)); });
        };
        if (pending->reply) {
          RawReply reply = std::move(*pending->reply);
          pending->reply.reset();
          deliver(std::move(reply));
        } else {
          pending->waiter = std::move(deliver);
        }
      },
      asio::use_awaitable);
}

}  // namespace

Result<std::unique_ptr<DnsResolver>> DnsResolver::create(asio::io_context& io,
                                                         ResolverOptions options) {
  auto csv = nameserver_csv(options.nameservers);
  if (!csv) return make_error("resolver_nameservers: " + csv.error().message);
  static std::once_flag library_once;
  std::call_once(library_once, [] { ares_library_init(ARES_LIB_INIT_ALL); });

  auto core = std::make_shared<Core>(io);
  ares_options ares{};
  ares.sock_state_cb = &Core::socket_state;
  ares.sock_state_cb_data = core.get();
  ares.timeout = static_cast<int>(std::max<long long>(1, options.timeout.count()));
  ares.tries = std::max(1, options.tries);
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  int status = ares_init_options(&core->channel, &ares, mask);
  if (status != ARES_SUCCESS) {
    core->channel = nullptr;
    return make_error(fmt::format("c-ares initialization failed: {}", ares_strerror(status)));
  }
  if (!csv->empty()) {
    status = ares_set_servers_ports_csv(core->channel, csv->c_str());
    if (status != ARES_SUCCESS) {
      return make_error(fmt::format("resolver_nameservers: {}", ares_strerror(status)));
    }
  }
  return std::unique_ptr<DnsResolver>(new DnsResolver(std::move(core)));
}

DnsResolver::DnsResolver(std::shared_ptr<Core> core) : core_(std::move(core)) {}

DnsResolver::~DnsResolver() { core_->shut_down(); }

asio::awaitable<DnsAnswer<MxRecord>> DnsResolver::mx(std::string name) {
  std::shared_ptr<Core> core = core_;
  RawReply raw = co_await wait_for(core->io, core->send(name, kTypeMx));
  co_return answer_from<MxRecord>(raw, [](auto message) { return mx_answer(message); });
}

asio::awaitable<DnsAnswer<std::string>> DnsResolver::txt(std::string name) {
  std::shared_ptr<Core> core = core_;
  RawReply raw = co_await wait_for(core->io, core->send(name, kTypeTxt));
  co_return answer_from<std::string>(raw, [](auto message) { return txt_answer(message); });
}

asio::awaitable<DnsAnswer<std::string>> DnsResolver::ns(std::string name) {
  std::shared_ptr<Core> core = core_;
  RawReply raw = co_await wait_for(core->io, core->send(name, kTypeNs));
  co_return answer_from<std::string>(raw, [](auto message) { return ns_answer(message); });
}

asio::awaitable<DnsAnswer<TlsaRecord>> DnsResolver::tlsa(std::string name) {
  std::shared_ptr<Core> core = core_;
  RawReply raw = co_await wait_for(core->io, core->send(name, kTypeTlsa));
  co_return answer_from<TlsaRecord>(raw, [](auto message) { return tlsa_answer(message); });
}

asio::awaitable<DnsAnswer<std::string>> DnsResolver::ptr(asio::ip::address address) {
  std::shared_ptr<Core> core = core_;
  // Without the scope: "fe80::1%eth0" has no reverse name, fe80::1 has.
  std::string text = address.is_v6() ? asio::ip::address_v6(address.to_v6().to_bytes()).to_string()
                                     : address.to_string();
  auto name = reverse_lookup_name(text);
  if (!name) {
    DnsAnswer<std::string> answer;
    answer.status = DnsStatus::NotFound;
    answer.reason = "Host not found (" + name.error().message + ")";
    co_return answer;
  }
  RawReply raw = co_await wait_for(core->io, core->send(*name, kTypePtr));
  co_return answer_from<std::string>(raw, [](auto message) { return ptr_answer(message); });
}

asio::awaitable<DnsAnswer<asio::ip::address>> DnsResolver::addresses(std::string name,
                                                                     Families families) {
  std::shared_ptr<Core> core = core_;
  std::vector<uint16_t> types;
  if (families != Families::Ipv6) types.push_back(kTypeA);
  if (families != Families::Ipv4) types.push_back(kTypeAaaa);
  std::vector<std::shared_ptr<PendingQuery>> queries;
  for (uint16_t type : types) queries.push_back(core->send(name, type));
  std::vector<DnsAnswer<HostAddress>> answers;
  for (size_t i = 0; i < types.size(); ++i) {
    RawReply raw = co_await wait_for(core->io, queries[i]);
    uint16_t type = types[i];
    answers.push_back(answer_from<HostAddress>(
        raw, [type](auto message) { return address_answer(message, type); }));
  }
  DnsAnswer<asio::ip::address> combined;
  combined.authenticated = true;
  const DnsAnswer<HostAddress>* temporary = nullptr;
  const DnsAnswer<HostAddress>* not_found = nullptr;
  for (const auto& answer : answers) {
    combined.authenticated = combined.authenticated && answer.authenticated;
    for (const HostAddress& address : answer.records) {
      std::error_code error;
      auto parsed = asio::ip::make_address(address.text, error);
      if (!error) combined.records.push_back(parsed);
    }
    if (answer.status == DnsStatus::TempFail) temporary = &answer;
    if (answer.status == DnsStatus::NotFound) not_found = &answer;
  }
  if (!combined.records.empty()) {
    combined.status = DnsStatus::Ok;
  } else if (temporary != nullptr) {
    combined.status = DnsStatus::TempFail;
    combined.reason = temporary->reason;
  } else if (not_found != nullptr) {
    combined.status = DnsStatus::NotFound;
    combined.reason = not_found->reason;
  } else {
    combined.status = DnsStatus::NoData;
    combined.reason = answers.back().reason;
  }
  if (combined.status != DnsStatus::Ok) combined.authenticated = false;
  // Kept as long as every answer it was made of (a failed one: not at all).
  combined.ttl = UINT32_MAX;
  for (const auto& answer : answers) combined.ttl = std::min(combined.ttl, answer.ttl);
  co_return combined;
}

DnsAnswer<HostAddress> to_host_addresses(const DnsAnswer<asio::ip::address>& answer) {
  DnsAnswer<HostAddress> converted;
  converted.status = answer.status;
  converted.authenticated = answer.authenticated;
  converted.reason = answer.reason;
  converted.ttl = answer.ttl;
  for (const asio::ip::address& address : answer.records) {
    converted.records.push_back(HostAddress{
        address.is_v6() ? AddressFamily::Ipv6 : AddressFamily::Ipv4, address.to_string()});
  }
  return converted;
}

}  // namespace estafeta::outbound
