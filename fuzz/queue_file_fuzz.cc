// libFuzzer target: decode_queue_file on arbitrary bytes must never crash, and whatever
// decodes (checksum ignored) must survive a re-encode/decode round trip unchanged (envelope
// and content), the re-encoded file with a valid checksum.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "queue/queue_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace estafeta;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)queue::decode_queue_file(bytes);  // with the checksum, almost nothing decodes
  auto f = queue::decode_queue_file(bytes, queue::Checksum::kIgnore);
  if (!f.ok()) return 0;
  const message::Envelope& e = f->envelope;
  const std::string head = queue::encode_envelope(e) + queue::encode_content(f->content);
  auto g = queue::decode_queue_file(head + queue::encode_end_after(head));
  if (!g.ok()) std::abort();
  const message::Envelope& h = g->envelope;
  bool same = h.queue_id == e.queue_id && h.arrival_us == e.arrival_us && h.sender == e.sender &&
              h.helo == e.helo && h.protocol == e.protocol && h.body_type == e.body_type &&
              h.smtputf8 == e.smtputf8 && h.dsn_ret == e.dsn_ret && h.dsn_envid == e.dsn_envid &&
              h.client_address == e.client_address && h.client_hostname == e.client_hostname &&
              h.recipients.size() == e.recipients.size() && g->content == f->content;
  for (size_t i = 0; same && i < e.recipients.size(); ++i) {
    same = h.recipients[i].address == e.recipients[i].address &&
           h.recipients[i].orcpt == e.recipients[i].orcpt &&
           h.recipients[i].notify == e.recipients[i].notify;
  }
  if (!same) std::abort();
  return 0;
}
