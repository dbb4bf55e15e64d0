// Domain and address-literal syntax (see domain.h). Written from the RFC 5321 §4.1.2 grammar.
#include "address/domain.h"

#include "address/utf8.h"
#include "base/ascii.h"

namespace estafeta::address {
namespace {

bool is_hex(char c) {
  return ascii::is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool let_dig(char c, bool utf8) {
  return ascii::is_alpha(c) || ascii::is_digit(c) ||
         (utf8 && static_cast<unsigned char>(c) >= 0x80);
}

// Counts hex groups in a colon-separated run; an IPv4 tail counts as two groups.
bool count_groups(std::string_view part, bool allow_v4_tail, int& groups) {
  groups = 0;
  if (part.empty()) return true;
  size_t start = 0;
  while (true) {
    size_t colon = part.find(':', start);
    std::string_view g =
        part.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start);
    if (colon == std::string_view::npos && allow_v4_tail &&
        g.find('.') != std::string_view::npos) {
      if (!valid_ipv4(g)) return false;
      groups += 2;
      return true;
    }
    if (g.empty() || g.size() > 4) return false;
    for (char c : g) {
      if (!is_hex(c)) return false;
    }
    ++groups;
    if (colon == std::string_view::npos) return true;
    start = colon + 1;
  }
}

}  // namespace

bool valid_ipv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t digits = 0;
    int value = 0;
    while (i < s.size() && ascii::is_digit(s[i]) && digits < 4) {
      value = value * 10 + (s[i] - '0');
      ++i, ++digits;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

bool valid_ipv6(std::string_view s) {
  size_t dc = s.find("::");
  if (dc == std::string_view::npos) {
    int groups = 0;
    return count_groups(s, true, groups) && groups == 8;
  }
  if (s.find("::", dc + 1) != std::string_view::npos) return false;
  int left = 0;
  int right = 0;
  if (!count_groups(s.substr(0, dc), false, left)) return false;
  if (!count_groups(s.substr(dc + 2), true, right)) return false;
  return left + right <= 7;
}

Status check_domain(std::string_view domain, bool utf8) {
  if (domain.empty()) return make_error("empty domain");
  if (domain.size() > kMaxDomainLength) return make_error("domain too long");
  if (utf8 && !valid_utf8(domain)) return make_error("malformed UTF-8 in domain");
  size_t start = 0;
  while (true) {
    size_t dot = domain.find('.', start);
    std::string_view label = domain.substr(
        start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return make_error("empty domain label");
    if (label.size() > kMaxLabelLength) return make_error("domain label too long");
    if (!let_dig(label.front(), utf8) || !let_dig(label.back(), utf8)) {
      return make_error("domain label must start and end with a letter or digit");
    }
    for (char c : label) {
      if (!let_dig(c, utf8) && c != '-') return make_error("bad character in domain");
    }
    if (dot == std::string_view::npos) return {};
    start = dot + 1;
  }
}

Status check_address_literal(std::string_view literal) {
  if (literal.size() < 2 || literal.front() != '[' || literal.back() != ']') {
    return make_error("malformed address literal");
  }
  std::string_view inner = literal.substr(1, literal.size() - 2);
  if (ascii::istarts_with(inner, "IPv6:")) {
    if (valid_ipv6(inner.substr(5))) return {};
    return make_error("bad IPv6 address literal");
  }
  if (valid_ipv4(inner)) return {};
  return make_error("bad address literal");
}

}  // namespace estafeta::address
