// Address-list parsing (see header_addresses.h).
#include "message/header_addresses.h"

namespace estafeta::message {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// An angle address without its source route ("@a,@b:user@c" -> "user@c").
std::string without_route(std::string address) {
  if (!address.empty() && address.front() == '@') {
    const size_t colon = address.find(':');
    address = colon == std::string::npos ? std::string() : address.substr(colon + 1);
  }
  return address;
}

// Walks the value once. `text` collects the current mailbox's characters outside comments
// (quoted strings kept with their quotes, white space outside them dropped); an angle
// address, when one appears, is the mailbox instead.
class Scanner {
 public:
  explicit Scanner(std::string_view value) : value_(value) {}

  std::vector<std::string> run() {
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
        text_ += c;
        text_ += value_[pos_++];
      } else if (!is_space(c)) {
        text_ += c;
      }
    }
    finish_mailbox();
    return std::move(out_);
  }

 private:
  void quoted_string() {
    std::string& into = in_angle_ ? angle_ : text_;
    into += '"';
    while (pos_ < value_.size()) {
      const char c = value_[pos_++];
      if (c == '\\' && pos_ < value_.size()) {
        into += c;
        into += value_[pos_++];
      } else if (c == '"') {
        break;
      } else if (c != '\r' && c != '\n') {
        into += c;
      }
    }
    into += '"';
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
        angle_ += c;
        angle_ += value_[pos_++];
      } else if (!is_space(c)) {
        angle_ += c;
      }
    }
    in_angle_ = false;
    has_angle_ = true;
  }

  void finish_mailbox() {
    std::string address = has_angle_ ? without_route(angle_) : text_;
    if (!address.empty()) out_.push_back(std::move(address));
    text_.clear();
    angle_.clear();
    has_angle_ = false;
  }

  std::string_view value_;
  size_t pos_ = 0;
  std::string text_;
  std::string angle_;
  bool in_angle_ = false;
  bool has_angle_ = false;
  std::vector<std::string> out_;
};

}  // namespace

std::vector<std::string> header_addresses(std::string_view value) {
  return Scanner(value).run();
}

}  // namespace estafeta::message
