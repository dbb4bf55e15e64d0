// Reply template expansion; see rbl_reply.h.
#include "policy/rbl_reply.h"

#include <fmt/format.h>

#include "base/ascii.h"

namespace estafeta::policy {
namespace {

bool is_name_char(char c) { return ascii::is_alpha(c) || ascii::is_digit(c) || c == '_'; }

std::string filtered(std::string_view value) {
  std::string out(value);
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (!(u == '\t' || (u >= 0x20 && u < 0x7f))) c = '_';
  }
  return out;
}

Result<std::string> expand(std::string_view text, const TemplateLookup& lookup, int depth) {
  if (depth > 10) return make_error("reply template nested too deeply");
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c != '$') {
      out += c;
      ++i;
      continue;
    }
    ++i;
    if (i < text.size() && text[i] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (i < text.size() && text[i] == '{') {
      // ${name}, ${name?text}, ${name:text}: find the matching '}'.
      size_t start = ++i;
      int level = 1;
      size_t end = start;
      while (end < text.size() && level > 0) {
        if (text[end] == '{') ++level;
        if (text[end] == '}') --level;
        if (level > 0) ++end;
      }
      if (level != 0) return make_error(fmt::format("unbalanced '{{' in \"{}\"", text));
      std::string_view inside = text.substr(start, end - start);
      i = end + 1;
      size_t n = 0;
      while (n < inside.size() && is_name_char(inside[n])) ++n;
      std::string_view name = inside.substr(0, n);
      if (name.empty()) return make_error(fmt::format("empty name in \"{}\"", text));
      auto value = lookup(name);
      if (!value) return make_error(fmt::format("unknown attribute \"{}\"", name));
      if (n == inside.size()) {
        out += filtered(*value);
      } else if (inside[n] == '?' || inside[n] == ':') {
        bool want = inside[n] == '?' ? !value->empty() : value->empty();
        if (want) {
          auto sub = expand(inside.substr(n + 1), lookup, depth + 1);
          if (!sub.ok()) return sub;
          out += *sub;
        }
      } else {
        return make_error(fmt::format("bad ${{...}} in \"{}\"", text));
      }
      continue;
    }
    size_t n = i;
    while (n < text.size() && is_name_char(text[n])) ++n;
    std::string_view name = text.substr(i, n - i);
    if (name.empty()) return make_error(fmt::format("'$' without a name in \"{}\"", text));
    auto value = lookup(name);
    if (!value) return make_error(fmt::format("unknown attribute \"{}\"", name));
    out += filtered(*value);
    i = n;
  }
  return out;
}

}  // namespace

Result<std::string> expand_reply_template(std::string_view text, const TemplateLookup& lookup) {
  return expand(text, lookup, 0);
}

}  // namespace estafeta::policy
