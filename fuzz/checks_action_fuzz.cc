// Fuzz target: the header_checks/body_checks action parser, the logical-header splitter and
// the checker. The first line is a table value (parsed on its own, then answered by a
// static: table for every lookup); the rest is a message run through the splitter and the
// checker. Checks the parser's promise that a REJECT reason starts with a 4.x.x or 5.x.x code.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "checks/check_action.h"
#include "checks/content_checks.h"
#include "checks/message_lines.h"
#include "maps/memory_map.h"

using namespace estafeta;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 65536) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t nl = text.find('\n');
  std::string_view value = nl == std::string_view::npos ? text : text.substr(0, nl);
  std::string_view message = nl == std::string_view::npos ? "" : text.substr(nl + 1);

  checks::ParsedAction parsed = checks::parse_check_action(value, "header_checks");
  if (parsed.action.kind == checks::ActionKind::Reject &&
      (!checks::starts_with_enhanced_code(parsed.action.text) ||
       (parsed.action.text[0] != '4' && parsed.action.text[0] != '5'))) {
    __builtin_trap();
  }

  maps::StaticMap table{std::string(value)};
  checks::CheckContext context;
  context.queue_id = "Q";
  checks::ContentChecker checker({&table}, {&table}, context,
                                 checks::CheckSettings{.body_size_limit = 1000});
  for (const checks::MessagePiece& p : checks::split_message(message)) {
    if (p.kind == checks::MessagePiece::Kind::Header) {
      (void)checker.check_header(p.text);
    } else {
      (void)checker.check_body_line(p.text);
    }
  }
  const checks::ContentVerdict& v = checker.verdict();
  if (v.refusal && v.refusal->size() < 4) __builtin_trap();
  (void)checker.take_log_lines();
  return 0;
}
