// $-expansion; see expand.h. Recursion is bounded by ExpandLimits::max_depth on both
// parameter references and nested ${x?...} text, so hostile input cannot exhaust the stack.
#include "config/expand.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "base/ascii.h"

namespace estafeta::config {
namespace {

bool is_name_char(char c) { return ascii::is_alpha(c) || ascii::is_digit(c) || c == '_'; }

/// Index of the bracket closing the one at text[open], counting nesting of the same kind;
/// npos when unbalanced.
size_t find_matching(std::string_view text, size_t open) {
  char o = text[open];
  char c = (o == '{') ? '}' : ')';
  int level = 0;
  for (size_t i = open; i < text.size(); ++i) {
    if (text[i] == o) {
      ++level;
    } else if (text[i] == c && --level == 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

size_t name_length(std::string_view text) {
  size_t n = 0;
  while (n < text.size() && is_name_char(text[n])) {
    ++n;
  }
  return n;
}

}  // namespace

Expander::Expander(RawLookup lookup, ExpandLimits limits)
    : lookup_(std::move(lookup)), limits_(limits) {}

Result<std::string> Expander::expand_parameter(std::string_view name) {
  return expand_name(name, 0);
}

Result<std::string> Expander::expand_text(std::string_view text) { return expand_at(text, 0); }

Result<std::string> Expander::expand_name(std::string_view name, int depth) {
  if (auto it = cache_.find(name); it != cache_.end()) {
    return it->second;
  }
  if (auto it = std::find(stack_.begin(), stack_.end(), name); it != stack_.end()) {
    std::string chain;
    for (; it != stack_.end(); ++it) {
      chain += *it + " -> ";
    }
    chain += name;
    return make_error(fmt::format("parameter expansion loop: {}", chain));
  }
  if (depth > limits_.max_depth) {
    return make_error(fmt::format("parameter expansion of {} nested deeper than {} levels", name,
                                  limits_.max_depth));
  }
  std::optional<std::string> raw = lookup_(name);
  if (!raw) {
    return std::string();  // Postfix: an undefined $name expands to nothing
  }
  stack_.emplace_back(name);
  Result<std::string> value = expand_at(*raw, depth);
  stack_.pop_back();
  if (!value.ok()) {
    return value;
  }
  cache_.emplace(std::string(name), value.value());
  return value;
}

Result<std::string> Expander::expand_at(std::string_view text, int depth) {
  if (depth > limits_.max_depth) {
    return make_error(
        fmt::format("parameter expansion nested deeper than {} levels", limits_.max_depth));
  }
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t dollar = text.find('$', i);
    if (dollar == std::string_view::npos) {
      out.append(text.substr(i));
      i = text.size();
    } else {
      out.append(text.substr(i, dollar - i));
      i = dollar + 1;
      char c = i < text.size() ? text[i] : '\0';
      if (c == '$') {
        out += '$';
        ++i;
      } else if (c == '{' || c == '(') {
        size_t end = find_matching(text, i);
        if (end == std::string_view::npos) {
          return make_error(
              fmt::format("missing '{}' in \"{}\"", c == '{' ? '}' : ')', text.substr(dollar)));
        }
        std::string_view inner = text.substr(i + 1, end - i - 1);
        i = end + 1;
        size_t n = name_length(inner);
        std::string_view name = inner.substr(0, n);
        std::string_view rest = inner.substr(n);
        if (name.empty() || (!rest.empty() && rest[0] != '?' && rest[0] != ':')) {
          return make_error(
              fmt::format("bad parameter reference \"${}{}{}\"", c, inner, c == '{' ? '}' : ')'));
        }
        Result<std::string> value = expand_name(name, depth + 1);
        if (!value.ok()) {
          return value;
        }
        if (rest.empty()) {
          out += value.value();
        } else if ((rest[0] == '?') == !value.value().empty()) {
          Result<std::string> alt = expand_at(rest.substr(1), depth + 1);
          if (!alt.ok()) {
            return alt;
          }
          out += alt.value();
        }
      } else if (is_name_char(c)) {
        size_t n = name_length(text.substr(i));
        Result<std::string> value = expand_name(text.substr(i, n), depth + 1);
        if (!value.ok()) {
          return value;
        }
        out += value.value();
        i += n;
      } else {
        out += '$';  // a lone '$' stays literal
      }
    }
    if (out.size() > limits_.max_length) {
      return make_error(
          fmt::format("parameter expansion longer than {} bytes", limits_.max_length));
    }
  }
  return out;
}

std::vector<std::string> referenced_names(std::string_view text) {
  std::vector<std::string> names;
  // Iterative over an explicit work list so nesting depth cannot exhaust the stack.
  std::vector<std::string_view> work{text};
  while (!work.empty()) {
    std::string_view t = work.back();
    work.pop_back();
    size_t i = 0;
    while ((i = t.find('$', i)) != std::string_view::npos) {
      ++i;
      if (i >= t.size()) {
        break;
      }
      char c = t[i];
      if (c == '$') {
        ++i;
      } else if (c == '{' || c == '(') {
        size_t end = find_matching(t, i);
        if (end == std::string_view::npos) {
          break;
        }
        std::string_view inner = t.substr(i + 1, end - i - 1);
        size_t n = name_length(inner);
        if (n > 0) {
          names.emplace_back(inner.substr(0, n));
          if (n < inner.size() && (inner[n] == '?' || inner[n] == ':')) {
            work.push_back(inner.substr(n + 1));
          }
        }
        i = end + 1;
      } else {
        size_t n = name_length(t.substr(i));
        if (n > 0) {
          names.emplace_back(t.substr(i, n));
        }
        i += n;
      }
    }
  }
  return names;
}

}  // namespace estafeta::config
