// Logical headers and body lines of a message; see message_lines.h.
#include "checks/message_lines.h"

namespace estafeta::checks {
namespace {

bool is_name_char(char c) { return c > ' ' && c < 127 && c != ':'; }
bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// Length of the header name of `line`, or 0 when `line` does not start a header field.
// *colon gets the position of the colon.
size_t header_name_length(std::string_view line, size_t* colon) {
  size_t n = 0;
  while (n < line.size() && is_name_char(line[n])) ++n;
  if (n == 0) return 0;
  size_t p = n;
  while (p < line.size() && is_wsp(line[p])) ++p;
  if (p == line.size() || line[p] != ':') return 0;
  *colon = p;
  return n;
}

}  // namespace

bool is_header_start(std::string_view line) {
  size_t colon = 0;
  return header_name_length(line, &colon) != 0;
}

void MessageLineSplitter::flush(std::vector<MessagePiece>& out) {
  if (!pending_) return;
  // A copy: header_ keeps its buffer for the next header.
  out.push_back(MessagePiece{MessagePiece::Kind::Header, header_});
  header_.clear();
  pending_ = false;
}

void MessageLineSplitter::append(std::string_view text) {
  // Postfix truncates a logical header longer than header_size_limit.
  if (header_.size() >= header_size_limit_) return;
  header_.append(text.substr(0, header_size_limit_ - header_.size()));
}

std::vector<MessagePiece> MessageLineSplitter::push_line(std::string_view line) {
  std::vector<MessagePiece> out;
  push_line(line, out);
  return out;
}

void MessageLineSplitter::push_line(std::string_view line, std::vector<MessagePiece>& out) {
  if (in_body_) {
    out.push_back(MessagePiece{MessagePiece::Kind::BodyLine, std::string(line)});
    return;
  }
  if (pending_ && !line.empty() && is_wsp(line.front())) {
    append("\n");
    append(line);
    return;
  }
  size_t colon = 0;
  if (size_t name = header_name_length(line, &colon); name != 0) {
    flush(out);
    append(line.substr(0, name));
    append(line.substr(colon));
    pending_ = true;
    return;
  }
  flush(out);
  in_body_ = true;
  out.push_back(MessagePiece{MessagePiece::Kind::BodyLine, ""});
  if (!line.empty()) out.push_back(MessagePiece{MessagePiece::Kind::BodyLine, std::string(line)});
}

std::vector<MessagePiece> MessageLineSplitter::finish() {
  std::vector<MessagePiece> out;
  flush(out);
  return out;
}

std::vector<MessagePiece> split_message(std::string_view message) {
  MessageLineSplitter splitter;
  std::vector<MessagePiece> pieces;
  while (!message.empty()) {
    size_t nl = message.find('\n');
    std::string_view line = message.substr(0, nl);
    splitter.push_line(line, pieces);
    message.remove_prefix(nl == std::string_view::npos ? message.size() : nl + 1);
  }
  for (MessagePiece& p : splitter.finish()) pieces.push_back(std::move(p));
  return pieces;
}

}  // namespace estafeta::checks
