// encode_8bit_headers: see header_encoder.h.
#include "smtp/header_encoder.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <vector>

#include "base/ascii.h"
#include "smtp/mime_downgrade.h"

namespace estafeta::smtp {
namespace {

constexpr size_t kMaxLine = 76;  // RFC 2047 §2: lines with encoded-words
constexpr size_t kMaxWord = 75;  // RFC 2047 §2: one encoded-word
// An encoded-word that would have room for fewer payload characters than this goes to
// the next line instead (when there is whitespace to fold at).
constexpr size_t kMinPayload = 16;

bool is_8bit(char c) { return static_cast<unsigned char>(c) > 127; }
bool has_8bit(std::string_view s) { return std::any_of(s.begin(), s.end(), is_8bit); }
bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// ---------------------------------------------------------------------------------------
// Encoded-words.

enum class Context {
  kText,    // unstructured text (§5(1)): any printable but "=?_" literal
  kPhrase,  // a phrase or a comment (§5(2), §5(3)): letters, digits and "!*+-/" literal
};

// Length of the well-formed UTF-8 sequence at `i` (1 for ASCII), 0 when it is not one.
size_t utf8_sequence(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = at(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the second octet's range
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // at most U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size() || at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  }
  return n;
}

bool well_formed_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool q_literal(unsigned char c, Context ctx) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  if (ctx == Context::kPhrase) return c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
  return c > 32 && c < 127 && c != '=' && c != '?' && c != '_';
}

size_t q_size(std::string_view bytes, Context ctx) {
  size_t n = 0;
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    n += (c == ' ' || q_literal(c, ctx)) ? 1 : 3;
  }
  return n;
}

void q_append(std::string_view bytes, Context ctx, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ' ') {
      out += '_';
    } else if (q_literal(c, ctx)) {
      out += static_cast<char>(c);
    } else {
      out += '=';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

size_t b_size(size_t octets) { return (octets + 2) / 3 * 4; }

void b_append(std::string_view bytes, std::string& out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
  }
}

// Cuts a text into encoded-words of the sizes asked for, never inside a UTF-8 sequence.
class WordEncoder {
 public:
  WordEncoder(std::string_view text, Context ctx) : text_(text), ctx_(ctx) {
    utf8_ = well_formed_utf8(text);
    q_ = q_size(text, ctx) <= b_size(text.size());
    prefix_ = std::string("=?") + (utf8_ ? "utf-8" : "unknown-8bit") + (q_ ? "?Q?" : "?B?");
  }

  bool done() const { return pos_ >= text_.size(); }
  // The smallest word worth starting on a line that is already partly used.
  size_t comfortable() const { return std::min(kMaxWord, prefix_.size() + 2 + kMinPayload); }

  // The next encoded-word, at most `limit` characters when one character fits in that.
  std::string next(size_t limit) {
    const size_t room = limit > prefix_.size() + 2 ? limit - prefix_.size() - 2 : 0;
    size_t end = pos_;
    size_t used = 0;
    while (end < text_.size()) {
      size_t n = utf8_ ? utf8_sequence(text_, end) : 1;
      if (n == 0) n = 1;  // cannot happen when utf8_
      const size_t size = q_ ? used + q_size(text_.substr(end, n), ctx_) : b_size(end + n - pos_);
      if (size > room && end > pos_) break;
      used = size;
      end += n;
    }
    std::string word = prefix_;
    const std::string_view chunk = text_.substr(pos_, end - pos_);
    if (q_) {
      q_append(chunk, ctx_, word);
    } else {
      b_append(chunk, word);
    }
    word += "?=";
    pos_ = end;
    return word;
  }

 private:
  std::string_view text_;
  Context ctx_;
  bool utf8_ = true;
  bool q_ = true;
  std::string prefix_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------
// A field as pieces laid out on folded lines.

struct Piece {
  std::string ws;    // the whitespace before it (a fold may go there), or ""
  std::string text;  // plain text, or the text to encode
  bool encode = false;
  Context ctx = Context::kText;
};

class Folder {
 public:
  Folder(std::string_view head, std::string_view eol)
      : out_(head), column_(head.size()), eol_(eol) {}

  void add(const Piece& p) {
    if (p.encode) {
      encoded(p);
    } else {
      plain(p.ws, p.text);
    }
  }

  std::string finish() && {
    out_ += eol_;
    return std::move(out_);
  }

 private:
  void plain(std::string_view ws, std::string_view text) {
    if (!ws.empty() && used_ && column_ + ws.size() + text.size() > kMaxLine) fold();
    out_ += ws;
    out_ += text;
    column_ += ws.size() + text.size();
    used_ = true;
  }

  void encoded(const Piece& p) {
    WordEncoder words(p.text, p.ctx);
    bool first = true;
    while (!words.done()) {
      const std::string_view sep = first ? std::string_view(p.ws) : std::string_view(" ");
      size_t room = kMaxLine - std::min(kMaxLine, column_ + sep.size());
      if (!sep.empty() && used_ && room < words.comfortable()) {
        fold();
        room = kMaxLine - std::min(kMaxLine, sep.size());
      }
      const std::string word = words.next(std::min(room, kMaxWord));
      out_ += sep;
      out_ += word;
      column_ += sep.size() + word.size();
      used_ = true;
      first = false;
    }
  }

  // The line ends here; the whitespace that follows starts the next one.
  void fold() {
    out_ += eol_;
    column_ = 0;
  }

  std::string out_;
  size_t column_;
  bool used_ = false;  // something follows "Name:": a fold leaves no empty first line
  std::string_view eol_;
};

// ---------------------------------------------------------------------------------------
// Field classes.

enum class FieldClass { kAddress, kStructured, kText };

FieldClass classify(std::string_view name) {
  static constexpr std::string_view kAddress[] = {"from",
                                                  "sender",
                                                  "reply-to",
                                                  "to",
                                                  "cc",
                                                  "bcc",
                                                  "resent-from",
                                                  "resent-sender",
                                                  "resent-to",
                                                  "resent-cc",
                                                  "resent-bcc",
                                                  "resent-reply-to",
                                                  "list-id",
                                                  "errors-to",
                                                  "mail-followup-to",
                                                  "mail-reply-to",
                                                  "delivered-to",
                                                  "return-receipt-to",
                                                  "disposition-notification-to"};
  static constexpr std::string_view kStructured[] = {"received",
                                                     "return-path",
                                                     "message-id",
                                                     "resent-message-id",
                                                     "in-reply-to",
                                                     "references",
                                                     "date",
                                                     "resent-date",
                                                     "mime-version",
                                                     "content-type",
                                                     "content-transfer-encoding",
                                                     "content-id",
                                                     "content-disposition",
                                                     "content-language",
                                                     "content-location",
                                                     "content-md5",
                                                     "dkim-signature",
                                                     "domainkey-signature",
                                                     "arc-seal",
                                                     "arc-message-signature",
                                                     "arc-authentication-results",
                                                     "authentication-results",
                                                     "received-spf",
                                                     "original-recipient",
                                                     "list-unsubscribe",
                                                     "list-unsubscribe-post",
                                                     "list-post",
                                                     "list-help",
                                                     "list-subscribe",
                                                     "list-owner",
                                                     "list-archive"};
  const std::string lower = ascii::lower(name);
  if (std::find(std::begin(kAddress), std::end(kAddress), lower) != std::end(kAddress)) {
    return FieldClass::kAddress;
  }
  if (std::find(std::begin(kStructured), std::end(kStructured), lower) != std::end(kStructured)) {
    return FieldClass::kStructured;
  }
  return FieldClass::kText;
}

// RFC 5322 unfolding: a line end before whitespace goes; any other CR or LF (a line end
// not followed by whitespace, the field's last line end) would break the field's structure
// when written back, so becomes a space, trailing whitespace is dropped.
std::string unfold(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
    if (c == '\n' && i + 1 < value.size() && is_wsp(value[i + 1])) continue;
    out += (c == '\r' || c == '\n') ? ' ' : c;
  }
  while (!out.empty() && is_wsp(out.back())) out.pop_back();
  return out;
}

// Unstructured text: the words before the first 8-bit word and after the last one stay.
std::vector<Piece> text_pieces(std::string_view v) {
  struct Word {
    std::string_view ws, text;
  };
  std::vector<Word> words;
  for (size_t i = 0; i < v.size();) {
    const size_t start = i;
    while (i < v.size() && is_wsp(v[i])) ++i;
    const size_t word = i;
    while (i < v.size() && !is_wsp(v[i])) ++i;
    words.push_back({v.substr(start, word - start), v.substr(word, i - word)});
  }
  size_t first = words.size(), last = 0;
  for (size_t i = 0; i < words.size(); ++i) {
    if (has_8bit(words[i].text)) {
      first = std::min(first, i);
      last = i;
    }
  }
  std::vector<Piece> pieces;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i < first || i > last) {
      pieces.push_back({std::string(words[i].ws), std::string(words[i].text)});
      continue;
    }
    if (i == first) {
      Piece p{words[i].ws.empty() ? " " : std::string(words[i].ws), "", true, Context::kText};
      pieces.push_back(std::move(p));
    } else {
      pieces.back().text += words[i].ws;
    }
    pieces.back().text += words[i].text;
  }
  return pieces;
}

enum class Tok { kWsp, kComment, kQuoted, kAtom, kSpecial };

struct Token {
  Tok kind;
  std::string_view text;
};

constexpr std::string_view kSpecials = "<>@,;:.[]\\";

// RFC 5322 lexical tokens; an unterminated comment or quoted string runs to the end.
std::vector<Token> tokenize(std::string_view v) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < v.size()) {
    const size_t start = i;
    const char c = v[i];
    Tok kind = Tok::kAtom;
    if (is_wsp(c)) {
      kind = Tok::kWsp;
      while (i < v.size() && is_wsp(v[i])) ++i;
    } else if (c == '(') {
      kind = Tok::kComment;
      int depth = 0;
      while (i < v.size()) {
        if (v[i] == '\\' && i + 1 < v.size()) {
          i += 2;
          continue;
        }
        if (v[i] == '(') ++depth;
        if (v[i] == ')') --depth;
        ++i;
        if (depth == 0) break;
      }
    } else if (c == '"') {
      kind = Tok::kQuoted;
      for (++i; i < v.size() && v[i] != '"'; ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
      }
      if (i < v.size()) ++i;
    } else if (kSpecials.find(c) != std::string_view::npos || c == ')') {
      kind = Tok::kSpecial;
      ++i;
    } else {
      while (i < v.size() && !is_wsp(v[i]) && v[i] != '(' && v[i] != ')' && v[i] != '"' &&
             kSpecials.find(v[i]) == std::string_view::npos) {
        ++i;
      }
    }
    out.push_back({kind, v.substr(start, i - start)});
  }
  return out;
}

// The text a quoted string or a comment stands for: delimiters off, quoted-pairs undone.
std::string inner_text(std::string_view quoted, char close) {
  const std::string_view s = quoted.substr(1);
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      out += s[++i];
    } else if (i + 1 == s.size() && s[i] == close) {
      break;  // the closing delimiter
    } else {
      out += s[i];
    }
  }
  return out;
}

// Address fields: display names and comments with 8-bit octets are encoded, the rest kept.
std::vector<Piece> address_pieces(std::string_view v) {
  const std::vector<Token> tokens = tokenize(v);
  // Which tokens belong to a display-name phrase or a group name.
  std::vector<bool> phrase(tokens.size(), false);
  std::vector<bool> in_angle(tokens.size(), false);
  size_t segment = 0;
  bool angle = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (angle) {
      in_angle[i] = true;
      if (t.kind == Tok::kSpecial && t.text == ">") {
        angle = false;
        segment = i + 1;
      }
      continue;
    }
    if (t.kind != Tok::kSpecial) continue;
    const bool has_at = std::any_of(
        tokens.begin() + static_cast<long>(segment), tokens.begin() + static_cast<long>(i),
        [](const Token& k) { return k.kind == Tok::kSpecial && k.text == "@"; });
    if (t.text == "<" || (t.text == ":" && !has_at)) {
      for (size_t k = segment; k < i; ++k) phrase[k] = tokens[k].kind != Tok::kComment;
      if (t.text == "<") {
        angle = true;
        in_angle[i] = true;
      }
      segment = i + 1;
    } else if (t.text == "," || t.text == ";" || t.text == ":") {
      segment = i + 1;
    }
  }

  std::vector<Piece> pieces;
  std::string ws;           // whitespace waiting for the next piece
  bool need_space = false;  // an encoded-word was the last piece: keep it apart
  auto plain = [&](std::string_view text) {
    pieces.push_back({ws.empty() && need_space ? " " : ws, std::string(text)});
    ws.clear();
    need_space = false;
  };
  for (size_t i = 0; i < tokens.size();) {
    const Token& t = tokens[i];
    if (t.kind == Tok::kWsp) {
      ws += t.text;
      ++i;
      continue;
    }
    if (phrase[i]) {
      // The run of phrase tokens up to the next comment or the end of the phrase.
      size_t end = i;
      while (end < tokens.size() && phrase[end]) ++end;
      while (end > i && tokens[end - 1].kind == Tok::kWsp) --end;
      bool eight_bit = false;
      for (size_t k = i; k < end; ++k) eight_bit = eight_bit || has_8bit(tokens[k].text);
      if (!eight_bit) {
        for (; i < end; ++i) {
          if (tokens[i].kind == Tok::kWsp) {
            ws += tokens[i].text;
          } else {
            plain(tokens[i].text);
          }
        }
        continue;
      }
      std::string text;
      for (; i < end; ++i) {
        text += tokens[i].kind == Tok::kQuoted ? inner_text(tokens[i].text, '"')
                                               : std::string(tokens[i].text);
      }
      pieces.push_back({ws.empty() ? " " : ws, std::move(text), true, Context::kPhrase});
      ws.clear();
      need_space = true;
      continue;
    }
    if (t.kind == Tok::kComment && !in_angle[i] && has_8bit(t.text)) {
      plain("(");
      pieces.push_back({"", inner_text(t.text, ')'), true, Context::kPhrase});
      pieces.push_back({"", ")"});
      ++i;
      continue;
    }
    plain(t.text);
    ++i;
  }
  return pieces;
}

// "Name:" with a name of printable ASCII other than ':' (obsolete space before ':' allowed).
std::optional<std::string_view> field_name(std::string_view line) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  if (name.empty()) return std::nullopt;
  for (char c : name) {
    if (c < 33 || c > 126) return std::nullopt;
  }
  return name;
}

}  // namespace

std::string encode_header_field(std::string_view field, std::string_view eol) {
  const std::optional<std::string_view> name = field_name(field);
  if (!name || !has_8bit(field)) return std::string(field);
  const FieldClass kind = classify(*name);
  if (kind == FieldClass::kStructured) return std::string(field);
  const size_t colon = field.find(':');
  const std::string value = unfold(field.substr(colon + 1));
  Folder folder(field.substr(0, colon + 1), eol);
  for (const Piece& p : kind == FieldClass::kAddress ? address_pieces(value) : text_pieces(value)) {
    folder.add(p);
  }
  return std::move(folder).finish();
}

std::string decode_header_value(std::string_view field) {
  const size_t colon = field.find(':');
  const std::string value =
      unfold(colon == std::string_view::npos ? field : field.substr(colon + 1));
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  auto b64 = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  // The encoded-word at `i` ("=?charset?X?payload?="): its octets and its end.
  auto word_at = [&](size_t i, size_t& end) -> std::optional<std::string> {
    if (value.compare(i, 2, "=?") != 0) return std::nullopt;
    const size_t q1 = value.find('?', i + 2);
    if (q1 == std::string::npos || q1 == i + 2 || q1 + 2 >= value.size() || value[q1 + 2] != '?') {
      return std::nullopt;
    }
    const char encoding = static_cast<char>(value[q1 + 1] | 0x20);
    const size_t stop = value.find("?=", q1 + 3);
    if (stop == std::string::npos || (encoding != 'q' && encoding != 'b')) return std::nullopt;
    const std::string_view payload = std::string_view(value).substr(q1 + 3, stop - q1 - 3);
    std::string out;
    if (encoding == 'q') {
      for (size_t k = 0; k < payload.size(); ++k) {
        const char c = payload[k];
        if (is_wsp(c) || c == '?') return std::nullopt;
        if (c == '_') {
          out += ' ';
        } else if (c == '=') {
          if (k + 2 >= payload.size()) return std::nullopt;
          const int hi = hex(payload[k + 1]), lo = hex(payload[k + 2]);
          if (hi < 0 || lo < 0) return std::nullopt;
          out += static_cast<char>(hi * 16 + lo);
          k += 2;
        } else {
          out += c;
        }
      }
    } else {
      if (payload.size() % 4 != 0) return std::nullopt;
      for (size_t k = 0; k < payload.size(); k += 4) {
        uint32_t v = 0;
        int pad = 0;
        for (size_t j = 0; j < 4; ++j) {
          const char c = payload[k + j];
          const int d = c == '=' ? (++pad, 0) : b64(c);
          if (d < 0 || (c != '=' && pad > 0)) return std::nullopt;
          v = v << 6 | static_cast<uint32_t>(d);
        }
        if (pad > 2 || (pad > 0 && k + 4 != payload.size())) return std::nullopt;
        out += static_cast<char>(v >> 16);
        if (pad < 2) out += static_cast<char>((v >> 8) & 255);
        if (pad < 1) out += static_cast<char>(v & 255);
      }
    }
    end = stop + 2;
    return out;
  };
  std::string out;
  for (size_t i = 0; i < value.size();) {
    size_t end = 0;
    if (auto decoded = word_at(i, end)) {
      out += *decoded;
      i = end;
      if (i < value.size() && is_wsp(value[i])) {
        size_t j = i;
        while (j < value.size() && is_wsp(value[j])) ++j;
        size_t next_end = 0;
        if (word_at(j, next_end)) {
          i = j;  // between two encoded-words: dropped
          continue;
        }
      }
      continue;
    }
    out += value[i++];
  }
  return out;
}

HeaderEncoding encode_8bit_headers(std::string_view message) {
  const std::string_view eol = first_line_end(message);
  HeaderEncoding result;
  std::string out;
  // The header section: fields and their continuation lines, up to an empty line or the
  // first line that is neither.
  size_t pos = 0;
  size_t field = std::string_view::npos;  // start of the field being read
  auto flush = [&](size_t end) {
    if (field == std::string_view::npos) return;
    const std::string_view raw = message.substr(field, end - field);
    if (has_8bit(raw)) {
      std::string encoded = encode_header_field(raw, eol);
      if (encoded != raw) ++result.fields_encoded;
      out += encoded;
    } else {
      out += raw;
    }
    field = std::string_view::npos;
  };
  while (pos < message.size()) {
    const size_t nl = message.find('\n', pos);
    const size_t next = nl == std::string_view::npos ? message.size() : nl + 1;
    std::string_view line = message.substr(pos, next - pos);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.empty()) break;
    if (is_wsp(line.front()) && field != std::string_view::npos) {
      pos = next;
      continue;
    }
    flush(pos);
    if (!field_name(line)) break;
    field = pos;
    pos = next;
  }
  flush(pos);
  const size_t header_end = out.size();
  if (result.fields_encoded == 0) {
    result.content = std::string(message);
    result.seven_bit = !has_8bit(message.substr(0, pos));
    return result;
  }
  out += message.substr(pos);
  result.seven_bit = !has_8bit(std::string_view(out).substr(0, header_end));
  result.changed = true;
  result.content = std::move(out);
  return result;
}

}  // namespace estafeta::smtp
