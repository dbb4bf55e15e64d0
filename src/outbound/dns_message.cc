// Reading DNS replies: see dns_message.h.
#include "outbound/dns_message.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <type_traits>

#include "base/ascii.h"

namespace estafeta::outbound {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxNameLength = 255;
constexpr int kMaxPointers = 128;

uint16_t read16(std::span<const uint8_t> message, size_t offset) {
  return static_cast<uint16_t>((message[offset] << 8) | message[offset + 1]);
}

uint32_t read32(std::span<const uint8_t> message, size_t offset) {
  return (uint32_t{read16(message, offset)} << 16) | read16(message, offset + 2);
}

bool plain_name_byte(uint8_t byte) {
  return byte > 0x20 && byte < 0x7f && byte != '.' && byte != '\\';
}

std::span<const uint8_t> rdata_of(std::span<const uint8_t> message, const DnsRecord& record) {
  return message.subspan(record.rdata_offset, record.rdata_length);
}

// RFC 2308 5: how long a negative answer may be kept, from the SOA record of the authority
// section: the smaller of its TTL and its MINIMUM field (the last 32 bits of its rdata, after
// two names and four other counters). 0 without a well-formed SOA.
uint32_t negative_ttl(std::span<const uint8_t> message, const DnsReply& reply) {
  for (const DnsRecord& record : reply.authority) {
    if (record.type != kTypeSoa || record.klass != kClassIn) continue;
    size_t offset = record.rdata_offset;
    if (!read_domain_name(message, offset).ok()) return 0;  // MNAME
    if (!read_domain_name(message, offset).ok()) return 0;  // RNAME
    if (offset + 20 != record.rdata_offset + record.rdata_length) return 0;
    return std::min(record.ttl, read32(message, offset + 16));
  }
  return 0;
}

// The records of `type` in the answer section, decoded with `decode`, as a DnsAnswer.
template <class T, class Decode>
DnsAnswer<T> answer_of(std::span<const uint8_t> message, uint16_t type, Decode decode) {
  DnsAnswer<T> answer;
  auto reply = parse_dns_reply(message);
  if (!reply) {
    answer.reason = "Host not found, try again (malformed reply: " + reply.error().message + ")";
    return answer;
  }
  answer.authenticated = reply->authenticated;
  switch (reply->rcode) {
    case kRcodeNoError:
      break;
    case kRcodeNxDomain:
      answer.status = DnsStatus::NotFound;
      answer.reason = "Host not found";
      answer.ttl = negative_ttl(message, *reply);
      return answer;
    case kRcodeServFail:
      answer.reason = "Host not found, try again";
      return answer;
    case kRcodeRefused:
      answer.reason = "Host not found, try again (nameserver refused the query)";
      return answer;
    default:
      answer.reason = fmt::format("Host not found, try again (nameserver error {})", reply->rcode);
      return answer;
  }
  uint32_t smallest_ttl = UINT32_MAX;
  for (const DnsRecord& record : reply->answers) {
    if (record.type == kTypeCname && record.klass == kClassIn) {
      smallest_ttl = std::min(smallest_ttl, record.ttl);
    }
    if (record.type != type || record.klass != kClassIn) continue;
    auto value = decode(message, record);
    if (!value) {
      answer.reason =
          fmt::format("Host not found, try again (malformed reply: {})", value.error().message);
      answer.records.clear();
      return answer;
    }
    if constexpr (std::is_same_v<T, MxRecord>) {
      // An exchange name with bytes no host name has (escaped as \DDD) is left out.
      if (value->host.find('\\') != std::string::npos) continue;
    }
    answer.records.push_back(std::move(value).value());
    smallest_ttl = std::min(smallest_ttl, record.ttl);
  }
  if (answer.records.empty()) {
    answer.status = DnsStatus::NoData;
    answer.reason = "Host found but no data record of requested type";
    answer.ttl = negative_ttl(message, *reply);
  } else {
    answer.status = DnsStatus::Ok;
    answer.ttl = smallest_ttl;
  }
  return answer;
}

}  // namespace

namespace {

// One resource record at `offset` (moved past it).
Result<DnsRecord> read_record(std::span<const uint8_t> message, size_t& offset) {
  DnsRecord record;
  auto owner = read_domain_name(message, offset);
  if (!owner) return owner.error();
  record.owner = std::move(owner).value();
  if (offset + 10 > message.size()) return make_error("record runs past the end");
  record.type = read16(message, offset);
  record.klass = read16(message, offset + 2);
  record.ttl = read32(message, offset + 4);
  record.rdata_length = read16(message, offset + 8);
  record.rdata_offset = offset + 10;
  if (record.rdata_offset + record.rdata_length > message.size()) {
    return make_error("record data runs past the end");
  }
  offset = record.rdata_offset + record.rdata_length;
  return record;
}

}  // namespace

const char* dns_status_name(DnsStatus status) {
  switch (status) {
    case DnsStatus::Ok:
      return "Ok";
    case DnsStatus::NoData:
      return "NoData";
    case DnsStatus::NotFound:
      return "NotFound";
    case DnsStatus::TempFail:
      return "TempFail";
  }
  return "?";
}

Result<std::string> read_domain_name(std::span<const uint8_t> message, size_t& offset) {
  std::string name;
  size_t position = offset;
  size_t wire_length = 1;  // the final zero label
  int pointers = 0;
  bool jumped = false;
  for (;;) {
    if (position >= message.size()) return make_error("name runs past the end");
    uint8_t length = message[position];
    if ((length & 0xc0) == 0xc0) {
      if (position + 1 >= message.size()) return make_error("name pointer runs past the end");
      if (++pointers > kMaxPointers) return make_error("name pointers loop");
      size_t target = read16(message, position) & 0x3fff;
      if (!jumped) offset = position + 2;
      jumped = true;
      // A pointer must go backwards: no loop can then last, and no name reads the future.
      if (target >= position) return make_error("name pointer does not point backwards");
      position = target;
      continue;
    }
    if ((length & 0xc0) != 0) return make_error("unknown label type");
    if (length == 0) {
      if (!jumped) offset = position + 1;
      break;
    }
    wire_length += 1 + length;
    if (wire_length > kMaxNameLength) return make_error("name longer than 255 bytes");
    if (position + 1 + length > message.size()) return make_error("label runs past the end");
    if (!name.empty()) name += '.';
    for (size_t i = 0; i < length; ++i) {
      uint8_t byte = message[position + 1 + i];
      if (!plain_name_byte(byte)) {
        name += fmt::format("\\{:03d}", byte);
      } else {
        name += ascii::to_lower(static_cast<char>(byte));
      }
    }
    position += 1 + length;
  }
  return name;
}

Result<DnsReply> parse_dns_reply(std::span<const uint8_t> message) {
  if (message.size() < kHeaderSize) return make_error("shorter than a DNS header");
  DnsReply reply;
  reply.id = read16(message, 0);
  uint16_t flags = read16(message, 2);
  if ((flags & 0x8000) == 0) return make_error("not a response");
  reply.truncated = (flags & 0x0200) != 0;
  reply.authenticated = (flags & 0x0020) != 0;
  reply.rcode = flags & 0x000f;
  uint16_t questions = read16(message, 4);
  uint16_t answers = read16(message, 6);
  uint16_t authorities = read16(message, 8);
  size_t offset = kHeaderSize;
  for (uint16_t i = 0; i < questions; ++i) {
    auto name = read_domain_name(message, offset);
    if (!name) return name.error();
    if (offset + 4 > message.size()) return make_error("question runs past the end");
    offset += 4;
  }
  for (uint16_t i = 0; i < answers; ++i) {
    auto record = read_record(message, offset);
    if (!record) return record.error();
    reply.answers.push_back(std::move(record).value());
  }
  // Only a negative answer's lifetime comes from here: a malformed authority section is
  // read up to its first bad record, not a reason to refuse the answers.
  for (uint16_t i = 0; i < authorities; ++i) {
    auto record = read_record(message, offset);
    if (!record) break;
    reply.authority.push_back(std::move(record).value());
  }
  return reply;
}

Result<MxRecord> decode_mx(std::span<const uint8_t> message, const DnsRecord& record) {
  if (record.rdata_length < 3) return make_error("MX record too short");
  MxRecord mx;
  mx.preference = read16(message, record.rdata_offset);
  size_t offset = record.rdata_offset + 2;
  auto host = read_domain_name(message, offset);
  if (!host) return host.error();
  if (offset != record.rdata_offset + record.rdata_length) {
    return make_error("MX record length does not match its name");
  }
  mx.host = std::move(host).value();
  return mx;
}

Result<HostAddress> decode_address(std::span<const uint8_t> message, const DnsRecord& record) {
  auto rdata = rdata_of(message, record);
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (record.type == kTypeA && rdata.size() == 4) {
    inet_ntop(AF_INET, rdata.data(), text.data(), text.size());
    return HostAddress{AddressFamily::Ipv4, text.data()};
  }
  if (record.type == kTypeAaaa && rdata.size() == 16) {
    inet_ntop(AF_INET6, rdata.data(), text.data(), text.size());
    return HostAddress{AddressFamily::Ipv6, text.data()};
  }
  return make_error(
      fmt::format("address record of type {} with {} bytes", record.type, rdata.size()));
}

Result<std::string> decode_txt(std::span<const uint8_t> message, const DnsRecord& record) {
  auto rdata = rdata_of(message, record);
  if (rdata.empty()) return make_error("empty TXT record");
  std::string text;
  size_t offset = 0;
  while (offset < rdata.size()) {
    size_t length = rdata[offset];
    if (offset + 1 + length > rdata.size()) return make_error("TXT string runs past the end");
    text.append(reinterpret_cast<const char*>(rdata.data() + offset + 1), length);
    offset += 1 + length;
  }
  return text;
}

namespace {

// Rdata that is one domain name (PTR, NS); `what` names the type in errors.
Result<std::string> decode_name_rdata(std::span<const uint8_t> message, const DnsRecord& record,
                                      std::string_view what) {
  if (record.rdata_length == 0) return make_error(fmt::format("empty {} record", what));
  size_t offset = record.rdata_offset;
  auto target = read_domain_name(message, offset);
  if (!target) return target.error();
  if (offset != record.rdata_offset + record.rdata_length) {
    return make_error(fmt::format("{} record length does not match its name", what));
  }
  return target;
}

}  // namespace

Result<std::string> decode_ptr(std::span<const uint8_t> message, const DnsRecord& record) {
  return decode_name_rdata(message, record, "PTR");
}

Result<TlsaRecord> parse_tlsa_rdata(std::span<const uint8_t> rdata) {
  if (rdata.size() < 4) return make_error("TLSA record too short");
  TlsaRecord tlsa;
  tlsa.usage = rdata[0];
  tlsa.selector = rdata[1];
  tlsa.matching_type = rdata[2];
  tlsa.data.assign(rdata.begin() + 3, rdata.end());
  return tlsa;
}

DnsAnswer<MxRecord> mx_answer(std::span<const uint8_t> message) {
  return answer_of<MxRecord>(message, kTypeMx, decode_mx);
}

DnsAnswer<HostAddress> address_answer(std::span<const uint8_t> message, uint16_t type) {
  return answer_of<HostAddress>(message, type, decode_address);
}

DnsAnswer<std::string> txt_answer(std::span<const uint8_t> message) {
  return answer_of<std::string>(message, kTypeTxt, decode_txt);
}

DnsAnswer<std::string> ptr_answer(std::span<const uint8_t> message) {
  return answer_of<std::string>(message, kTypePtr, decode_ptr);
}

DnsAnswer<std::string> ns_answer(std::span<const uint8_t> message) {
  return answer_of<std::string>(message, kTypeNs,
                                [](std::span<const uint8_t> whole, const DnsRecord& record) {
                                  return decode_name_rdata(whole, record, "NS");
                                });
}

DnsAnswer<TlsaRecord> tlsa_answer(std::span<const uint8_t> message) {
  return answer_of<TlsaRecord>(message, kTypeTlsa,
                               [](std::span<const uint8_t> whole, const DnsRecord& record) {
                                 return parse_tlsa_rdata(rdata_of(whole, record));
                               });
}

Result<std::string> reverse_lookup_name(std::string_view address) {
  std::string text(address);
  std::array<uint8_t, 16> bytes{};
  if (inet_pton(AF_INET, text.c_str(), bytes.data()) == 1) {
    return fmt::format("{}.{}.{}.{}.in-addr.arpa", bytes[3], bytes[2], bytes[1], bytes[0]);
  }
  if (inet_pton(AF_INET6, text.c_str(), bytes.data()) != 1) {
    return make_error(fmt::format("not a numeric IP address: \"{}\"", text));
  }
  constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), bytes.begin())) {
    return fmt::format("{}.{}.{}.{}.in-addr.arpa", bytes[15], bytes[14], bytes[13], bytes[12]);
  }
  constexpr char kHex[] = "0123456789abcdef";
  std::string name;
  for (size_t i = bytes.size(); i-- > 0;) {
    name += kHex[bytes[i] & 0x0f];
    name += '.';
    name += kHex[bytes[i] >> 4];
    name += '.';
  }
  return name + "ip6.arpa";
}

}  // namespace estafeta::outbound
