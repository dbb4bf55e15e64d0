// The DATA byte automaton (RFC 5321 §4.1.1.4, §4.5.2) and the BDAT content normalizer, under
// the four behaviours of smtpd_forbid_bare_newline (Postfix 3.9; `yes` is `normalize`).
// DataReader consumes raw client bytes after "354", removes dot-stuffing and stops exactly
// after CRLF "." CRLF. Only that sequence ends the data, in every mode: a bare LF or bare CR
// never ends it, so "\n.\n", "\r.\r\n", "\n.\r\n", "\r\n.\n" ... can neither end nor split a
// message (SMTP smuggling).
//   No         bare LF and bare CR are content, passed through untouched; a bare LF does not
//              start a line (no dot-unstuffing after it).
//   Normalize  (and Note, Reject) a bare LF ends a line as CRLF would and is stored as CRLF;
//              CRs just before a line end are dropped and any other (stray) CR becomes a
//              space, so the content is pure CRLF text (Postfix: smtp_get() strips CRs before
//              the newline, cleanup_replace_stray_cr_lf = yes replaces the rest). A "." line
//              next to a bare LF ("\n.\n", "\r\n.\n", "\n.\r\n") is a non-standard end
//              of data: discarded, not stored (Postfix). So is ".\r\r\n" (Postfix ends the
//              data there, having stripped the CRs; here only CRLF "." CRLF does).
//   Reject     as Normalize, but the first bare LF is remembered (saw_bare_lf()) and nothing
//              after it is emitted: the caller reads to the end of data and refuses the
//              message there, as Postfix does.
// Incremental: any split of the input gives the same output. Pure; no allocation except
// appending to the caller's output buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace estafeta::smtp {

/// smtpd_forbid_bare_newline. Note is Normalize plus "notes=bare_lf" in the session's
/// disconnect statistics when a bare LF was received (Postfix 3.9 `note`).
enum class BareNewlineMode { Normalize, Note, Reject, No };

/// Postfix's values: "normalize", "yes" (= normalize), "note", "reject", "no"; nullopt for
/// anything else (case matters, as for every Estafeta enum parameter).
std::optional<BareNewlineMode> parse_bare_newline_mode(std::string_view value);

class DataReader {
 public:
  enum class Status { NeedMore, Done };
  struct Step {
    size_t consumed;  // bytes of input used; on Done, up to and including the final LF
    Status status;
  };

  explicit DataReader(BareNewlineMode mode) : mode_(mode) {}

  /// Consumes `input`, appending message content (unstuffed, CRLF lines unless mode No) to
  /// `out`. After Done the reader must not be fed again.
  Step feed(std::string_view input, std::string& out);

  /// A line ended in a bare LF (never set in mode No).
  bool saw_bare_lf() const { return saw_bare_lf_; }

 private:
  enum class State { LineStart, Dot, DotCr, Mid, Cr };
  Step feed_raw(std::string_view input, std::string& out);
  Step feed_normalized(std::string_view input, std::string& out);
  void end_line(bool bare, std::string& out);
  void put_pending_crs(std::string& out);

  BareNewlineMode mode_;
  State state_ = State::LineStart;
  // Normalizing modes: CRs seen since the last other byte of the line (emitted as spaces
  // unless a LF follows); whether the current line began after a bare LF.
  uint32_t pending_cr_ = 0;
  bool prev_bare_ = false;
  bool saw_bare_lf_ = false;
  bool discard_ = false;  // Reject after a bare LF: emit nothing more
};

/// BDAT content (RFC 3030: no dot-stuffing, no end marker) under smtpd_forbid_bare_newline:
/// mode No passes it through; the other modes normalize it as DataReader does (bare LF ->
/// CRLF, CRs before a line end dropped, stray CRs -> space), across chunk boundaries (a CR
/// ending one chunk and a LF starting the next are a CRLF). Reject also stops emitting at
/// the first bare LF.
class BdatNormalizer {
 public:
  explicit BdatNormalizer(BareNewlineMode mode = BareNewlineMode::No) : mode_(mode) {}
  /// Appends the normalized form of `chunk` to `out`.
  void feed(std::string_view chunk, std::string& out);
  /// End of the message (BDAT LAST): CRs still pending are stray, emitted as spaces.
  void finish(std::string& out);
  bool saw_bare_lf() const { return saw_bare_lf_; }

 private:
  BareNewlineMode mode_;
  uint32_t pending_cr_ = 0;
  bool saw_bare_lf_ = false;
  bool discard_ = false;
};

}  // namespace estafeta::smtp
