// MAIL/RCPT parameter interpretation (see esmtp_params.h). Reply texts follow Postfix.
#include "smtp/esmtp_params.h"

#include "base/ascii.h"

namespace estafeta::smtp {
namespace {

Error unsupported(std::string_view keyword) {
  return make_error("555 5.5.4 Unsupported option: " + std::string(keyword));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // RFC 3461: HEXCHAR is upper case only
}

}  // namespace

std::optional<std::string> decode_xtext(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    auto u = static_cast<unsigned char>(text[i]);
    if (u == '+') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (u >= 33 && u <= 126 && u != '=') {
      out += static_cast<char>(u);
    } else {
      return std::nullopt;
    }
  }
  return out;
}

Result<MailParams> parse_mail_params(const std::vector<EsmtpParam>& params,
                                     bool smtputf8_enabled) {
  MailParams out;
  for (const EsmtpParam& p : params) {
    if (p.keyword == "SIZE") {
      uint64_t n = 0;
      if (!p.has_value || p.value.size() > 19) {
        return make_error("501 5.5.4 Bad message size syntax");
      }
      for (char c : p.value) {
        if (!ascii::is_digit(c)) return make_error("501 5.5.4 Bad message size syntax");
        n = n * 10 + uint64_t(c - '0');
      }
      out.size = n;
    } else if (p.keyword == "BODY") {
      std::string v = ascii::upper(p.value);
      if (v != "7BIT" && v != "8BITMIME") return make_error("501 5.5.4 Bad BODY keyword syntax");
      out.body_type = v;
    } else if (p.keyword == "SMTPUTF8") {
      if (!smtputf8_enabled) return unsupported(p.keyword);
      if (p.has_value) return make_error("501 5.5.4 Bad SMTPUTF8 parameter syntax");
      out.smtputf8 = true;
    } else if (p.keyword == "RET") {
      std::string v = ascii::upper(p.value);
      if (!out.ret.empty() || (v != "FULL" && v != "HDRS")) {
        return make_error("501 5.5.4 Bad RET parameter syntax");
      }
      out.ret = v;
    } else if (p.keyword == "ENVID") {
      std::optional<std::string> decoded = decode_xtext(p.value);
      if (!p.has_value || !decoded || decoded->size() > 100 || !out.envid.empty()) {
        return make_error("501 5.5.4 Bad ENVID parameter syntax");
      }
      out.envid = std::move(*decoded);
    } else if (p.keyword == "AUTH") {
      // RFC 4954 §5: AUTH=<> or AUTH=xtext(mailbox); the session keeps it only for an
      // authenticated client (and ignores it without SASL).
      if (out.auth) return make_error("503 5.5.4 Error: multiple AUTH= options");
      if (p.value == "<>") {
        out.auth = "<>";
      } else {
        std::optional<std::string> decoded = decode_xtext(p.value);
        if (!p.has_value || !decoded || decoded->empty() || p.value.size() > 512) {
          return make_error("501 5.5.4 Bad AUTH parameter value");
        }
        out.auth = std::move(*decoded);
      }
    } else {
      return unsupported(p.keyword);
    }
  }
  return out;
}

Result<RcptParams> parse_rcpt_params(const std::vector<EsmtpParam>& params) {
  RcptParams out;
  for (const EsmtpParam& p : params) {
    if (p.keyword == "NOTIFY") {
      std::string v = ascii::upper(p.value);
      bool ok = p.has_value && out.notify.empty();
      bool never = false;
      bool other = false;
      size_t start = 0;
      while (ok) {
        size_t comma = v.find(',', start);
        std::string_view item = std::string_view(v).substr(
            start, comma == std::string::npos ? std::string::npos : comma - start);
        if (item == "NEVER") {
          never = true;
        } else if (item == "SUCCESS" || item == "FAILURE" || item == "DELAY") {
          other = true;
        } else {
          ok = false;
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      if (!ok || (never && other)) return make_error("501 5.5.4 Bad NOTIFY parameter syntax");
      out.notify = v;
    } else if (p.keyword == "ORCPT") {
      // orcpt-parameter = "ORCPT=" addr-type ";" xtext
      size_t semi = p.value.find(';');
      bool ok = p.has_value && out.orcpt.empty() && semi != std::string::npos && semi > 0 &&
                semi + 1 < p.value.size() && p.value.size() <= 500;
      if (ok) {
        ok = decode_xtext(std::string_view(p.value).substr(semi + 1)).has_value() ||
             ascii::iequals(std::string_view(p.value).substr(0, semi), "utf-8");
      }
      if (!ok) return make_error("501 5.5.4 Bad ORCPT parameter syntax");
      out.orcpt = p.value;
    } else {
      return unsupported(p.keyword);
    }
  }
  return out;
}

}  // namespace estafeta::smtp
