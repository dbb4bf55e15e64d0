// The values a DNS lookup for outbound mail produces (MX, A/AAAA, TXT, TLSA records and the
// lookup's status), shared by the asynchronous resolver (dns_resolver.h, the edge) and the
// pure code that decides from them (dns_message.h, mx_plan.h). No I/O, no Asio.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace estafeta::outbound {

/// How a lookup ended. NoData: the name exists but has no record of the type (NOERROR with
/// an empty answer). NotFound: NXDOMAIN. TempFail: SERVFAIL, REFUSED, timeout, no usable
/// nameserver, a malformed or truncated reply; `reason` says which.
enum class DnsStatus { Ok, NoData, NotFound, TempFail };

/// "Ok", "NoData", "NotFound", "TempFail".
const char* dns_status_name(DnsStatus status);

template <class T>
struct DnsAnswer {
  DnsStatus status = DnsStatus::TempFail;
  /// In the order of the reply; empty unless status is Ok.
  std::vector<T> records;
  /// The reply had the AD bit (RFC 4035 3.2.3): the nameserver says it validated the data
  /// with DNSSEC. Only as trustworthy as the path to that nameserver; nothing here validates.
  bool authenticated = false;
  /// For logs when status is not Ok: "Host not found", "Host not found, try again",
  /// "timeout", "server refused the query (REFUSED)", ...
  std::string reason;
  /// How many seconds the answer may be kept (dns_message.h says how it is found); 0: not
  /// to be kept (TempFail always).
  uint32_t ttl = 0;
};

struct MxRecord {
  /// Without the trailing dot; "" is the root (a null MX, RFC 7505, is preference 0, ".").
  std::string host;
  int preference = 0;
};

enum class AddressFamily { Ipv4, Ipv6 };

/// Which address records a lookup asks for: A, AAAA or both.
enum class Families { Ipv4, Ipv6, Both };

/// A numeric host address in the pure code: "192.0.2.1" or "2001:db8::1".
struct HostAddress {
  AddressFamily family = AddressFamily::Ipv4;
  std::string text;
  friend bool operator==(const HostAddress&, const HostAddress&) = default;
};

/// One TLSA record (RFC 6698 2.1), as published: no field is interpreted here.
struct TlsaRecord {
  uint8_t usage = 0;
  uint8_t selector = 0;
  uint8_t matching_type = 0;
  std::vector<uint8_t> data;
  friend bool operator==(const TlsaRecord&, const TlsaRecord&) = default;
};

}  // namespace estafeta::outbound
