// RFC 5321 path and mailbox parser (see mailbox.h). A hand-written recursive-descent reader
// over the grammar of RFC 5321 §4.1.2 with the RFC 6531 §3.3 UTF-8 extensions.
#include "address/mailbox.h"

#include "address/domain.h"
#include "address/utf8.h"
#include "base/ascii.h"

namespace estafeta::address {
namespace {

bool is_atext(char c, bool utf8) {
  if (ascii::is_alpha(c) || ascii::is_digit(c)) return true;
  if (utf8 && static_cast<unsigned char>(c) >= 0x80) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
    case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

// qtextSMTP = %d32-33 / %d35-91 / %d93-126 (+ UTF8-non-ascii under SMTPUTF8).
bool is_qtext(char c, bool utf8) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x80) return utf8;
  return u >= 32 && u <= 126 && c != '"' && c != '\\';
}

Status check_domain_or_literal(std::string_view domain, bool utf8) {
  if (!domain.empty() && domain.front() == '[') return check_address_literal(domain);
  return check_domain(domain, utf8);
}

}  // namespace

bool is_dot_string(std::string_view local, bool utf8) {
  if (local.empty() || local.front() == '.' || local.back() == '.') return false;
  char prev = 0;
  for (char c : local) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!is_atext(c, utf8)) {
      return false;
    }
    prev = c;
  }
  return true;
}

std::string quote_local_part(std::string_view local) {
  if (is_dot_string(local, true)) return std::string(local);
  std::string out = "\"";
  for (char c : local) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string Mailbox::text() const {
  std::string out = quote_local_part(local_part);
  if (!domain.empty()) {
    out += '@';
    out += domain;
  }
  return out;
}

Result<Mailbox> parse_mailbox(std::string_view text, const ParseOptions& options) {
  const bool utf8 = options.smtputf8;
  if (!utf8 && has_non_ascii(text)) return make_error("non-ASCII address without SMTPUTF8");
  if (utf8 && !valid_utf8(text)) return make_error("malformed UTF-8 in address");
  Mailbox box;
  size_t i = 0;
  if (!text.empty() && text[0] == '"') {
    // Quoted-string = DQUOTE *QcontentSMTP DQUOTE
    i = 1;
    bool closed = false;
    while (i < text.size()) {
      char c = text[i];
      if (c == '"') {
        closed = true;
        ++i;
        break;
      }
      if (c == '\\') {
        // quoted-pairSMTP = %d92 %d32-126
        if (i + 1 >= text.size()) return make_error("unterminated quoted local part");
        auto n = static_cast<unsigned char>(text[i + 1]);
        if (n < 32 || n > 126) return make_error("bad quoted pair in local part");
        box.local_part += text[i + 1];
        i += 2;
        continue;
      }
      if (!is_qtext(c, utf8)) return make_error("bad character in quoted local part");
      box.local_part += c;
      ++i;
    }
    if (!closed) return make_error("unterminated quoted local part");
  } else {
    size_t at = text.rfind('@');
    std::string_view local = text.substr(0, at == std::string_view::npos ? text.size() : at);
    if (local.empty()) return make_error("empty local part");
    if (!is_dot_string(local, utf8)) return make_error("bad character in local part");
    box.local_part = std::string(local);
    i = local.size();
  }
  if (i > kMaxLocalPartLength) return make_error("local part too long");
  if (i == text.size()) {
    // RFC 5321 §4.1.1.3: "<Postmaster>" without a domain must be accepted.
    if (ascii::iequals(box.local_part, "postmaster")) return box;
    return make_error("missing domain");
  }
  if (text[i] != '@') return make_error("junk after local part");
  std::string_view domain = text.substr(i + 1);
  if (Status s = check_domain_or_literal(domain, utf8); !s.ok()) return s.error();
  box.domain = std::string(domain);
  return box;
}

Result<Path> parse_path(std::string_view text, const ParseOptions& options) {
  if (text.size() < 2 || text.front() != '<' || text.back() != '>') {
    return make_error("address not enclosed in <>");
  }
  if (text.size() > kMaxPathLength) return make_error("path too long");
  std::string_view inner = text.substr(1, text.size() - 2);
  Path path;
  if (inner.empty()) {
    if (!options.allow_null) return make_error("null address not allowed here");
    path.is_null = true;
    return path;
  }
  if (inner.front() == '@') {
    // A-d-l = At-domain *( "," At-domain ) ":" ; checked, then ignored (RFC 5321 §3.3).
    size_t colon = inner.find(':');
    if (colon == std::string_view::npos) return make_error("source route without ':'");
    std::string_view route = inner.substr(0, colon);
    size_t start = 0;
    while (true) {
      size_t comma = route.find(',', start);
      std::string_view hop = route.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (hop.size() < 2 || hop.front() != '@') return make_error("bad source route");
      if (Status s = check_domain_or_literal(hop.substr(1), options.smtputf8); !s.ok()) {
        return make_error("bad source route: " + s.error().message);
      }
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    inner = inner.substr(colon + 1);
  }
  Result<Mailbox> box = parse_mailbox(inner, options);
  if (!box.ok()) return box.error();
  path.mailbox = std::move(box).value();
  return path;
}

}  // namespace estafeta::address
