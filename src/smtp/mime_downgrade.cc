// downgrade_mime: see mime_downgrade.h.
#include "smtp/mime_downgrade.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "base/ascii.h"

namespace estafeta::smtp {
namespace {

constexpr int kNestingLimit = 100;  // Postfix's mime_nesting_limit default
constexpr size_t kMaxEncodedLine = 76;

struct Line {
  std::string_view content;  // without the line end
  std::string_view eol;      // "\r\n", "\n" or "" (the last line, unterminated)
  size_t next;               // offset after the line
};

Line line_at(std::string_view s, size_t pos) {
  const size_t lf = s.find('\n', pos);
  if (lf == std::string_view::npos) return {s.substr(pos), {}, s.size()};
  size_t end = lf;
  if (end > pos && s[end - 1] == '\r') --end;
  return {s.substr(pos, end - pos), s.substr(end, lf + 1 - end), lf + 1};
}

bool has_8bit(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) > 127; });
}

struct Field {
  size_t begin;  // offsets of the field's raw lines in the entity
  size_t end;
  std::string name;   // lower case
  std::string value;  // unfolded
};

struct Headers {
  std::vector<Field> fields;  // contiguous from offset 0
  size_t header_end = 0;      // after the last field (where new fields go)
  size_t body = 0;            // after the empty line, if any

  const Field* find(std::string_view name) const {
    for (const Field& f : fields) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
};

// "Name:" with a name of printable ASCII other than ':' (obsolete space before ':' allowed).
std::optional<std::string> field_name(std::string_view line) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  if (name.empty()) return std::nullopt;
  for (char c : name) {
    if (c < 33 || c > 126) return std::nullopt;
  }
  return ascii::lower(name);
}

// The header block ends at an empty line (which belongs to it) or at the first line that is
// neither a field nor a continuation (the body starts there).
Headers parse_headers(std::string_view e) {
  Headers h;
  size_t pos = 0;
  while (pos < e.size()) {
    const Line line = line_at(e, pos);
    if (line.content.empty()) {
      h.header_end = pos;
      h.body = line.next;
      return h;
    }
    const char first = line.content.front();
    if ((first == ' ' || first == '\t') && !h.fields.empty()) {
      h.fields.back().end = line.next;
      h.fields.back().value += line.content;
    } else if (auto name = field_name(line.content)) {
      const size_t colon = line.content.find(':');
      h.fields.push_back(
          {pos, line.next, std::move(*name), std::string(line.content.substr(colon + 1))});
    } else {
      break;
    }
    pos = line.next;
  }
  h.header_end = h.body = pos;
  return h;
}

struct ContentType {
  std::string type;  // lower case; "" when absent
  std::string subtype;
  std::string boundary;
};

// RFC 2045 §5.1: type "/" subtype *(";" parameter); only the boundary parameter is kept.
ContentType parse_content_type(std::string_view v) {
  ContentType ct;
  v = ascii::trim(v);
  size_t i = 0;
  auto token = [&](std::string_view stop) {
    const size_t start = i;
    while (i < v.size() && stop.find(v[i]) == std::string_view::npos) ++i;
    return ascii::lower(ascii::trim(v.substr(start, i - start)));
  };
  ct.type = token("/;");
  if (i < v.size() && v[i] == '/') {
    ++i;
    ct.subtype = token("; \t(");
  }
  while (i < v.size()) {
    i = v.find(';', i);
    if (i == std::string_view::npos) break;
    ++i;
    const std::string name = token("=;");
    if (i >= v.size() || v[i] != '=') continue;
    ++i;
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
    std::string value;
    if (i < v.size() && v[i] == '"') {
      for (++i; i < v.size() && v[i] != '"'; ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        value += v[i];
      }
      if (i < v.size()) ++i;  // the closing quote
    } else {
      const size_t start = i;
      while (i < v.size() && v[i] != ';' && v[i] != ' ' && v[i] != '\t') ++i;
      value = std::string(v.substr(start, i - start));
    }
    if (name == "boundary" && ct.boundary.empty()) ct.boundary = std::move(value);
  }
  return ct;
}

std::string transfer_encoding(const Headers& h) {
  const Field* f = h.find("content-transfer-encoding");
  if (f == nullptr) return "";
  std::string_view v = ascii::trim(f->value);
  const size_t end = v.find_first_of(" \t;(");
  return ascii::lower(v.substr(0, end));
}

// "--boundary" or "--boundary--", then only transport padding (RFC 2046 §5.1.1).
bool is_delimiter(std::string_view line, std::string_view boundary, bool& close) {
  if (line.size() < boundary.size() + 2 || !line.starts_with("--") ||
      line.substr(2, boundary.size()) != boundary) {
    return false;
  }
  std::string_view rest = line.substr(2 + boundary.size());
  close = rest.starts_with("--");
  if (close) rest.remove_prefix(2);
  return rest.find_first_not_of(" \t") == std::string_view::npos;
}

void encode_line(std::string_view line, std::string_view eol, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  size_t column = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    bool escape = c == '=' || c > 126 || (c < 32 && c != '\t');
    if ((c == ' ' || c == '\t') && i + 1 == line.size()) escape = true;  // trailing space
    size_t width = escape ? 3 : 1;
    if (column + width > kMaxEncodedLine - 1) {  // room for the soft break's "="
      out += '=';
      out += eol;
      column = 0;
    }
    if (column == 0 && i > 0 && c == '-') {  // a continuation never looks like a boundary
      escape = true;
      width = 3;
    }
    if (escape) {
      out += '=';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
    column += width;
  }
}

class Converter {
 public:
  explicit Converter(std::string_view eol) : eol_(eol) {}

  // One entity (a message or a body part): headers, then a body.
  void entity(std::string_view e, bool digest_part, bool is_message, int depth) {
    if (depth > kNestingLimit) {
      out += e;
      return;
    }
    const Headers h = parse_headers(e);
    ContentType ct;
    if (const Field* f = h.find("content-type")) {
      ct = parse_content_type(f->value);
    } else if (digest_part) {
      ct = {"message", "rfc822", ""};
    }
    const std::string cte = transfer_encoding(h);
    const std::string_view body = e.substr(h.body);
    const bool identity = cte.empty() || cte == "7bit" || cte == "8bit" || cte == "binary";
    const bool multipart = ct.type == "multipart" && !ct.boundary.empty() && identity;
    const bool message = ct.type == "message" && ct.subtype == "rfc822" && identity;
    if (multipart || message) {
      // The body becomes 7-bit (but for headers of its parts): relabel "8bit".
      const bool relabel = cte == "8bit" && has_8bit(body);
      copy_headers(e, h, relabel ? std::optional<std::string_view>("7bit") : std::nullopt, false);
      if (multipart) {
        parts(body, ct.boundary, ct.subtype == "digest", depth);
      } else {
        entity(body, false, true, depth + 1);
      }
      return;
    }
    if (cte == "binary" || !identity || !has_8bit(body)) {
      out += e;
      return;
    }
    copy_headers(e, h, "quoted-printable", is_message);
    out += encode_quoted_printable(body, eol_);
    changed = true;
    ++parts_encoded;
  }

  std::string out;
  bool changed = false;
  size_t parts_encoded = 0;

 private:
  // The header block with the first Content-Transfer-Encoding set to `cte` (added when
  // absent, other ones dropped), and MIME-Version added when `mime_version` and absent.
  void copy_headers(std::string_view e, const Headers& h, std::optional<std::string_view> cte,
                    bool mime_version) {
    bool cte_done = false;
    for (const Field& f : h.fields) {
      if (!cte || f.name != "content-transfer-encoding") {
        out += e.substr(f.begin, f.end - f.begin);
      } else if (!cte_done) {
        new_field("Content-Transfer-Encoding", *cte);
        cte_done = true;
      }
    }
    if (cte && !cte_done) new_field("Content-Transfer-Encoding", *cte);
    if (mime_version && h.find("mime-version") == nullptr) new_field("MIME-Version", "1.0");
    out += e.substr(h.header_end, h.body - h.header_end);  // the empty line
  }

  void new_field(std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += eol_;
  }

  // Text outside the parts (preamble, epilogue): escaped only when it has 8-bit octets.
  void outside_text(std::string_view text) {
    if (!has_8bit(text)) {
      out += text;
      return;
    }
    out += encode_quoted_printable(text, eol_);
    changed = true;
  }

  // A multipart body. The line end before a delimiter belongs to the delimiter (RFC 2046
  // §5.1.1); it is left with the part here, which encodes it the same way.
  void parts(std::string_view body, std::string_view boundary, bool digest, int depth) {
    enum class Where { Preamble, Part, Epilogue } where = Where::Preamble;
    size_t start = 0;
    size_t pos = 0;
    while (pos < body.size() && where != Where::Epilogue) {
      const Line line = line_at(body, pos);
      bool close = false;
      if (is_delimiter(line.content, boundary, close)) {
        if (where == Where::Preamble) {
          outside_text(body.substr(0, pos));
        } else {
          entity(body.substr(start, pos - start), digest, false, depth + 1);
        }
        out += body.substr(pos, line.next - pos);
        where = close ? Where::Epilogue : Where::Part;
        start = line.next;
      }
      pos = line.next;
    }
    if (where == Where::Part) {
      entity(body.substr(start), digest, false, depth + 1);  // no close delimiter
    } else {
      outside_text(body.substr(start));
    }
  }

  std::string_view eol_;
};

}  // namespace

std::string encode_quoted_printable(std::string_view text, std::string_view eol) {
  std::string out;
  out.reserve(text.size() + text.size() / 8 + 16);
  size_t pos = 0;
  while (pos < text.size()) {
    const Line line = line_at(text, pos);
    encode_line(line.content, eol, out);
    out += line.eol;
    pos = line.next;
  }
  return out;
}

std::string_view first_line_end(std::string_view message) {
  const size_t lf = message.find('\n');
  return lf != std::string_view::npos && lf > 0 && message[lf - 1] == '\r'
             ? std::string_view("\r\n")
             : std::string_view("\n");
}

MimeDowngrade downgrade_mime(std::string_view message) {
  const std::string_view eol = first_line_end(message);
  Converter c(eol);
  c.out.reserve(message.size() + message.size() / 4);
  c.entity(message, false, true, 0);
  MimeDowngrade result;
  result.changed = c.changed;
  result.parts_encoded = c.parts_encoded;
  if (c.changed) {
    result.content = std::move(c.out);
  } else {
    result.content = std::string(message);
  }
  return result;
}

}  // namespace estafeta::smtp
