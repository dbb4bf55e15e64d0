// Reading DNS replies (RFC 1035 4.1) for outbound mail and smtpd's client names: the header
// flags, the answer section's records, compressed names, and the rdata of MX, A, AAAA, TXT,
// PTR, NS and TLSA (RFC 6698 2.1) records; the name a PTR query asks for an address.
// c-ares only carries the bytes (dns_resolver.h); every byte of a reply is read here, bounds
// checked, and fuzzed (fuzz/outbound_dns_message_fuzz.cc). Pure: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "outbound/dns_types.h"

namespace estafeta::outbound {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeNs = 2;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeSoa = 6;
inline constexpr uint16_t kTypePtr = 12;
inline constexpr uint16_t kTypeMx = 15;
inline constexpr uint16_t kTypeTxt = 16;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeTlsa = 52;
inline constexpr uint16_t kClassIn = 1;

inline constexpr int kRcodeNoError = 0;
inline constexpr int kRcodeServFail = 2;
inline constexpr int kRcodeNxDomain = 3;
inline constexpr int kRcodeRefused = 5;

/// One resource record of the answer or authority section; its rdata is message[rdata_offset,
/// rdata_offset + rdata_length) (kept as offsets: MX rdata may point back into the message).
struct DnsRecord {
  std::string owner;
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  size_t rdata_offset = 0;
  size_t rdata_length = 0;
};

struct DnsReply {
  uint16_t id = 0;
  int rcode = 0;
  bool authenticated = false;  // AD
  bool truncated = false;      // TC
  std::vector<DnsRecord> answers;
  /// The authority section (where a negative answer has its SOA, RFC 2308 3).
  std::vector<DnsRecord> authority;
};

/// The header, the answer and the authority sections (questions skipped; the additional
/// section ignored). Fails on anything that runs past the end or loops, except in the
/// authority section, which is kept up to its first malformed record.
Result<DnsReply> parse_dns_reply(std::span<const uint8_t> message);

/// The (possibly compressed) domain name at `offset`, in dotted form without the final dot,
/// ASCII lower-cased ("" for the root); `offset` moves past it. At most 255 bytes; pointers
/// must point backwards. A byte of a label that is '.', '\', a control character, a space
/// or above 0x7e is written as \DDD (decimal, as in RFC 1035 master files).
Result<std::string> read_domain_name(std::span<const uint8_t> message, size_t& offset);

/// Rdata decoders; `record` must come from parse_dns_reply(message).
Result<MxRecord> decode_mx(std::span<const uint8_t> message, const DnsRecord& record);
/// A (4 bytes) or AAAA (16 bytes) rdata as text.
Result<HostAddress> decode_address(std::span<const uint8_t> message, const DnsRecord& record);
/// The character-strings of one TXT record, concatenated (as for SPF, RFC 7208 3.3).
Result<std::string> decode_txt(std::span<const uint8_t> message, const DnsRecord& record);
/// PTR rdata: one domain name (as read_domain_name writes it) filling the rdata exactly.
Result<std::string> decode_ptr(std::span<const uint8_t> message, const DnsRecord& record);
/// TLSA rdata: usage, selector, matching type, then at least one byte of association data.
Result<TlsaRecord> parse_tlsa_rdata(std::span<const uint8_t> rdata);

/// A whole reply as the answer to a query of `type` (kTypeMx, kTypeA, kTypeAaaa, kTypeTxt,
/// kTypePtr, kTypeNs, kTypeTlsa): NOERROR with records of that type (class IN) -> Ok, without -> NoData;
/// NXDOMAIN -> NotFound "Host not found"; SERVFAIL -> TempFail "Host not found, try again";
/// any other rcode, or a reply that does not parse -> TempFail with the reason. A record of
/// the type whose rdata is malformed makes the answer TempFail; an MX record whose exchange
/// name holds bytes that no host name has (an escape in its text) is left out (a PTR name is
/// kept as read: judging it is the caller's business, policy/client_name.h).
/// The answer's ttl: Ok: the smallest TTL of the records used (those of the type that are
/// kept, and the CNAME records of the answer section that led to them); NotFound and NoData:
/// the negative TTL of RFC 2308 5, the smaller of the authority section's SOA record's TTL
/// and its MINIMUM field, or 0 without a (well-formed) SOA; TempFail: 0.
DnsAnswer<MxRecord> mx_answer(std::span<const uint8_t> message);
DnsAnswer<HostAddress> address_answer(std::span<const uint8_t> message, uint16_t type);
DnsAnswer<std::string> txt_answer(std::span<const uint8_t> message);
/// The names of the PTR records, in the order of the reply (those reached through a CNAME,
/// as RFC 2317 delegations publish them, included).
DnsAnswer<std::string> ptr_answer(std::span<const uint8_t> message);
/// The name server names of the NS records, in the order of the reply.
DnsAnswer<std::string> ns_answer(std::span<const uint8_t> message);
DnsAnswer<TlsaRecord> tlsa_answer(std::span<const uint8_t> message);

/// The name a PTR query asks for a numeric address (RFC 1035 3.5, RFC 3596 2.5):
/// "192.0.2.1" -> "1.2.0.192.in-addr.arpa", "2001:db8::1" -> "1.0.0.0...8.b.d.0.1.0.0.2.ip6.arpa"
/// (32 nibbles, lowest first). An IPv4-mapped IPv6 address is asked as its IPv4 address.
/// Errors: not a numeric IPv4 or IPv6 address.
Result<std::string> reverse_lookup_name(std::string_view address);

}  // namespace estafeta::outbound
