// The Received: trace header the smtpd edge prepends to every accepted message
// (RFC 5321 §4.4), in Postfix's layout and folding:
//   Received: from helo (client_hostname [client_address])\r\n
//   \t(using TLSv1.3 with cipher X)\r\n                     (only over TLS)
//   \t(Authenticated sender: alice)\r\n              (smtpd_sasl_authenticated_header)
//   \tby by_hostname (Estafeta) with ESMTP id QUEUEID\r\n
//   \tfor <rcpt>; Thu, 26 Nov 2026 10:37:49 +0000\r\n       (for only with one recipient)
// No version number is disclosed. Untrusted text (helo) has control bytes replaced by '?'.
// Pure: the time is an argument (microseconds since the epoch, printed in UTC).
#pragma once

#include <cstdint>
#include <string>

namespace estafeta::smtp {

struct ReceivedInfo {
  std::string helo, client_hostname, client_address, by_hostname, protocol, queue_id,
      tls_description /* "" or "(using TLSv1.3 with cipher X)" */,
      for_recipient /* only if one */,
      authenticated_sender /* "" or the SASL user, when smtpd_sasl_authenticated_header */;
  int64_t time_us = 0;
};

/// The complete header, folded, ending in CRLF.
std::string received_header(const ReceivedInfo& info);

/// RFC 5322 §3.3 date-time in UTC: "Thu, 26 Nov 2026 10:37:49 +0000".
std::string rfc5322_date(int64_t time_us);

}  // namespace estafeta::smtp
