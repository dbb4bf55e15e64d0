// Message-ID capture over a streaming header section (see header_scanner.h).
#include "smtp/header_scanner.h"

#include "base/ascii.h"

namespace estafeta::smtp {
namespace {

constexpr size_t kMaxName = 100;
constexpr size_t kMaxValue = 998;  // RFC 5322 §2.1.1 line limit

}  // namespace

void HeaderScanner::end_field() {
  if (capturing_ && id_.empty()) {
    std::string_view v = ascii::trim(value_);
    id_ = std::string(v);
  }
  capturing_ = false;
  value_.clear();
  name_.clear();
}

void HeaderScanner::feed(std::string_view content) {
  for (size_t i = 0; i < content.size() && state_ != State::Body; ++i) {
    char c = content[i];
    switch (state_) {
      case State::LineStart:
        if (c == ' ' || c == '\t') {
          // Folded continuation of the current field (RFC 5322 §2.2.3).
          if (capturing_ && value_.size() < kMaxValue) value_ += ' ';
          state_ = State::Value;
        } else if (c == '\r') {
          state_ = State::LineStartCr;
        } else if (c == '\n') {
          end_field();
          state_ = State::Body;
        } else {
          end_field();
          name_ += c;
          state_ = State::Name;
        }
        break;
      case State::LineStartCr:
        // "\r\n" on its own: the empty line that ends the header section. A CR followed by
        // anything else is not a header either.
        end_field();
        state_ = State::Body;
        break;
      case State::Name:
        if (c == ':') {
          capturing_ = ascii::iequals(ascii::trim(name_), "Message-ID");
          state_ = State::Value;
        } else if (c == '\r' || c == '\n' || name_.size() >= kMaxName ||
                   static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) {
          end_field();
          state_ = State::Body;  // not a header line: the body has begun
        } else {
          name_ += c;
        }
        break;
      case State::Value:
        if (c == '\n') {
          state_ = State::LineStart;
        } else if (c != '\r' && capturing_ && value_.size() < kMaxValue) {
          value_ += c;
        }
        break;
      case State::Body:
        break;
    }
  }
}

std::string HeaderScanner::message_id() const {
  if (!id_.empty()) return id_;
  if (capturing_) return std::string(ascii::trim(value_));
  return {};
}

}  // namespace estafeta::smtp
