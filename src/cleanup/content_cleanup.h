// The cleanup stage's content half, between the session (or pickup) and the queue writer: the
// message's CRLF bytes go in as they arrive and the bytes to store come out. Each logical
// header of the primary header section is counted against hopcount_limit (a message with as
// many Received: headers is a mail loop: "554 5.4.0 Error: too many hops") and checked by
// header_checks, then its addresses rewritten when the message qualifies (canonical maps and
// masquerading for the header classes; only addr-spec bytes change); body lines by
// body_checks (checks/content_checks.h: REJECT, WARN, IGNORE, PREPEND, REPLACE, DISCARD...).
// Headers are held only until each is complete; the body passes through untouched, line by line
// only when body_checks exist. HOLD, REDIRECT, FILTER and BCC come out as ContentActions for
// the queue writer (queue::IncomingMessage::set_content_actions), which records them after the
// content. Pure; one object per message; thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checks/content_checks.h"
#include "checks/hop_count.h"
#include "checks/message_lines.h"
#include "maps/map.h"
#include "message/envelope.h"
#include "rewrite/rewriter.h"

namespace estafeta::cleanup {

struct ContentSettings {
  std::vector<const maps::Map*> header_checks;  // borrowed: they outlive every message
  std::vector<const maps::Map*> body_checks;
  checks::CheckSettings check_settings;  // body_checks_size_limit
  size_t hopcount_limit = checks::HopCounter::kDefaultLimit;
};

/// Per message: the rewriter of header addresses (canonical maps and masquerading for the
/// header_sender and header_recipient classes), or nullptr when this message's headers are
/// not rewritten (route::EnvelopeCleanup::header_rewriter decides: local_header_rewrite_clients).
using HeaderRewriter = const rewrite::Rewriter*;

class ContentCleanup {
 public:
  ContentCleanup(const ContentSettings& settings, checks::CheckContext context,
                 HeaderRewriter header_rewriter = nullptr);

  /// Message bytes (CRLF lines) in; the bytes to store out, in order. A header is held until
  /// the line after it shows it is complete.
  std::string feed(std::string_view data);
  /// End of the message: what is still held.
  std::string finish();

  /// Set when the message must not be queued: the reply (REJECT, too many hops, a table that
  /// cannot answer).
  std::optional<std::string> refusal() const;
  /// DISCARD: claim delivery, queue nothing.
  bool discard() const { return checker_.verdict().discard; }
  /// HOLD, FILTER, REDIRECT and BCC, for the queue writer once the message is whole. A
  /// REDIRECT overrides FILTER (header_checks(5)): the filter is then left out.
  message::ContentActions actions() const;
  /// Log lines since the last call (Postfix cleanup's).
  std::vector<std::string> take_log_lines() { return checker_.take_log_lines(); }

 private:
  void line(std::string_view text, std::string& out);
  void emit(const checks::MessagePiece& piece, std::string& out);
  void apply(const checks::LineOutcome& outcome, std::string_view original, std::string& out);

  void rewrite_and_keep(std::string_view header, std::string& out);

  const ContentSettings& settings_;
  HeaderRewriter header_rewriter_;
  std::optional<std::string> rewrite_refusal_;  // a header rewriting table could not answer
  std::string queue_id_;
  checks::MessageLineSplitter splitter_;
  std::vector<checks::MessagePiece> pieces_;  // line()'s, kept to keep its allocation
  checks::HopCounter hops_;
  checks::ContentChecker checker_;
  std::string partial_;  // an incomplete last line
  bool in_body_ = false;
  bool pass_body_ = false;  // in the body without body_checks: bytes pass as they are
};

}  // namespace estafeta::cleanup
