// libFuzzer target: parse_drop_file on arbitrary bytes (what a local user can put in the
// maildrop directory) must never crash; whatever parses must re-encode to bytes that parse
// to the same request; and the cleanup pickup applies to a parsed request
// (prepare_local_message, render_local_message) must never crash either.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "submit/drop_file.h"
#include "submit/local_message.h"

namespace {

bool same(const estafeta::submit::DropRequest& a, const estafeta::submit::DropRequest& b) {
  return a.sender == b.sender && a.full_name == b.full_name &&
         a.extract_recipients == b.extract_recipients && a.recipients == b.recipients &&
         a.notify == b.notify && a.ret == b.ret && a.envid == b.envid &&
         a.body_type == b.body_type && a.content == b.content;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace estafeta::submit;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_drop_file(bytes);
  if (!parsed.ok()) return 0;
  auto again = parse_drop_file(encode_drop_file(*parsed));
  if (!again.ok() || !same(*parsed, *again)) std::abort();
  Submitter who;
  who.login = "user";
  who.uid = 1000;
  who.myorigin = "example.org";
  who.myhostname = "mail.example.org";
  auto prepared = prepare_local_message(*parsed, parsed->sender.value_or("user"), who);
  if (prepared.ok()) {
    if (prepared->recipients.empty()) std::abort();  // refused, never queued without one
    (void)render_local_message(*prepared, who, "0123456789ABCDEF01", 1796482179000000);
  }
  return 0;
}
