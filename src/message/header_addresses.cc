// Address-list parsing (see header_addresses.h).
#include "message/header_addresses.h"

namespace estafeta::message {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The characters of an address as the scanner normalizes it, each with the offset in the
// header value it came from, so the normalized text maps back to a byte range.
struct Collected {
  std::string text;
  std::vector<size_t> offsets;  // offsets[i]: where text[i] was read

  void add(char c, size_t offset) {
    text += c;
    offsets.push_back(offset);
  }
  void clear() {
    text.clear();
    offsets.clear();
  }
  // The entry for text[from, end), or nothing when that is empty.
  void emit(size_t from, std::vector<HeaderAddress>& out) const {
    if (from >= text.size()) return;
    out.push_back(HeaderAddress{text.substr(from), offsets[from], offsets.back() + 1});
  }
};

// Walks the value once. `text_` collects the current mailbox's characters outside comments
// (quoted strings kept with their quotes, white space outside them dropped); an angle
// address, when one appears, is the mailbox instead.
class Scanner {
 public:
  explicit Scanner(std::string_view value) : value_(value) {}

  std::vector<HeaderAddress> run() {
    while (pos_ < value_.size()) {
      const char c = value_[pos_++];
      if (c == '"') {
        quoted_string();
      } else if (c == '(') {
        comment();
      } else if (c == '<') {
        angle_address();
      } else if (c == ',' || c == ';') {
        finish_mailbox();
      } else if (c == ':' && !in_angle_) {
        text_.clear();  // a group's display name
        angle_.clear();
        has_angle_ = false;
      } else if (c == '\\' && pos_ < value_.size()) {
        text_.add(c, pos_ - 1);
        text_.add(value_[pos_], pos_);
        ++pos_;
      } else if (!is_space(c)) {
        text_.add(c, pos_ - 1);
      }
    }
    finish_mailbox();
    return std::move(out_);
  }

 private:
  // Called after the opening quote; the closing quote is added even when the value ends
  // first (it then maps to the last byte read).
  void quoted_string() {
    Collected& into = in_angle_ ? angle_ : text_;
    into.add('"', pos_ - 1);
    while (pos_ < value_.size()) {
      const char c = value_[pos_++];
      if (c == '\\' && pos_ < value_.size()) {
        into.add(c, pos_ - 1);
        into.add(value_[pos_], pos_);
        ++pos_;
      } else if (c == '"') {
        break;
      } else if (c != '\r' && c != '\n') {
        into.add(c, pos_ - 1);
      }
    }
    into.add('"', pos_ - 1);
  }

  void comment() {
    int depth = 1;
    while (pos_ < value_.size() && depth > 0) {
      const char c = value_[pos_++];
      if (c == '\\') {
        ++pos_;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')') {
        --depth;
      }
    }
    if (pos_ > value_.size()) pos_ = value_.size();  // a trailing backslash
  }

  void angle_address() {
    in_angle_ = true;
    angle_.clear();
    while (pos_ < value_.size()) {
      const char c = value_[pos_++];
      if (c == '>') break;
      if (c == '"') {
        quoted_string();
      } else if (c == '(') {
        comment();
      } else if (c == '\\' && pos_ < value_.size()) {
        angle_.add(c, pos_ - 1);
        angle_.add(value_[pos_], pos_);
        ++pos_;
      } else if (!is_space(c)) {
        angle_.add(c, pos_ - 1);
      }
    }
    in_angle_ = false;
    has_angle_ = true;
  }

  void finish_mailbox() {
    if (has_angle_) {
      // Without its source route: "@a,@b:user@c" is "user@c"; a route with no ':' is nothing.
      size_t from = 0;
      if (!angle_.text.empty() && angle_.text.front() == '@') {
        const size_t colon = angle_.text.find(':');
        from = colon == std::string::npos ? angle_.text.size() : colon + 1;
      }
      angle_.emit(from, out_);
    } else {
      text_.emit(0, out_);
    }
    text_.clear();
    angle_.clear();
    has_angle_ = false;
  }

  std::string_view value_;
  size_t pos_ = 0;
  Collected text_;
  Collected angle_;
  bool in_angle_ = false;
  bool has_angle_ = false;
  std::vector<HeaderAddress> out_;
};

}  // namespace

std::vector<HeaderAddress> header_address_spans(std::string_view value) {
  return Scanner(value).run();
}

std::vector<std::string> header_addresses(std::string_view value) {
  std::vector<std::string> out;
  for (HeaderAddress& a : header_address_spans(value)) out.push_back(std::move(a.address));
  return out;
}

std::string rewrite_header_addresses(
    std::string_view value,
    const std::function<std::optional<std::string>(std::string_view address)>& rewrite) {
  std::string out;
  size_t copied = 0;
  for (const HeaderAddress& a : header_address_spans(value)) {
    std::optional<std::string> replacement = rewrite(a.address);
    if (!replacement || *replacement == a.address) continue;
    out.append(value.substr(copied, a.begin - copied));
    out.append(*replacement);
    copied = a.end;
  }
  out.append(value.substr(copied));
  return out;
}

}  // namespace estafeta::message
