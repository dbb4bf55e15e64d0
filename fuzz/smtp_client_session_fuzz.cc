// libFuzzer target: arbitrary server replies into smtp::ClientSession. Byte 0 picks the
// settings (bit 0 use_ehlo off, bit 1 try_starttls, bit 2 require_tls, bit 3 pipelining
// off, bit 4 TLS handshakes fail, bit 5 implicit TLS, bit 6 SMTP AUTH credentials, bit 7
// plaintext AUTH allowed in clear), byte 1 the fragment size; the
// messages are fixed (two recipients, DSN fields, one SMTPUTF8 one 8-bit, sizes around
// common SIZE limits). The edge is played as a real one would: StartTls -> tls_done,
// SendContent -> content_sent, Ready -> the next message or quit(). Invariants: nothing
// follows Close; pausing actions and Ready end their batch; each recipient gets at most one
// RecipientDone per message and all of them before MessageDone; Sends end in CRLF and
// contain no bare CR or LF; the same actions at the chosen fragment size as all at once.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/client_session.h"

using namespace estafeta;
using namespace estafeta::smtp;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

std::vector<OutgoingMessage> messages() {
  OutgoingMessage a;
  a.sender = "s@example.org";
  a.recipients = {{"a@example.net", "SUCCESS,FAILURE", "rfc822;a@example.net"},
                  {"b c@example.net", "", ""}};
  a.size = 10000;
  a.eight_bit = true;
  a.envid = "env 1";
  a.ret = "HDRS";
  OutgoingMessage b;
  b.recipients = {{"d@example.net", "NEVER", ""}};
  b.size = 99;
  b.smtputf8 = true;
  return {a, b, a};
}

std::vector<std::string> drive(const ClientSettings& settings, bool tls_ok, std::string_view input,
                               size_t fragment) {
  ClientSession s(settings);
  std::vector<std::string> t;
  bool closed = false;
  std::deque<OutgoingMessage> queue;
  for (auto& m : messages()) queue.push_back(std::move(m));
  std::vector<int> done;
  std::vector<ClientAction> batch = s.start();
  size_t pos = 0;
  while (true) {
    std::vector<ClientAction> next;
    for (size_t i = 0; i < batch.size(); ++i) {
      const ClientAction& a = batch[i];
      check(!closed);
      const bool last = i + 1 == batch.size();
      if (const auto* x = std::get_if<client::Send>(&a)) {
        const std::string& b = x->bytes;
        check(b.size() >= 2 && b.compare(b.size() - 2, 2, "\r\n") == 0);
        for (size_t k = 0; k < b.size(); ++k) {
          if (b[k] == '\r') check(k + 1 < b.size() && b[k + 1] == '\n');
          if (b[k] == '\n') check(k > 0 && b[k - 1] == '\r');
        }
        t.push_back("S" + b);
      } else if (std::holds_alternative<client::StartTls>(a)) {
        check(last);
        t.push_back("T");
        next = s.tls_done(tls_ok);
      } else if (std::holds_alternative<client::SendContent>(a)) {
        check(last && s.stage() == ClientStage::Body);
        t.push_back("C");
        next = s.content_sent();
      } else if (const auto* x = std::get_if<client::RecipientDone>(&a)) {
        check(x->index < done.size() && ++done[x->index] == 1);
        check(x->reply.code >= 200 && x->reply.code <= 599);
        t.push_back("R" + std::to_string(x->index) + x->reply.text());
      } else if (std::holds_alternative<client::MessageDone>(a)) {
        for (int d : done) check(d == 1);
        t.push_back("M");
      } else if (std::holds_alternative<client::Ready>(a)) {
        check(last && s.idle());
        t.push_back("Y");
        if (!queue.empty()) {
          done.assign(queue.front().recipients.size(), 0);
          next = s.send_message(std::move(queue.front()));
          queue.pop_front();
        } else {
          next = s.quit();
        }
      } else if (const auto* x = std::get_if<client::SessionFailed>(&a)) {
        check(x->reply.has_value() || !x->reason.empty());
        t.push_back("F" + std::string(activity(x->stage)) +
                    (x->reply ? x->reply->text() : x->reason));
      } else if (std::holds_alternative<client::Close>(a)) {
        check(last && s.closed());
        closed = true;
        t.push_back("Q");
      }
    }
    if (!next.empty()) {
      batch = std::move(next);
      continue;
    }
    if (pos >= input.size() || s.closed()) break;
    size_t n = std::min(fragment, input.size() - pos);
    batch = s.feed(input.substr(pos, n));
    pos += n;
  }
  for (const ClientAction& a : s.peer_closed()) {
    check(!closed);
    (void)a;
  }
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  ClientSettings settings;
  settings.helo_name = "out.example";
  settings.peer = "mx.example[192.0.2.1]";
  settings.use_ehlo = (flags & 1) == 0;
  settings.try_starttls = (flags & 2) != 0;
  settings.require_tls = (flags & 4) != 0;
  settings.pipelining = (flags & 8) == 0;
  settings.tls_active = (flags & 32) != 0;
  if ((flags & 64) != 0) {
    settings.auth = ClientAuth{"user@example.org", "pass:word", {}, (flags & 128) != 0, true};
  }
  const bool tls_ok = (flags & 16) == 0;
  const size_t fragment = 1 + data[1] % 64;
  std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
  std::vector<std::string> a = drive(settings, tls_ok, input, fragment);
  // STARTTLS: what was read together with the 220 decides whether plaintext was injected,
  // so only sessions that never start TLS must be independent of read boundaries.
  bool tls = false;
  for (const std::string& line : a) tls = tls || line == "T";
  if (!tls) check(a == drive(settings, tls_ok, input, input.size() + 1));
  return 0;
}
