// libFuzzer target: bytes from a Dovecot auth server into sasl::DovecotReader, whole and split
// at a point chosen by the first byte, plus the same bytes as SMTP AUTH input (the AUTH
// argument and a client response) and through base64. Invariants: the split does not change
// the events or the verdict; one handshake at most, and only first; decoding what was encoded
// gives the input back.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sasl/base64.h"
#include "sasl/dovecot_protocol.h"
#include "sasl/smtp_auth.h"

using namespace estafeta;

namespace {

std::string describe(const std::vector<sasl::ServerEvent>& events) {
  std::string out;
  for (const auto& e : events) {
    out += std::to_string(e.index()) + ":";
    if (auto* h = std::get_if<sasl::Handshake>(&e)) {
      for (const auto& m : h->mechanisms) out += m.name + ",";
    } else if (auto* c = std::get_if<sasl::ServerContinue>(&e)) {
      out += std::to_string(c->id) + c->challenge;
    } else if (auto* ok = std::get_if<sasl::ServerOk>(&e)) {
      out += std::to_string(ok->id) + ok->user;
    } else if (auto* f = std::get_if<sasl::ServerFail>(&e)) {
      out += std::to_string(f->id) + f->reason + "|" + f->user + (f->temporary ? "t" : "");
    }
    out += '\n';
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t split = data[0] % size;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  sasl::DovecotReader whole(256);
  std::vector<sasl::ServerEvent> whole_events;
  const bool whole_ok = whole.feed(input, whole_events).ok();

  sasl::DovecotReader parts(256);
  std::vector<sasl::ServerEvent> part_events;
  bool parts_ok = parts.feed(input.substr(0, split), part_events).ok();
  if (parts_ok) parts_ok = parts.feed(input.substr(split), part_events).ok();
  if (whole_ok != parts_ok) std::abort();
  if (whole_ok && describe(whole_events) != describe(part_events)) std::abort();
  for (size_t i = 0; i < whole_events.size(); ++i) {
    const bool is_handshake = std::holds_alternative<sasl::Handshake>(whole_events[i]);
    if (is_handshake != (i == 0)) std::abort();
  }

  std::vector<std::string> offered = {"PLAIN", "LOGIN"};
  auto command = sasl::parse_auth_command(input, offered);
  if (!command.ok() && command.error().message.substr(0, 1) != "5") std::abort();
  if (command.ok() && command->initial_response &&
      !sasl::is_base64(*command->initial_response)) {
    std::abort();
  }
  (void)sasl::parse_client_response(input);
  auto decoded = sasl::base64_decode(input);
  if (decoded && sasl::base64_encode(*decoded) != input) std::abort();
  if (sasl::base64_decode(sasl::base64_encode(input)) != std::optional<std::string>(input)) {
    std::abort();
  }
  return 0;
}
