// SMTPUTF8 decisions and IDNA A-labels: see idn.h.
#include "outbound/idn.h"

#include <idn2.h>

#include <algorithm>
#include <string>

namespace estafeta::outbound {

bool has_non_ascii(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) > 127; });
}

Result<std::string> domain_to_ascii(std::string_view domain) {
  if (!has_non_ascii(domain)) return std::string(domain);
  const std::string input(domain);  // NUL-terminated for libidn2
  char* output = nullptr;
  const int rc = idn2_to_ascii_8z(input.c_str(), &output, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
  if (rc != IDN2_OK) {
    idn2_free(output);
    return make_error(std::string("cannot convert domain to ASCII: ") + idn2_strerror(rc));
  }
  std::string result(output);
  idn2_free(output);
  return result;
}

Result<std::string> address_to_ascii(std::string_view address) {
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos) return std::string(address);
  Result<std::string> domain = domain_to_ascii(address.substr(at + 1));
  if (!domain.ok()) return domain.error();
  return std::string(address.substr(0, at + 1)) + *domain;
}

namespace {

bool local_part_ascii(std::string_view address) {
  const size_t at = address.rfind('@');
  return !has_non_ascii(at == std::string_view::npos ? address : address.substr(0, at));
}

}  // namespace

Utf8Decision decide_smtputf8(bool peer_smtputf8, bool smtputf8_requested, std::string_view sender,
                             const std::vector<std::string>& recipients) {
  Utf8Decision d;
  const bool any_utf8 =
      has_non_ascii(sender) || std::any_of(recipients.begin(), recipients.end(),
                                           [](const std::string& r) { return has_non_ascii(r); });
  if (peer_smtputf8 || (!any_utf8 && !smtputf8_requested)) return d;
  d.action = Utf8Action::kRefuse;
  if (smtputf8_requested || !local_part_ascii(sender) ||
      !std::all_of(recipients.begin(), recipients.end(), local_part_ascii)) {
    return d;
  }
  Result<std::string> s = address_to_ascii(sender);
  if (!s.ok()) return d;
  std::vector<std::string> converted;
  for (const std::string& r : recipients) {
    Result<std::string> a = address_to_ascii(r);
    if (!a.ok()) return d;
    converted.push_back(std::move(*a));
  }
  d.action = Utf8Action::kAsciiDomains;
  d.sender = std::move(*s);
  d.recipients = std::move(converted);
  return d;
}

}  // namespace estafeta::outbound
