// libFuzzer target: decode_queue_file and decode_envelope on arbitrary bytes must never
// crash; whatever decodes (checksums ignored) must survive a re-encode/decode round trip
// unchanged (envelope and content) as a version 2 file with valid checksums, and so must its
// extracted segment (header_checks actions); an envelope decoded from a prefix, with the
// segment found through the END record applied, must equal the one decoded with the whole
// file.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "queue/queue_file.h"

namespace {

bool same_envelope(const estafeta::message::Envelope& h, const estafeta::message::Envelope& e) {
  bool same = h.queue_id == e.queue_id && h.arrival_us == e.arrival_us && h.sender == e.sender &&
              h.helo == e.helo && h.protocol == e.protocol && h.body_type == e.body_type &&
              h.smtputf8 == e.smtputf8 && h.dsn_ret == e.dsn_ret && h.dsn_envid == e.dsn_envid &&
              h.client_address == e.client_address && h.client_hostname == e.client_hostname &&
              h.recipients.size() == e.recipients.size();
  for (size_t i = 0; same && i < e.recipients.size(); ++i) {
    same = h.recipients[i].address == e.recipients[i].address &&
           h.recipients[i].orcpt == e.recipients[i].orcpt &&
           h.recipients[i].notify == e.recipients[i].notify;
  }
  return same;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace estafeta;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto verified = queue::decode_queue_file(bytes);  // with checksums, almost nothing decodes
  auto head = queue::decode_envelope(bytes);
  if (verified.ok() && verified->version == 2) {
    // A whole valid file: its envelope alone decodes to the same envelope.
    if (!head.ok() || !head->has_value()) std::abort();
    message::Envelope h = (*head)->envelope;
    auto end = queue::decode_end_tail(
        bytes.substr(bytes.size() - std::min(bytes.size(), queue::kLongEndRecordSize)));
    if (!end.ok() || end->content_size != verified->content.size()) std::abort();
    if (end->extracted_at) {
      const size_t stop = bytes.size() - end->record_size;
      if (*end->extracted_at >= stop) std::abort();
      auto actions =
          queue::decode_extracted(bytes.substr(*end->extracted_at, stop - *end->extracted_at));
      if (!actions.ok() || *actions != verified->envelope.actions) std::abort();
      queue::apply_content_actions(h, std::move(*actions));
    } else if (!verified->envelope.actions.empty()) {
      std::abort();
    }
    if (!same_envelope(h, verified->envelope)) std::abort();
  }
  auto f = queue::decode_queue_file(bytes, queue::Checksum::kIgnore);
  if (!f.ok()) return 0;
  const message::Envelope& e = f->envelope;
  const std::string envelope = queue::encode_envelope(e);
  const std::string file = envelope + queue::encode_content(f->content);
  const std::string whole = file + queue::encode_end_after(file, f->content.size());
  auto g = queue::decode_queue_file(whole);
  if (!g.ok()) std::abort();
  if (!same_envelope(g->envelope, e) || g->content != f->content || g->version != 2) std::abort();
  auto again = queue::decode_envelope(std::string_view(whole).substr(0, envelope.size()));
  if (!again.ok() || !again->has_value() || (*again)->length != envelope.size()) std::abort();
  if (!e.actions.empty()) {
    // The segment written again after the (resulting) envelope gives the same actions.
    std::string with = file;
    const uint64_t at = with.size();
    with += queue::encode_extracted(e.actions);
    with += queue::encode_end_after(with, f->content.size(), at);
    auto h = queue::decode_queue_file(with);
    if (!h.ok() || h->envelope.actions != e.actions || h->content != f->content) std::abort();
  }
  return 0;
}
