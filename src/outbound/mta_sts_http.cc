// The MTA-STS policy request and the HTTP/1.1 response parser. See mta_sts_http.h.
#include "outbound/mta_sts_http.h"

#include <fmt/format.h>

#include <charconv>
#include <vector>

#include "base/ascii.h"

namespace estafeta::outbound {
namespace {

using Parsed = std::optional<Result<HttpResponse>>;

Parsed fail(std::string message) { return Result<HttpResponse>(make_error(std::move(message))); }

// The next line of `text` from `pos` (without CRLF or LF); nullopt when no line end yet.
std::optional<std::string_view> next_line(std::string_view text, size_t& pos) {
  const size_t nl = text.find('\n', pos);
  if (nl == std::string_view::npos) return std::nullopt;
  std::string_view line = text.substr(pos, nl - pos);
  pos = nl + 1;
  if (line.ends_with('\r')) line.remove_suffix(1);
  return line;
}

bool parse_decimal(std::string_view s, size_t& out) {
  if (s.empty() || s.size() > 18) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && ascii::is_digit(s.front());
}

// The chunked body starting at `pos`; nullopt: incomplete.
Parsed parse_chunked(std::string_view text, size_t pos, bool eof, size_t max_body,
                     HttpResponse response) {
  while (true) {
    auto line = next_line(text, pos);
    if (!line) {
      if (text.size() - pos > 1024) return fail("chunk size line too long");
      return eof ? fail("connection closed in the body") : Parsed();
    }
    std::string_view size_text = ascii::trim(line->substr(0, line->find(';')));
    size_t size = 0;
    const auto [end, ec] =
        std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (size_text.empty() || size_text.size() > 8 || ec != std::errc() ||
        end != size_text.data() + size_text.size()) {
      return fail("bad chunk size");
    }
    if (size == 0) {
      // Trailer fields, then an empty line.
      while (true) {
        auto trailer = next_line(text, pos);
        if (!trailer) return eof ? fail("connection closed in the body") : Parsed();
        if (trailer->empty()) return Result<HttpResponse>(std::move(response));
      }
    }
    if (size > max_body || response.body.size() + size > max_body) {
      return fail(fmt::format("policy longer than {} bytes", max_body));
    }
    if (text.size() - pos < size + 1) return eof ? fail("connection closed in the body") : Parsed();
    response.body.append(text.substr(pos, size));
    pos += size;
    if (text.substr(pos).starts_with("\r\n")) {
      pos += 2;
    } else if (text[pos] == '\n') {
      pos += 1;
    } else if (text.size() - pos < 2 && text[pos] == '\r') {
      return eof ? fail("connection closed in the body") : Parsed();
    } else {
      return fail("chunk not followed by a line end");
    }
  }
}

}  // namespace

std::string mta_sts_request(std::string_view host) {
  return fmt::format(
      "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: {}\r\nUser-Agent: Estafeta\r\n"
      "Accept: text/plain\r\nConnection: close\r\n\r\n",
      host);
}

std::optional<Result<HttpResponse>> parse_http_response(std::string_view received, bool eof,
                                                        size_t max_body) {
  HttpResponse response;
  size_t pos = 0;
  auto status_line = next_line(received, pos);
  if (!status_line) {
    if (received.size() > kHttpMaxHeaderBytes) return fail("status line too long");
    return eof ? fail("connection closed before the status line") : Parsed();
  }
  // "HTTP/1.1 200 OK"
  const std::string_view s = *status_line;
  if (!s.starts_with("HTTP/1.") || s.size() < 12 || !ascii::is_digit(s[7]) || s[8] != ' ' ||
      !ascii::is_digit(s[9]) || !ascii::is_digit(s[10]) || !ascii::is_digit(s[11]) ||
      (s.size() > 12 && s[12] != ' ')) {
    return fail(fmt::format("bad status line: {}", s.substr(0, 80)));
  }
  response.status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');

  std::optional<size_t> content_length;
  bool chunked = false;
  while (true) {
    auto line = next_line(received, pos);
    if (!line) {
      if (received.size() > kHttpMaxHeaderBytes) return fail("header section too long");
      return eof ? fail("connection closed in the header section") : Parsed();
    }
    if (pos > kHttpMaxHeaderBytes) return fail("header section too long");
    if (line->empty()) break;
    if (ascii::is_space(line->front())) return fail("folded header field");
    const size_t colon = line->find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return fail(fmt::format("bad header field: {}", line->substr(0, 80)));
    }
    const std::string name = ascii::lower(line->substr(0, colon));
    const std::string_view value = ascii::trim(line->substr(colon + 1));
    if (name == "content-type") {
      response.content_type = std::string(value);
    } else if (name == "content-length") {
      size_t n = 0;
      if (!parse_decimal(value, n)) return fail(fmt::format("bad Content-Length: {}", value));
      if (content_length && *content_length != n) return fail("conflicting Content-Length");
      content_length = n;
    } else if (name == "transfer-encoding") {
      const std::string v = ascii::lower(value);
      const size_t comma = v.rfind(',');
      const std::string_view last = ascii::trim(
          comma == std::string::npos ? std::string_view(v) : std::string_view(v).substr(comma + 1));
      if (last != "chunked") return fail(fmt::format("unsupported Transfer-Encoding: {}", value));
      chunked = true;
    }
  }
  if (response.status != 200) return Result<HttpResponse>(std::move(response));
  if (chunked) return parse_chunked(received, pos, eof, max_body, std::move(response));
  const std::string_view rest = received.substr(pos);
  if (content_length) {
    if (*content_length > max_body) {
      return fail(fmt::format("policy longer than {} bytes", max_body));
    }
    if (rest.size() < *content_length) {
      return eof ? fail("connection closed in the body") : Parsed();
    }
    response.body = std::string(rest.substr(0, *content_length));
    return Result<HttpResponse>(std::move(response));
  }
  if (rest.size() > max_body) return fail(fmt::format("policy longer than {} bytes", max_body));
  if (!eof) return Parsed();
  response.body = std::string(rest);
  return Result<HttpResponse>(std::move(response));
}

Result<std::string> mta_sts_policy_text(const HttpResponse& response) {
  if (response.status != 200) {
    return make_error(
        fmt::format("HTTP status {}{}", response.status,
                    response.status / 100 == 3 ? " (redirects are not followed)" : ""));
  }
  const std::string_view type = ascii::trim(
      std::string_view(response.content_type).substr(0, response.content_type.find(';')));
  if (!ascii::iequals(type, "text/plain")) {
    return make_error(
        fmt::format("Content-Type is not text/plain: {}",
                    response.content_type.empty() ? "(none)" : response.content_type));
  }
  return response.body;
}

}  // namespace estafeta::outbound
