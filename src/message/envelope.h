// The envelope of one message: what SMTP said about it (sender, recipients, parameters) and
// where it came from. Filled by smtp::ServerSession (protocol fields) and by the smtpd edge
// (client fields, queue id, arrival time); written to the queue by queue::Spool.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace estafeta::message {

/// What header_checks/body_checks decided for the whole message (Postfix header_checks(5)),
/// known only after the content: the cleanup stage hands it to the queue writer, which
/// records it after the content (the queue file's extracted segment, docs/queue-format.md).
struct ContentActions {
  bool hold = false;             // HOLD: committed into hold/, not active/
  std::string filter;            // FILTER "transport:destination", or ""
  std::string redirect;          // REDIRECT "user@domain": the only recipient, or ""
  std::vector<std::string> bcc;  // BCC addresses: more recipients, NOTIFY=NEVER
  bool empty() const { return !hold && filter.empty() && redirect.empty() && bcc.empty(); }
  bool operator==(const ContentActions&) const = default;
};

struct Recipient {
  std::string address;  // "user@example.org" as given in RCPT TO (no angle brackets)
  std::string orcpt;    // DSN ORCPT parameter as received ("rfc822;user@example.org"), or ""
  std::string notify;   // DSN NOTIFY parameter ("SUCCESS,FAILURE", "NEVER"), or ""
};

struct Envelope {
  std::string queue_id;        // assigned by queue::Spool::begin
  int64_t arrival_us = 0;      // microseconds since the epoch, assigned by queue::Spool::begin
  std::string sender;          // "" for the null sender <>
  std::vector<Recipient> recipients;
  // Protocol facts (smtp::ServerSession).
  std::string helo;            // EHLO/HELO argument
  std::string protocol;        // "SMTP", "ESMTP", "ESMTPS" (RFC 3848 names)
  std::string body_type;       // "7BIT", "8BITMIME" or "" (not declared)
  bool smtputf8 = false;       // MAIL ... SMTPUTF8
  std::string dsn_ret;         // "FULL", "HDRS" or ""
  std::string dsn_envid;       // xtext-decoded ENVID or ""
  // Client facts (the smtpd edge).
  std::string client_address;  // "127.0.0.1"; "" for local submission
  std::string client_hostname; // reverse DNS name or "unknown"
  // Set only by decoding a committed queue file (queue/queue_file.h).
  ContentActions actions;  // recorded after the content
  /// REDIRECT: the recipients it replaced (BCC ones included), kept for the log;
  /// `recipients` is then the redirect address alone.
  std::vector<Recipient> redirected_from;
};

}  // namespace estafeta::message
