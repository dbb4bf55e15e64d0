// The header_checks/body_checks engine; see content_checks.h.
#include "checks/content_checks.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "checks/message_lines.h"

namespace estafeta::checks {
namespace {

// Postfix logs at most this much of the line that matched.
constexpr size_t kLoggedContent = 200;
constexpr std::string_view kTempFailReply = "451 4.3.0 Error: queue file write error";

std::string printable(std::string_view text) {
  std::string out(text.substr(0, kLoggedContent));
  for (char& c : out) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < ' ' || byte == 127) c = '?';
  }
  return out;
}

}  // namespace

ContentChecker::ContentChecker(std::vector<const maps::Map*> header_checks,
                               std::vector<const maps::Map*> body_checks, CheckContext context,
                               CheckSettings settings)
    : header_checks_(std::move(header_checks)),
      body_checks_(std::move(body_checks)),
      context_(std::move(context)),
      settings_(settings) {}

HeaderOutcome ContentChecker::check_header(std::string_view logical_header) {
  return check(Class::Header, logical_header);
}

BodyOutcome ContentChecker::check_body_line(std::string_view line) {
  size_t offset = body_offset_;
  body_offset_ += line.size() + 1;
  if (settings_.body_size_limit != 0 && offset >= settings_.body_size_limit) return {};
  return check(Class::Body, line);
}

std::vector<std::string> ContentChecker::take_log_lines() { return std::exchange(log_, {}); }

LineOutcome ContentChecker::check(Class cls, std::string_view line) {
  // header_checks(5) BUGS: empty lines never match.
  if (!inspecting_ || line.empty()) return {};
  const std::vector<const maps::Map*>& tables =
      cls == Class::Header ? header_checks_ : body_checks_;
  std::string_view map_class = cls == Class::Header ? "header_checks" : "body_checks";
  for (const maps::Map* table : tables) {
    maps::LookupResult r = table->lookup(line);
    if (r.is_found()) {
      ParsedAction parsed = parse_check_action(r.value, map_class);
      if (parsed.warning) log_.push_back("warning: " + *parsed.warning);
      return apply(cls, line, parsed.action);
    }
    if (r.is_temp_fail()) {
      // Postfix: the message is not accepted ("try again later"); checking it further is
      // pointless.
      log_.push_back(
          fmt::format("warning: {}: {} map lookup problem -- message not accepted, try again later",
                      context_.queue_id, map_class));
      if (!verdict_.refusal) verdict_.refusal = std::string(kTempFailReply);
      inspecting_ = false;
      return {};
    }
  }
  return {};
}

LineOutcome ContentChecker::apply(Class cls, std::string_view line, const CheckAction& action) {
  using Disposition = LineOutcome::Disposition;
  LineOutcome out;
  std::string_view name = action_log_name(action.kind);
  switch (action.kind) {
    case ActionKind::Dunno:
      break;
    case ActionKind::Reject:
      // Invariant: parse_check_action gives a reason starting with a 4.x.x or 5.x.x code.
      if (!verdict_.refusal) {
        verdict_.refusal = fmt::format("{} {}", action.text[0] == '4' ? 451 : 550, action.text);
      }
      log_action(name, cls, line, action.text);
      inspecting_ = false;
      out.disposition = Disposition::Drop;
      break;
    case ActionKind::Discard:
      verdict_.discard = true;
      log_action(name, cls, line, action.text);
      inspecting_ = false;
      out.disposition = Disposition::Drop;
      break;
    case ActionKind::Pass:
      log_action(name, cls, line, action.text);
      inspecting_ = false;
      break;
    case ActionKind::Warn:
    case ActionKind::Info:
      log_action(name, cls, line, action.text);
      break;
    case ActionKind::Hold:
      verdict_.hold = true;
      log_action(name, cls, line, action.text);
      break;
    case ActionKind::Ignore:
      out.disposition = Disposition::Drop;
      break;
    case ActionKind::Strip:
      log_action(name, cls, line, action.text);
      out.disposition = Disposition::Drop;
      break;
    case ActionKind::Prepend:
    case ActionKind::Replace:
      if (cls == Class::Header && !is_header_start(action.text)) {
        log_.push_back(fmt::format(
            "warning: bad {} header text \"{}\" in header_checks map -- need \"headername: "
            "headervalue\"",
            action.kind == ActionKind::Prepend ? "PREPEND" : "REPLACE", action.text));
        break;
      }
      log_action(name, cls, line, action.text);
      if (action.kind == ActionKind::Prepend) {
        out.prepend = action.text;
      } else {
        out.disposition = Disposition::Replace;
        out.replacement = action.text;
      }
      break;
    case ActionKind::Redirect:
      verdict_.redirect = action.text;
      log_action(name, cls, line, action.text);
      break;
    case ActionKind::Filter:
      verdict_.filter = action.text;
      log_action(name, cls, line, action.text);
      break;
    case ActionKind::Bcc:
      if (std::find(verdict_.bcc.begin(), verdict_.bcc.end(), action.text) == verdict_.bcc.end()) {
        verdict_.bcc.push_back(action.text);
      }
      log_action(name, cls, line, action.text);
      break;
  }
  return out;
}

void ContentChecker::log_action(std::string_view action, Class cls, std::string_view line,
                                std::string_view text) {
  std::string origin = "local";
  if (!context_.client_address.empty()) {
    origin = fmt::format("{}[{}]", context_.client_name.empty() ? "unknown" : context_.client_name,
                         context_.client_address);
  }
  std::string entry = fmt::format("{}: {}: {} {} from {}; from=<{}>", context_.queue_id, action,
                                  cls == Class::Header ? "header" : "body", printable(line), origin,
                                  context_.sender);
  if (!context_.recipient.empty()) entry += fmt::format(" to=<{}>", context_.recipient);
  if (!context_.protocol.empty()) entry += fmt::format(" proto={}", context_.protocol);
  if (!context_.helo.empty()) entry += fmt::format(" helo=<{}>", context_.helo);
  if (!text.empty()) entry += fmt::format(": {}", text);
  log_.push_back(std::move(entry));
}

}  // namespace estafeta::checks
