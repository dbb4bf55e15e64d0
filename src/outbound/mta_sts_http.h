// The minimal HTTP/1.1 client side an MTA-STS policy fetch needs (RFC 8461 3.3, RFC 9112):
// the GET request, and a parser for the response as its bytes arrive: the status line, the
// header fields, a body delimited by Content-Length, by chunked transfer coding or by the
// end of the connection, with the body capped. Redirects are never followed (RFC 8461 3.3):
// any status but 200 is a failure, as is a Content-Type other than text/plain. Pure; fuzzed
// by outbound_mta_sts_fuzz; the TLS connection that carries it is mta_sts_fetch.h.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace estafeta::outbound {

/// The header section may be at most this long.
inline constexpr size_t kHttpMaxHeaderBytes = 16 * 1024;

/// "GET /.well-known/mta-sts.txt HTTP/1.1" for Host `host` ("mta-sts.example.com"), with
/// "Connection: close".
std::string mta_sts_request(std::string_view host);

struct HttpResponse {
  int status = 0;
  std::string content_type;  // the field's value as sent; "" when absent
  std::string body;          // only for status 200 (else not read)
};

/// Parses `received`, every byte read so far; `eof`: the peer has closed. nullopt: more bytes
/// are needed. Otherwise the response, or why it is unusable: a malformed status line or
/// header field, a header section longer than kHttpMaxHeaderBytes, a body longer than
/// `max_body`, a bad chunk, a connection closed before the end of the body. A response whose
/// status is not 200 is returned as soon as its header section is complete, without body.
std::optional<Result<HttpResponse>> parse_http_response(std::string_view received, bool eof,
                                                        size_t max_body);

/// The policy text of a complete response: status 200 and a media type text/plain
/// (parameters such as charset allowed). Errors: "HTTP status 301 (redirects are not
/// followed)", "Content-Type is not text/plain: text/html".
Result<std::string> mta_sts_policy_text(const HttpResponse& response);

}  // namespace estafeta::outbound
