// The queue tools' text formats (see mailq_format.h). The column widths and the reason
// placement are those of Postfix's showq_compat.c (short queue id format, the heading users
// and scripts know); our 18-digit queue ids are wider than its 11-column id field, so the
// rest of the first line shifts right by the difference, as it does for Postfix's long ids
// under the short heading.
#include "cli/mailq_format.h"

#include <fmt/format.h>

#include <algorithm>

namespace estafeta::cli {
namespace {

constexpr std::string_view kNullSender = "MAILER-DAEMON";  // Postfix's empty_address_recipient
constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Length of the valid UTF-8 sequence (2 to 4 bytes, no overlong form, no surrogate, at most
// U+10FFFF) that starts at text[i], or 0.
size_t utf8_sequence(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  size_t length = 0;
  unsigned min_second = 0x80;
  unsigned max_second = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    length = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    length = 3;
    if (c == 0xE0) min_second = 0xA0;  // overlong
    if (c == 0xED) max_second = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    length = 4;
    if (c == 0xF0) min_second = 0x90;  // overlong
    if (c == 0xF4) max_second = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < min_second || byte(i + 1) > max_second) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

std::string_view sender_of(const ListedMessage& m) {
  return m.sender.empty() ? kNullSender : std::string_view(m.sender);
}

char status_mark(std::string_view queue_name) {
  if (queue_name == "active") return '*';
  if (queue_name == "hold") return '!';
  return ' ';
}

}  // namespace

std::vector<ListedRecipient> listed_recipients(const std::vector<message::Recipient>& recipients,
                                               const std::vector<queue::RecipientState>& states) {
  std::vector<ListedRecipient> deferred;
  std::vector<ListedRecipient> untried;
  for (size_t i = 0; i < recipients.size(); ++i) {
    const queue::RecipientState* state = i < states.size() ? &states[i] : nullptr;
    if (state != nullptr && state->done) continue;
    if (state != nullptr && state->has_deferral) {
      deferred.push_back({recipients[i].address, state->last.reason});
    } else {
      untried.push_back({recipients[i].address, ""});
    }
  }
  deferred.insert(deferred.end(), untried.begin(), untried.end());
  return deferred;
}

std::string asctime_text(const std::tm& t) {
  const int day = t.tm_wday >= 0 && t.tm_wday < 7 ? t.tm_wday : 0;
  const int month = t.tm_mon >= 0 && t.tm_mon < 12 ? t.tm_mon : 0;
  // asctime(): "%.3s %.3s%3d %.2d:%.2d:%.2d %d".
  return fmt::format("{} {}{:3} {:02}:{:02}:{:02} {}", kDays[day], kMonths[month], t.tm_mday,
                     t.tm_hour, t.tm_min, t.tm_sec, 1900 + t.tm_year);
}

std::string arrival_time_text(const std::tm& t) { return asctime_text(t).substr(0, 19); }

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
      ++i;
    } else if (size_t n = utf8_sequence(text, i); n > 0) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += fmt::format("\\u{:04X}", c);
        } else {
          out += ch;
        }
    }
  }
  // Only bytes >= 0x80 can still be unprintable: invalid UTF-8 becomes '?', as in Postfix.
  return printable(out);
}

std::string mailq_heading() {
  return fmt::format("{:<11} {:>7} {:<20} {}\n", "-Queue ID-", "--Size--", "----Arrival Time----",
                     "-Sender/Recipient-------");
}

std::string mailq_block(const ListedMessage& m) {
  std::string out =
      fmt::format("{:<11} {:>7} {:<20} {}\n", m.queue_id + status_mark(m.queue_name), m.size,
                  arrival_time_text(m.arrival_local), printable(sender_of(m)));
  std::string previous_reason;
  for (const ListedRecipient& r : m.recipients) {
    if (r.delay_reason != previous_reason) {
      previous_reason = r.delay_reason;
      const std::string shown =
          printable(r.delay_reason.empty() ? "reason unavailable" : r.delay_reason);
      const size_t padding = shown.size() < 76 ? 76 - shown.size() : 0;
      out += fmt::format("{:{}}({})\n", "", padding, shown);
    }
    out += fmt::format("{:<11} {:>7} {:<20} {}\n", "", "", "", printable(r.address));
  }
  return out;
}

std::string mailq_summary(uint64_t total_bytes, size_t messages) {
  if (messages == 0) return "Mail queue is empty\n";
  return fmt::format("\n-- {} Kbytes in {} Request{}.\n", total_bytes / 1024, messages,
                     messages == 1 ? "" : "s");
}

std::string mailq_json(const ListedMessage& m) {
  std::string out = fmt::format(
      "{{\"queue_name\": \"{}\", \"queue_id\": \"{}\", \"arrival_time\": {}, "
      "\"message_size\": {}, \"sender\": \"{}\", \"recipients\": [",
      json_quote(m.queue_name), json_quote(m.queue_id), m.arrival_time, m.size,
      json_quote(sender_of(m)));
  for (size_t i = 0; i < m.recipients.size(); ++i) {
    const ListedRecipient& r = m.recipients[i];
    if (i > 0) out += ", ";
    out += fmt::format("{{\"address\": \"{}\"", json_quote(r.address));
    if (!r.delay_reason.empty()) {
      out += fmt::format(", \"delay_reason\": \"{}\"", json_quote(r.delay_reason));
    }
    out += "}";
  }
  out += "]}\n";
  return out;
}

std::string MailqListing::add(const ListedMessage& message) {
  std::string out = messages_ == 0 ? mailq_heading() : "\n";
  out += mailq_block(message);
  ++messages_;
  bytes_ += message.size;
  return out;
}

std::string MailqListing::finish() const { return mailq_summary(bytes_, messages_); }

std::string address_domain(std::string_view address) {
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos) return "";
  std::string domain(address.substr(at + 1));
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  std::transform(domain.begin(), domain.end(), domain.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return domain;
}

ContentParts split_content(std::string_view content) {
  if (content.starts_with("\r\n")) return {content.substr(0, 0), content.substr(2)};
  const size_t blank = content.find("\r\n\r\n");
  if (blank == std::string_view::npos) return {content, content.substr(content.size())};
  return {content.substr(0, blank + 2), content.substr(blank + 4)};
}

std::string crlf_to_lf(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out += text[i];
  }
  return out;
}

std::string recipient_status_text(const queue::RecipientState& state, const std::tm& when) {
  if (!state.done && !state.has_deferral) return "pending";
  std::string_view word = "deferred";
  if (state.last.kind == queue::StatusKind::kDelivered) word = "delivered";
  if (state.last.kind == queue::StatusKind::kBounced) word = "bounced";
  std::string out(word);
  if (!state.last.dsn.empty()) out += ", dsn=" + printable(state.last.dsn);
  if (!state.last.relay.empty()) out += ", relay=" + printable(state.last.relay);
  out += ", " + asctime_text(when);
  if (!state.last.reason.empty()) out += " (" + printable(state.last.reason) + ")";
  return out;
}

}  // namespace estafeta::cli
