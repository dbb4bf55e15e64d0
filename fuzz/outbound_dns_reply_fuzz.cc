// Fuzz target: the DNS reply reader of the smtp client (outbound/dns_message.h). The input is
// a reply as a nameserver sends it; it is read as the answer to every query type we make (a
// temporary failure must have no TTL to be kept for), and a name is read at every offset. The
// input as text is also given to reverse_lookup_name().
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "outbound/dns_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace estafeta::outbound;
  std::span<const uint8_t> message(data, size);
  auto mx = mx_answer(message);
  if (mx.status == DnsStatus::TempFail && mx.ttl != 0) __builtin_trap();
  auto a = address_answer(message, kTypeA);
  if (a.status == DnsStatus::TempFail && a.ttl != 0) __builtin_trap();
  (void)address_answer(message, kTypeAaaa);
  (void)txt_answer(message);
  (void)tlsa_answer(message);
  (void)ptr_answer(message);
  (void)ns_answer(message);
  (void)reverse_lookup_name(std::string_view(reinterpret_cast<const char*>(data), size));
  (void)parse_tlsa_rdata(message);
  for (size_t start = 0; start < size && start < 64; ++start) {
    size_t offset = start;
    auto name = read_domain_name(message, offset);
    if (name.ok() && offset > size) __builtin_trap();
  }
  return 0;
}
