// Local submission cleanup (see local_message.h).
#include "submit/local_message.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <optional>
#include <string_view>

#include "base/ascii.h"
#include "message/header_addresses.h"
#include "smtp/received.h"

namespace estafeta::submit {
namespace {

// One header field: its name (as written) and its whole text, continuation lines included,
// each line ending in CRLF.
struct Field {
  std::string name;
  std::string text;
};

std::vector<std::string_view> split_lines(std::string_view content) {
  std::vector<std::string_view> lines;
  while (!content.empty()) {
    size_t end = content.find('\n');
    std::string_view line = content.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == std::string_view::npos) break;
    content.remove_prefix(end + 1);
  }
  return lines;
}

// The field name when `line` starts a header field ("Subject: x", obsolete "Subject : x").
std::optional<std::string_view> field_name(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && line[i] > ' ' && line[i] < 127 && line[i] != ':') ++i;
  if (i == 0) return std::nullopt;
  size_t colon = i;
  while (colon < line.size() && (line[colon] == ' ' || line[colon] == '\t')) ++colon;
  if (colon >= line.size() || line[colon] != ':') return std::nullopt;
  return line.substr(0, i);
}

struct Parsed {
  std::vector<Field> fields;
  std::string body;
};

Parsed parse_content(std::string_view content) {
  Parsed out;
  auto lines = split_lines(content);
  size_t i = 0;
  if (!lines.empty() && lines[0].starts_with("From ")) i = 1;  // an mbox separator
  for (; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.empty()) {
      ++i;
      break;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !out.fields.empty()) {
      out.fields.back().text.append(line).append("\r\n");
      continue;
    }
    auto name = field_name(line);
    if (!name) break;  // not a header: the body starts here (an empty line is added)
    out.fields.push_back({std::string(*name), std::string(line) + "\r\n"});
  }
  for (; i < lines.size(); ++i) out.body.append(lines[i]).append("\r\n");
  return out;
}

std::string_view field_value(const Field& f) {
  std::string_view text = f.text;
  return text.substr(text.find(':') + 1);
}

bool is_named(const Field& f, std::string_view name) { return ascii::iequals(f.name, name); }

// -N: "never" or a list of success, delay, failure; the SMTP spelling.
Result<std::string> smtp_notify(const std::string& value) {
  if (value.empty()) return std::string();
  std::string out;
  bool never = false;
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(',', start);
    if (end == std::string::npos) end = value.size();
    std::string item = ascii::lower(value.substr(start, end - start));
    if (item == "never") {
      never = true;
    } else if (item == "success" || item == "delay" || item == "failure") {
      out += (out.empty() ? "" : ",") + ascii::upper(item);
    } else {
      return make_error(fmt::format("-N {}: want never, or success, delay and failure", value));
    }
    start = end + 1;
  }
  if (never && !out.empty()) return make_error(fmt::format("-N {}: never stands alone", value));
  return never ? std::string("NEVER") : out;
}

Result<std::string> upper_choice(const std::string& value, std::string_view option,
                                 std::initializer_list<std::string_view> choices) {
  if (value.empty()) return std::string();
  std::string upper = ascii::upper(value);
  for (auto choice : choices) {
    if (upper == choice) return upper;
  }
  return make_error(fmt::format("{} {}: not a valid value", option, value));
}

bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 127; });
}

// A display name as a quoted string when it holds anything but atext and spaces.
std::string display_name(std::string_view name) {
  const bool plain = std::all_of(name.begin(), name.end(), [](char c) {
    return ascii::is_alpha(c) || ascii::is_digit(c) || c == ' ' || std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) !=
                                                 std::string_view::npos ||
           static_cast<unsigned char>(c) >= 0x80;
  });
  if (plain) return std::string(name);
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    if (c != '\r' && c != '\n') out += c;
  }
  return out + "\"";
}

void add_recipient(std::vector<message::Recipient>& to, std::string address,
                   const std::string& notify) {
  if (address.empty()) return;
  auto same = [&](const message::Recipient& r) { return r.address == address; };
  if (std::any_of(to.begin(), to.end(), same)) return;  // Postfix's duplicate filter
  to.push_back({std::move(address), "", notify});
}

// "20261205164300" for the Message-ID.
std::string compact_utc(int64_t time_us) {
  std::time_t t = static_cast<std::time_t>(time_us / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}{:02}{:02}{:02}{:02}{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace

std::string qualify(std::string address, const std::string& myorigin) {
  if (address == "<>") return "";
  if (address.size() >= 2 && address.front() == '<' && address.back() == '>') {
    address = address.substr(1, address.size() - 2);
  }
  if (address.empty() || address.find('@') != std::string::npos) return address;
  return address + "@" + myorigin;
}

Result<LocalMessage> prepare_local_message(const DropRequest& request, std::string sender,
                                           const Submitter& who) {
  LocalMessage m;
  m.sender = qualify(std::move(sender), who.myorigin);
  auto notify = smtp_notify(request.notify);
  if (!notify.ok()) return notify.error();
  m.notify = *notify;
  auto ret = upper_choice(request.ret, "-R", {"FULL", "HDRS"});
  if (!ret.ok()) return ret.error();
  m.ret = *ret;
  auto body_type = upper_choice(request.body_type, "-B", {"7BIT", "8BITMIME"});
  if (!body_type.ok()) return body_type.error();
  m.body_type = *body_type;
  if (request.envid.size() > 100 || !printable_ascii(request.envid)) {
    return make_error("-V: want at most 100 printable ASCII characters");
  }
  m.envid = request.envid;

  for (const auto& given : request.recipients) {
    for (auto& address : message::header_addresses(given)) {
      add_recipient(m.recipients, qualify(std::move(address), who.myorigin), m.notify);
    }
  }
  Parsed parsed = parse_content(request.content);
  const bool resent = std::any_of(parsed.fields.begin(), parsed.fields.end(), [](auto& f) {
    return is_named(f, "Resent-To") || is_named(f, "Resent-Cc") || is_named(f, "Resent-Bcc");
  });
  const std::string prefix = resent ? "Resent-" : "";
  for (const Field& f : parsed.fields) {
    const bool bcc = is_named(f, prefix + "Bcc");
    if (request.extract_recipients &&
        (bcc || is_named(f, prefix + "To") || is_named(f, prefix + "Cc"))) {
      for (auto& address : message::header_addresses(field_value(f))) {
        add_recipient(m.recipients, qualify(std::move(address), who.myorigin), m.notify);
      }
    }
    if (request.extract_recipients && bcc) continue;  // blind copies stay blind
    m.has_from = m.has_from || is_named(f, "From");
    m.has_date = m.has_date || is_named(f, "Date");
    m.has_message_id = m.has_message_id || is_named(f, "Message-ID");
    m.headers += f.text;
  }
  if (m.recipients.empty()) {
    return make_error(request.extract_recipients ? "no recipient addresses found in message header"
                                                 : "no recipients specified");
  }
  m.body = std::move(parsed.body);
  m.from_name = request.full_name.empty() ? who.gecos_name : request.full_name;
  return m;
}

std::string render_local_message(const LocalMessage& m, const Submitter& who,
                                 const std::string& queue_id, int64_t time_us) {
  const std::string date = smtp::rfc5322_date(time_us);
  std::string out = fmt::format("Received: by {} (Estafeta, from userid {})\r\n\tid {}; {}\r\n",
                                who.myhostname, who.uid, queue_id, date);
  out += m.headers;
  if (!m.has_from) {
    std::string address = m.sender.empty() ? qualify(who.login, who.myorigin) : m.sender;
    out += m.from_name.empty()
               ? fmt::format("From: {}\r\n", address)
               : fmt::format("From: {} <{}>\r\n", display_name(m.from_name), address);
  }
  if (!m.has_date) out += fmt::format("Date: {}\r\n", date);
  if (!m.has_message_id) {
    out += fmt::format("Message-Id: <{}.{}@{}>\r\n", compact_utc(time_us), queue_id,
                       who.myhostname);
  }
  out += "\r\n";
  out += m.body;
  return out;
}

}  // namespace estafeta::submit
