// Fuzz target: the content half of the cleanup stage (src/cleanup/content_cleanup.h), which
// smtpd and pickup stream every message through. The first byte picks a piece size; the rest
// is a message fed whole and in pieces of that size, with header_checks and body_checks
// tables answering PREPEND and REPLACE. Checks that the stored bytes and the verdict do not
// depend on how the message was cut into pieces.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cleanup/content_cleanup.h"
#include "maps/memory_map.h"

using namespace estafeta;

namespace {

struct Stored {
  std::string bytes;
  bool refused = false;
  bool discard = false;
};

Stored run(const cleanup::ContentSettings& settings, std::string_view message, size_t piece) {
  cleanup::ContentCleanup c(settings, checks::CheckContext{});
  Stored s;
  for (size_t at = 0; at < message.size(); at += piece) s.bytes += c.feed(message.substr(at, piece));
  s.bytes += c.finish();
  s.refused = c.refusal().has_value();
  s.discard = c.discard();
  (void)c.take_log_lines();
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 65536) return 0;
  const size_t piece = 1 + data[0] % 17;
  std::string_view message(reinterpret_cast<const char*>(data + 1), size - 1);
  auto headers = maps::build_static_map("PREPEND X-Checked: yes");
  auto body = maps::build_static_map("REPLACE (line)");
  if (!headers.ok() || !body.ok()) __builtin_trap();
  cleanup::ContentSettings settings;
  settings.hopcount_limit = 3;
  for (int tables = 0; tables < 2; ++tables) {
    if (tables == 1) {
      settings.header_checks = {headers->get()};
      settings.body_checks = {body->get()};
    }
    Stored whole = run(settings, message, message.size() + 1);
    Stored pieces = run(settings, message, piece);
    if (whole.bytes != pieces.bytes || whole.refused != pieces.refused ||
        whole.discard != pieces.discard) {
      __builtin_trap();
    }
  }
  return 0;
}
