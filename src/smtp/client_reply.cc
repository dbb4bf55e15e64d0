// ReplyReader and parse_ehlo: see client_reply.h.
#include "smtp/client_reply.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "base/ascii.h"

namespace estafeta::smtp {
namespace {

// Length of an RFC 3463 status "c.x.y" at the start of `s` whose class is `klass`, followed
// by a space or the end; 0 if there is none.
size_t enhanced_length(std::string_view s, char klass) {
  if (s.size() < 5 || s[0] != klass || s[1] != '.') return 0;
  size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    size_t digits = 0;
    while (i < s.size() && ascii::is_digit(s[i]) && digits < 4) {
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 3) return 0;
    if (part == 0) {
      if (i >= s.size() || s[i] != '.') return 0;
      ++i;
    }
  }
  if (i < s.size() && s[i] != ' ') return 0;
  return i;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

void add_mechanism(std::vector<std::string>& list, std::string_view word) {
  if (word.empty()) return;
  std::string m = ascii::upper(word);
  if (std::find(list.begin(), list.end(), m) == list.end()) list.push_back(std::move(m));
}

}  // namespace

std::string ServerReply::text() const {
  std::string out = std::to_string(code);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (i > 0 && !enhanced.empty() && line.substr(0, enhanced.size()) == enhanced &&
        (line.size() == enhanced.size() || line[enhanced.size()] == ' ')) {
      line.remove_prefix(std::min(line.size(), enhanced.size() + 1));
    }
    if (!line.empty()) {
      out += ' ';
      out += line;
    }
  }
  return out;
}

ServerReply local_reply(std::string_view text) {
  ReplyReader reader;
  reader.feed(text);
  reader.feed("\r\n");
  Result<std::optional<ServerReply>> r = reader.next();
  if (!r.ok() || !r.value().has_value()) {
    return ServerReply{451, "4.3.0", {"4.3.0 internal error: bad local reply"}, true};
  }
  ServerReply reply = std::move(*r.value());
  reply.local = true;
  return reply;
}

void ReplyReader::feed(std::string_view bytes) {
  if (error_) return;
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  buf_.append(bytes);
}

Result<std::optional<ServerReply>> ReplyReader::fail(std::string why) {
  error_ = make_error(std::move(why));
  buf_.clear();
  pos_ = 0;
  partial_ = {};
  return *error_;
}

Result<std::optional<ServerReply>> ReplyReader::next() {
  if (error_) return *error_;
  while (true) {
    size_t nl = buf_.find('\n', pos_);
    if (nl == std::string::npos) {
      // One octet more than the limit may be the CR of a CRLF still to come.
      if (buf_.size() - pos_ > limits_.line_length + 1) return fail("reply line too long");
      if (pos_ > 0) {
        buf_.erase(0, pos_);
        pos_ = 0;
      }
      return std::optional<ServerReply>();
    }
    std::string_view line(buf_.data() + pos_, nl - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > limits_.line_length) return fail("reply line too long");
    if (line.size() < 3 || line[0] < '2' || line[0] > '5' || !ascii::is_digit(line[1]) ||
        !ascii::is_digit(line[2]) || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      return fail("malformed reply line");
    }
    const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (!partial_.lines.empty() && code != partial_.code) {
      return fail("reply continuation with a different code");
    }
    if (partial_.lines.size() >= limits_.max_lines) return fail("too many reply lines");
    const bool more = line.size() > 3 && line[3] == '-';
    partial_.code = code;
    partial_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
    pos_ = nl + 1;
    if (more) continue;
    ServerReply reply = std::move(partial_);
    partial_ = {};
    const char klass = static_cast<char>('0' + reply.code / 100);
    if (klass == '2' || klass == '4' || klass == '5') {
      size_t n = enhanced_length(reply.lines.front(), klass);
      if (n > 0) reply.enhanced = reply.lines.front().substr(0, n);
    }
    return std::optional<ServerReply>(std::move(reply));
  }
}

EhloCapabilities parse_ehlo(const ServerReply& reply) {
  EhloCapabilities caps;
  if (reply.code / 100 != 2) return caps;
  for (size_t i = 1; i < reply.lines.size(); ++i) {
    std::vector<std::string_view> w = words(reply.lines[i]);
    if (w.empty()) continue;
    std::string_view keyword = w[0];
    if (ascii::iequals(keyword, "PIPELINING")) {
      caps.pipelining = true;
    } else if (ascii::iequals(keyword, "SIZE")) {
      caps.size = true;
      caps.size_limit = 0;
      if (w.size() > 1) {
        uint64_t n = 0;
        auto [end, ec] = std::from_chars(w[1].data(), w[1].data() + w[1].size(), n);
        if (ec == std::errc() && end == w[1].data() + w[1].size()) caps.size_limit = n;
      }
    } else if (ascii::iequals(keyword, "8BITMIME")) {
      caps.eight_bit_mime = true;
    } else if (ascii::iequals(keyword, "SMTPUTF8")) {
      caps.smtputf8 = true;
    } else if (ascii::iequals(keyword, "DSN")) {
      caps.dsn = true;
    } else if (ascii::iequals(keyword, "STARTTLS")) {
      caps.starttls = true;
    } else if (ascii::iequals(keyword, "ENHANCEDSTATUSCODES")) {
      caps.enhanced_status_codes = true;
    } else if (ascii::iequals(keyword, "CHUNKING")) {
      caps.chunking = true;
    } else if (ascii::iequals(keyword, "AUTH")) {
      for (size_t k = 1; k < w.size(); ++k) add_mechanism(caps.auth_mechanisms, w[k]);
    } else if (ascii::istarts_with(keyword, "AUTH=")) {
      // Pre-RFC 4954 servers (old Outlook clients' dialect): "AUTH=LOGIN PLAIN".
      add_mechanism(caps.auth_mechanisms, keyword.substr(5));
      for (size_t k = 1; k < w.size(); ++k) add_mechanism(caps.auth_mechanisms, w[k]);
    }
  }
  return caps;
}

}  // namespace estafeta::smtp
