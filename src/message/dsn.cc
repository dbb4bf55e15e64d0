// Delivery status notifications. See dsn.h.
#include "message/dsn.h"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>

namespace estafeta::message {
namespace {

constexpr size_t kMaxLine = 998;

// A field value made safe for one header or delivery-status line: no CR or LF (they could
// start a new field), at most `limit` octets.
std::string one_line(std::string_view value, size_t limit = 900) {
  std::string out;
  for (char c : value) {
    if (out.size() >= limit) break;
    out += (c == '\r' || c == '\n') ? ' ' : c;
  }
  return out;
}

// "rfc822;user@example.org" -> "rfc822; user@example.org" (RFC 3464 address-type; address);
// an ORCPT without a type is taken as rfc822.
std::string typed_address(std::string_view orcpt) {
  const size_t semi = orcpt.find(';');
  if (semi == std::string_view::npos) return "rfc822; " + one_line(orcpt);
  return one_line(orcpt.substr(0, semi)) + "; " + one_line(orcpt.substr(semi + 1));
}

std::string_view action_of(NoticeKind kind) {
  switch (kind) {
    case NoticeKind::kFailure: return "failed";
    case NoticeKind::kDelay: return "delayed";
    case NoticeKind::kSuccess: return "delivered";
  }
  return "failed";
}

std::string_view subject_of(NoticeKind kind, bool to_postmaster) {
  if (to_postmaster) {
    // Postfix's bounce templates (bounce_template.c) for the postmaster's copies.
    switch (kind) {
      case NoticeKind::kFailure: return "Postmaster Copy: Undelivered Mail";
      case NoticeKind::kDelay: return "Postmaster Warning: Delayed Mail";
      case NoticeKind::kSuccess: return "Postmaster Copy: Delivered Mail";
    }
  }
  switch (kind) {
    case NoticeKind::kFailure: return "Undelivered Mail Returned to Sender";
    case NoticeKind::kDelay: return "Delayed Mail (still being retried)";
    case NoticeKind::kSuccess: return "Successful Mail Delivery Report";
  }
  return "";
}

// The human-readable part, in our own words.
std::string explanation(const Notice& n) {
  std::string out = fmt::format("This is the mail system at {}.\r\n\r\n", n.reporting_mta);
  const std::string from =
      n.original_sender.empty() ? "<> (a notice)" : "<" + one_line(n.original_sender, 400) + ">";
  if (n.to_postmaster && !n.problem.empty()) {
    out += fmt::format(
        "The message from {} is delayed at the recipients below by {} on this\r\n"
        "system. It stays queued and is retried; its headers are attached.\r\n",
        from, one_line(n.problem, 100));
  } else if (n.to_postmaster && n.kind == NoticeKind::kFailure && n.original_sender.empty()) {
    out +=
        "A delivery status notice could not be delivered to the recipients below. Its\r\n"
        "headers are attached.\r\n";
  } else if (n.to_postmaster) {
    out += fmt::format(
        "This is a copy, for the postmaster, of a notice sent to {}. The message\r\n"
        "{} at the recipients below; its headers are attached.\r\n",
        from, n.kind == NoticeKind::kFailure ? "could not be delivered" : "is still delayed");
  }
  if (!n.to_postmaster) {
    switch (n.kind) {
      case NoticeKind::kFailure:
        out +=
            "Your message could not be delivered to the recipients below, and the mail system\r\n"
            "has given up. The reason for each is shown; the message is attached.\r\n";
        break;
      case NoticeKind::kDelay:
        out +=
            "Your message has not been delivered yet to the recipients below. The mail system\r\n"
            "keeps trying; you need not send it again. This is only a warning.\r\n";
        break;
      case NoticeKind::kSuccess:
        out += "Your message was delivered to the recipients below, as you asked to be told.\r\n";
        break;
    }
  }
  out += "\r\n";
  for (const NoticeRecipient& r : n.recipients) {
    out += fmt::format("<{}>: {}\r\n", one_line(r.address, 400), one_line(r.reason, 500));
  }
  return out;
}

// The original message's lines, each cut to the line limit (a bounce must be valid mail even
// when the original was not).
std::string attached(std::string_view message) {
  std::string out;
  out.reserve(message.size() + 2);
  size_t pos = 0;
  while (pos < message.size()) {
    size_t end = message.find("\r\n", pos);
    std::string_view line =
        message.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    out.append(line.substr(0, kMaxLine));
    out += "\r\n";
    if (end == std::string_view::npos) break;
    pos = end + 2;
  }
  return out;
}

}  // namespace

std::string rfc5322_date(int64_t time_us) {
  const time_t t = static_cast<time_t>(time_us / 1000000);
  struct tm tm {};
  gmtime_r(&t, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return fmt::format("{}, {:02d} {} {} {:02d}:{:02d}:{:02d} +0000", kDays[tm.tm_wday], tm.tm_mday,
                     kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string_view header_section(std::string_view message) {
  if (message.starts_with("\r\n")) return {};
  const size_t end = message.find("\r\n\r\n");
  return end == std::string_view::npos ? message : message.substr(0, end + 2);
}

std::string build_notice(const Notice& n) {
  const std::string boundary =
      fmt::format("{}.{}/{}", n.notice_queue_id, n.now_us / 1000000, one_line(n.reporting_mta));
  std::string out;
  out += "Date: " + rfc5322_date(n.now_us) + "\r\n";
  out += fmt::format("From: MAILER-DAEMON@{} (Mail Delivery System)\r\n",
                     one_line(n.reporting_mta));
  out += fmt::format("Subject: {}\r\n", subject_of(n.kind, n.to_postmaster));
  out += fmt::format("To: <{}>\r\n", one_line(n.to));
  out += "Auto-Submitted: auto-replied\r\n";
  out += fmt::format("Message-Id: <{}.{}@{}>\r\n", n.now_us, one_line(n.notice_queue_id),
                     one_line(n.reporting_mta));
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: multipart/report; report-type=delivery-status;\r\n";
  out += fmt::format("\tboundary=\"{}\"\r\n", boundary);
  out += "Content-Transfer-Encoding: 8bit\r\n";
  out += "\r\nThis is a MIME-encapsulated message.\r\n\r\n";

  out += "--" + boundary + "\r\n";
  out += "Content-Description: Notification\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n\r\n";
  out += explanation(n);
  out += "\r\n";

  out += "--" + boundary + "\r\n";
  out += "Content-Description: Delivery report\r\n";
  out += "Content-Type: message/delivery-status\r\n\r\n";
  out += fmt::format("Reporting-MTA: dns; {}\r\n", one_line(n.reporting_mta));
  out += fmt::format("X-Estafeta-Queue-ID: {}\r\n", one_line(n.queue_id));
  out += fmt::format("X-Estafeta-Sender: rfc822; {}\r\n", one_line(n.original_sender));
  if (!n.envid.empty()) out += fmt::format("Original-Envelope-Id: {}\r\n", one_line(n.envid));
  out += fmt::format("Arrival-Date: {}\r\n", rfc5322_date(n.arrival_us));
  for (const NoticeRecipient& r : n.recipients) {
    out += "\r\n";
    out += fmt::format("Final-Recipient: rfc822; {}\r\n", one_line(r.address));
    if (!r.orcpt.empty()) out += fmt::format("Original-Recipient: {}\r\n", typed_address(r.orcpt));
    out += fmt::format("Action: {}\r\n", n.kind == NoticeKind::kSuccess && !r.action.empty()
                                               ? one_line(r.action, 16)
                                               : std::string(action_of(n.kind)));
    out += fmt::format("Status: {}\r\n", one_line(r.status, 16));
    if (!r.remote_mta.empty()) out += fmt::format("Remote-MTA: dns; {}\r\n", one_line(r.remote_mta));
    const std::string diagnostic =
        r.diagnostic.empty() ? "x-estafeta; " + r.reason : r.diagnostic;
    out += fmt::format("Diagnostic-Code: {}\r\n", one_line(diagnostic));
    if (r.last_attempt_us > 0) {
      out += fmt::format("Last-Attempt-Date: {}\r\n", rfc5322_date(r.last_attempt_us));
    }
  }
  out += "\r\n";

  const bool headers_only =
      n.headers_only || n.to_postmaster || n.original.size() > n.size_limit;
  out += "--" + boundary + "\r\n";
  if (headers_only) {
    out += "Content-Description: Undelivered Message Headers\r\n";
    out += "Content-Type: text/rfc822-headers\r\n\r\n";
    out += attached(header_section(n.original));
  } else {
    out += fmt::format("Content-Description: {} Message\r\n",
                       n.kind == NoticeKind::kSuccess ? "Delivered" : "Undelivered");
    out += "Content-Type: message/rfc822\r\n\r\n";
    out += attached(n.original);
  }
  out += "\r\n--" + boundary + "--\r\n";
  return out;
}

bool wants_notice(std::string_view notify, std::string_view what) {
  if (notify.empty()) return what == "FAILURE";
  std::string upper;
  for (char c : notify) upper += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  if (upper.find("NEVER") != std::string::npos) return false;
  return upper.find(what) != std::string::npos;
}

}  // namespace estafeta::message
