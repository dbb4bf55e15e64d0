// DnsResolver: asynchronous DNS lookups (for outbound mail, and smtpd's client names) on an
// asio::io_context, with c-ares
// carrying the queries (its sockets are watched by the io_context, its timeouts by a timer:
// no thread of its own, nothing blocks). c-ares sends and receives; the replies are read by
// dns_message.h. Queries ask for the name as given (no search domains) with the AD bit set
// (RFC 6840 5.7), so a validating nameserver's AD comes back in DnsAnswer::authenticated;
// nothing here validates DNSSEC.
//
// Lifetime: create() and every call on one io_context's thread. A lookup still waiting when
// the resolver is destroyed completes with TempFail "resolver shut down"; the io_context must
// run for it to resume. Errors are returned in the answers, never thrown.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <memory>
#include <string>

#include "base/result.h"
#include "outbound/dns_settings.h"
#include "outbound/dns_types.h"

namespace estafeta::outbound {

class DnsResolver {
 public:
  /// Errors: a bad nameserver entry, c-ares failing to start.
  static Result<std::unique_ptr<DnsResolver>> create(asio::io_context& io, ResolverOptions options);
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  asio::awaitable<DnsAnswer<MxRecord>> mx(std::string name);
  /// A and/or AAAA, asked in parallel; A records first. Ok if either has records (the other
  /// may have failed); else TempFail if either failed temporarily, else NotFound if the name
  /// does not exist, else NoData. `authenticated` only if every reply had AD; `ttl` the
  /// smallest of the two answers' (0 if either failed).
  asio::awaitable<DnsAnswer<asio::ip::address>> addresses(std::string name, Families families);
  /// Each record's character-strings concatenated.
  asio::awaitable<DnsAnswer<std::string>> txt(std::string name);
  /// The name servers of a zone (NS records), as the reply has them.
  asio::awaitable<DnsAnswer<std::string>> ns(std::string name);
  /// Type 52 records, e.g. for "_25._tcp.mx.example.com".
  asio::awaitable<DnsAnswer<TlsaRecord>> tlsa(std::string name);
  /// The PTR names of an address (its in-addr.arpa or ip6.arpa name; an IPv4-mapped IPv6
  /// address as its IPv4 address; an IPv6 scope is ignored), as the reply has them: not
  /// checked for being host names (policy/client_name.h does that).
  asio::awaitable<DnsAnswer<std::string>> ptr(asio::ip::address address);

  struct Core;

 private:
  explicit DnsResolver(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
};

/// The pure plan's form of an address answer (mx_plan.h).
DnsAnswer<HostAddress> to_host_addresses(const DnsAnswer<asio::ip::address>& answer);

}  // namespace estafeta::outbound
