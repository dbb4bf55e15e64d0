// The content half of the cleanup stage (see content_cleanup.h).
#include "cleanup/content_cleanup.h"

#include <fmt/format.h>

namespace estafeta::cleanup {
namespace {

// A logical header keeps its folding as "\n" (message_lines.h); the queue stores CRLF.
void append_crlf_lines(std::string_view text, std::string& out) {
  for (size_t lf; (lf = text.find('\n')) != std::string_view::npos; text.remove_prefix(lf + 1)) {
    out.append(text.substr(0, lf)).append("\r\n");
  }
  out.append(text).append("\r\n");
}

}  // namespace

ContentCleanup::ContentCleanup(const ContentSettings& settings, checks::CheckContext context,
                               HeaderRewriter header_rewriter)
    : settings_(settings),
      header_rewriter_(header_rewriter),
      queue_id_(context.queue_id),
      hops_(settings.hopcount_limit),
      checker_(settings.header_checks, settings.body_checks, std::move(context),
               settings.check_settings) {}

std::string ContentCleanup::feed(std::string_view data) {
  std::string out;
  // About what comes in goes out (a CR more per folded header line): one allocation.
  out.reserve(data.size() + data.size() / 32 + 64);
  if (pass_body_) {
    out.append(data);
    return out;
  }
  size_t start = 0;
  for (;;) {
    size_t lf = data.find('\n', start);
    if (lf == std::string_view::npos) break;
    std::string_view piece = data.substr(start, lf - start);
    start = lf + 1;
    if (!partial_.empty()) {
      partial_.append(piece);
      std::string whole = std::move(partial_);
      partial_.clear();
      line(whole, out);
    } else {
      line(piece, out);
    }
    if (pass_body_) {
      out.append(data.substr(start));
      return out;
    }
  }
  partial_.append(data.substr(start));
  return out;
}

std::string ContentCleanup::finish() {
  std::string out;
  if (!partial_.empty()) {
    std::string last = std::move(partial_);
    partial_.clear();
    if (pass_body_) {
      out += last;
    } else {
      line(last, out);
    }
  }
  if (!in_body_) {
    for (const auto& piece : splitter_.finish()) emit(piece, out);
  }
  return out;
}

void ContentCleanup::line(std::string_view text, std::string& out) {
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  if (!in_body_) {
    pieces_.clear();
    splitter_.push_line(text, pieces_);
    for (const auto& piece : pieces_) emit(piece, out);
    return;
  }
  emit({checks::MessagePiece::Kind::BodyLine, std::string(text)}, out);
}

void ContentCleanup::emit(const checks::MessagePiece& piece, std::string& out) {
  if (piece.kind == checks::MessagePiece::Kind::Header) {
    hops_.add_header(piece.text);
    apply(checker_.check_header(piece.text), piece.text, out);
    return;
  }
  if (!in_body_) {
    in_body_ = true;
    // Without body_checks the rest of the message passes as it comes, after this line.
    pass_body_ = settings_.body_checks.empty();
  }
  if (settings_.body_checks.empty() || !checker_.inspecting()) {
    append_crlf_lines(piece.text, out);
    return;
  }
  apply(checker_.check_body_line(piece.text), piece.text, out);
}

void ContentCleanup::apply(const checks::LineOutcome& outcome, std::string_view original,
                           std::string& out) {
  if (outcome.prepend) append_crlf_lines(*outcome.prepend, out);
  switch (outcome.disposition) {
    case checks::LineOutcome::Disposition::Keep:
      if (in_body_) {
        append_crlf_lines(original, out);
      } else {
        rewrite_and_keep(original, out);
      }
      break;
    case checks::LineOutcome::Disposition::Replace:
      append_crlf_lines(outcome.replacement, out);
      break;
    case checks::LineOutcome::Disposition::Drop:
      break;
  }
}

// A kept header, its addresses rewritten (Postfix: header_checks see the header as it came).
void ContentCleanup::rewrite_and_keep(std::string_view header, std::string& out) {
  size_t colon = header.find(':');
  if (header_rewriter_ == nullptr || colon == std::string_view::npos) {
    append_crlf_lines(header, out);
    return;
  }
  std::string_view name = header.substr(0, colon);
  if (!rewrite::header_address_class(name)) {
    append_crlf_lines(header, out);
    return;
  }
  rewrite::HeaderRewrite r = header_rewriter_->rewrite_header(name, header.substr(colon + 1));
  if (r.deferral && !rewrite_refusal_) {
    rewrite_refusal_ = fmt::format("451 {} {}", r.deferral->status, r.deferral->text);
  }
  if (!r.changed) {
    append_crlf_lines(header, out);
    return;
  }
  append_crlf_lines(std::string(name) + ":" + r.value, out);
}

std::optional<std::string> ContentCleanup::refusal() const {
  if (checker_.verdict().refusal) return checker_.verdict().refusal;
  if (rewrite_refusal_) return rewrite_refusal_;
  if (hops_.exceeded()) return std::string(checks::kTooManyHopsReply);
  return std::nullopt;
}

message::ContentActions ContentCleanup::actions() const {
  const checks::ContentVerdict& v = checker_.verdict();
  message::ContentActions a;
  a.hold = v.hold;
  if (v.redirect) {
    a.redirect = *v.redirect;
  } else if (v.filter) {
    a.filter = *v.filter;
  }
  a.bcc = v.bcc;
  return a;
}

}  // namespace estafeta::cleanup
