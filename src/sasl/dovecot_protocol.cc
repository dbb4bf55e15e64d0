// Dovecot auth protocol codec (see dovecot_protocol.h).
#include "sasl/dovecot_protocol.h"

#include <fmt/format.h>

#include <charconv>

namespace estafeta::sasl {
namespace {

std::vector<std::string> split_fields(std::string_view line) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    fields.push_back(unescape_field(line.substr(start, tab == std::string_view::npos
                                                           ? std::string_view::npos
                                                           : tab - start)));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  return fields;
}

std::optional<uint32_t> parse_id(std::string_view text) {
  uint32_t value = 0;
  if (text.empty() || text.size() > 10) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Mechanism parse_mechanism(const std::vector<std::string>& fields) {
  Mechanism m;
  m.name = fields[1];
  for (size_t i = 2; i < fields.size(); ++i) {
    const std::string& f = fields[i];
    if (f == "anonymous") m.anonymous = true;
    else if (f == "plaintext") m.plaintext = true;
    else if (f == "dictionary") m.dictionary = true;
    else if (f == "active") m.active = true;
    else if (f == "forward-secrecy") m.forward_secrecy = true;
    else if (f == "mutual-auth") m.mutual_auth = true;
    else if (f == "private") m.is_private = true;
  }
  return m;
}

bool is_safe_field(std::string_view text) {
  return text.find_first_of(std::string_view("\t\n\r\0", 4)) == std::string_view::npos;
}

}  // namespace

std::string unescape_field(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\001') {
      out += field[i];
      continue;
    }
    if (++i == field.size()) break;
    switch (field[i]) {
      case '0': out += '\0'; break;
      case '1': out += '\001'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'n':
      case 'l': out += '\n'; break;
      default: out += field[i]; break;
    }
  }
  return out;
}

Status DovecotReader::feed(std::string_view bytes, std::vector<ServerEvent>& out) {
  if (failed_) return *failed_;
  size_t start = 0;
  while (start < bytes.size()) {
    const size_t lf = bytes.find('\n', start);
    if (lf == std::string_view::npos) {
      buffer_.append(bytes.substr(start));
      if (buffer_.size() > line_limit_) {
        failed_ = make_error(fmt::format("auth server line longer than {} bytes", line_limit_));
        return *failed_;
      }
      break;
    }
    std::string_view piece = bytes.substr(start, lf - start);
    start = lf + 1;
    Status status;
    if (buffer_.empty()) {
      if (piece.size() > line_limit_) {
        failed_ = make_error(fmt::format("auth server line longer than {} bytes", line_limit_));
        return *failed_;
      }
      status = take_line(piece, out);
    } else {
      buffer_.append(piece);
      std::string line = std::move(buffer_);
      buffer_.clear();
      if (line.size() > line_limit_) {
        failed_ = make_error(fmt::format("auth server line longer than {} bytes", line_limit_));
        return *failed_;
      }
      status = take_line(line, out);
    }
    if (!status.ok()) {
      failed_ = status.error();
      return status;
    }
  }
  return {};
}

Status DovecotReader::take_line(std::string_view line, std::vector<ServerEvent>& out) {
  const std::vector<std::string> fields = split_fields(line);
  if (!done_) return handshake_line(fields, out);
  const std::string& command = fields[0];
  if (command != "CONT" && command != "OK" && command != "FAIL") return {};  // ignored
  std::optional<uint32_t> id = fields.size() > 1 ? parse_id(fields[1]) : std::nullopt;
  if (!id) return make_error(fmt::format("auth server sent {} without a request id", command));
  if (command == "CONT") {
    out.push_back(ServerContinue{*id, fields.size() > 2 ? fields[2] : ""});
    return {};
  }
  if (command == "OK") {
    ServerOk ok{*id, ""};
    for (size_t i = 2; i < fields.size(); ++i) {
      if (fields[i].starts_with("user=")) ok.user = fields[i].substr(5);
    }
    out.push_back(std::move(ok));
    return {};
  }
  ServerFail fail;
  fail.id = *id;
  for (size_t i = 2; i < fields.size(); ++i) {
    const std::string& f = fields[i];
    if (f.starts_with("reason=")) fail.reason = f.substr(7);
    else if (f.starts_with("user=")) fail.user = f.substr(5);
    else if (f == "temp") fail.temporary = true;
  }
  out.push_back(std::move(fail));
  return {};
}

Status DovecotReader::handshake_line(const std::vector<std::string>& fields,
                                     std::vector<ServerEvent>& out) {
  const std::string& command = fields[0];
  if (command == "VERSION") {
    if (fields.size() < 3 || fields[1] != "1") {
      return make_error(fmt::format("auth server speaks protocol version {}, not 1",
                                    fields.size() > 1 ? fields[1] : "(none)"));
    }
    auto minor = parse_id(fields[2]);
    handshake_.minor_version = minor ? *minor : 0;
    version_seen_ = true;
    return {};
  }
  if (!version_seen_) {
    return make_error(fmt::format("auth server sent {} before VERSION", command.substr(0, 32)));
  }
  if (command == "MECH") {
    if (fields.size() < 2 || fields[1].empty()) return make_error("auth server sent MECH without a name");
    handshake_.mechanisms.push_back(parse_mechanism(fields));
  } else if (command == "SPID" && fields.size() > 1) {
    handshake_.spid = fields[1];
  } else if (command == "CUID" && fields.size() > 1) {
    handshake_.cuid = fields[1];
  } else if (command == "COOKIE" && fields.size() > 1) {
    handshake_.cookie = fields[1];
  } else if (command == "DONE") {
    done_ = true;
    out.push_back(std::move(handshake_));
    handshake_ = {};
  } else if (command == "CONT" || command == "OK" || command == "FAIL") {
    return make_error(fmt::format("auth server sent {} before DONE", command));
  }
  return {};
}

std::string encode_client_handshake(long pid) {
  return fmt::format("VERSION\t1\t1\nCPID\t{}\n", pid);
}

Result<std::string> encode_auth(const AuthRequest& r) {
  if (r.mechanism.empty() || r.service.empty()) {
    return make_error("AUTH request without a mechanism or service");
  }
  for (std::string_view field : {std::string_view(r.mechanism), std::string_view(r.service),
                                 std::string_view(r.local_ip), std::string_view(r.remote_ip)}) {
    if (!is_safe_field(field)) return make_error("AUTH request field holds a control byte");
  }
  if (r.initial_response && !is_safe_field(*r.initial_response)) {
    return make_error("AUTH request field holds a control byte");
  }
  std::string line = fmt::format("AUTH\t{}\t{}\tservice={}\tnologin", r.id, r.mechanism, r.service);
  if (!r.local_ip.empty()) line += fmt::format("\tlip={}", r.local_ip);
  if (!r.remote_ip.empty()) line += fmt::format("\trip={}", r.remote_ip);
  if (r.secured) line += "\tsecured";
  if (r.initial_response) line += fmt::format("\tresp={}", *r.initial_response);
  line += '\n';
  return line;
}

Result<std::string> encode_continue(uint32_t id, std::string_view response) {
  if (!is_safe_field(response)) return make_error("CONT response holds a control byte");
  return fmt::format("CONT\t{}\t{}\n", id, response);
}

}  // namespace estafeta::sasl
