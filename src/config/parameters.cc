// The parameter registry (from parameters.def), value validation and the generated
// parameter documentation; see parameters.h.
#include "config/parameters.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "base/ascii.h"

namespace estafeta::config {
namespace {

constexpr ParamSpec kParameters[] = {
#define ESTAFETA_PARAMETER(name, type, def, min, max, choices, computed, doc, differs) \
  ParamSpec{#name, ParamType::type, def, min, max, choices, computed, doc, differs, true},
#define ESTAFETA_PARAMETER_NOT_IMPLEMENTED(name, type, def, min, max, choices, computed, doc, \
                                           differs)                                           \
  ParamSpec{#name, ParamType::type, def, min, max, choices, computed, doc, differs, false},
#include "config/parameters.def"
#undef ESTAFETA_PARAMETER
#undef ESTAFETA_PARAMETER_NOT_IMPLEMENTED
};

constexpr bool sorted_and_unique() {
  for (size_t i = 1; i < std::size(kParameters); ++i) {
    if (!(kParameters[i - 1].name < kParameters[i].name)) {
      return false;
    }
  }
  return true;
}
// find_parameter() binary-searches the table.
static_assert(sorted_and_unique(), "parameters.def must be sorted by name, without duplicates");

/// Optimal-string-alignment distance, giving up (returning limit + 1) beyond `limit`.
size_t edit_distance(std::string_view a, std::string_view b, size_t limit) {
  size_t diff = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (diff > limit) {
    return limit + 1;
  }
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    size_t row_min = cur[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > limit) {
      return limit + 1;
    }
    prev2.swap(prev);
    prev.swap(cur);
  }
  return prev[b.size()];
}

std::vector<std::string_view> split_choices(std::string_view choices) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t bar = choices.find('|', start);
    out.push_back(choices.substr(start, bar == std::string_view::npos ? bar : bar - start));
    if (bar == std::string_view::npos) {
      return out;
    }
    start = bar + 1;
  }
}

std::string describe_choices(std::string_view choices) {
  std::string out;
  for (std::string_view c : split_choices(choices)) {
    if (!out.empty()) {
      out += ", ";
    }
    out += c.empty() ? std::string("(empty)") : std::string(c);
  }
  return out;
}

bool is_choice(std::string_view choices, std::string_view value) {
  auto all = split_choices(choices);
  return std::find(all.begin(), all.end(), value) != all.end();
}

bool is_numeric_address(std::string_view item) {
  if (item.size() >= 2 && item.front() == '[' && item.back() == ']') {
    item = item.substr(1, item.size() - 2);
  }
  std::string text(item);
  std::array<unsigned char, 16> buf{};
  return inet_pton(AF_INET, text.c_str(), buf.data()) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buf.data()) == 1;
}

Status check_bounds(const ParamSpec& spec, long long v, std::string_view unit) {
  if (v < spec.min) {
    return make_error(fmt::format("must be at least {}{}", spec.min, unit));
  }
  if (v > spec.max) {
    return make_error(fmt::format("must be at most {}{}", spec.max, unit));
  }
  return {};
}

}  // namespace

std::span<const ParamSpec> all_parameters() { return kParameters; }

const ParamSpec* find_parameter(std::string_view name) {
  auto it = std::lower_bound(std::begin(kParameters), std::end(kParameters), name,
                             [](const ParamSpec& p, std::string_view n) { return p.name < n; });
  if (it == std::end(kParameters) || it->name != name) {
    return nullptr;
  }
  return &*it;
}

std::optional<std::string_view> suggest_parameter(std::string_view name) {
  constexpr size_t kLimit = 2;
  std::optional<std::string_view> best;
  size_t best_distance = kLimit + 1;
  for (const ParamSpec& p : kParameters) {
    size_t d = edit_distance(name, p.name, kLimit);
    if (d < best_distance) {
      best_distance = d;
      best = p.name;
    }
  }
  return best;
}

Result<long long> parse_integer(std::string_view value) {
  std::string_view digits = value;
  bool negative = !digits.empty() && digits.front() == '-';
  if (negative) {
    digits.remove_prefix(1);
  }
  if (digits.empty()) {
    return make_error("not a number");
  }
  long long v = 0;
  for (char c : digits) {
    if (!ascii::is_digit(c)) {
      return make_error("not a number");
    }
    if (v > (kNoLimit - (c - '0')) / 10) {
      return make_error("number too large");
    }
    v = v * 10 + (c - '0');
  }
  return negative ? -v : v;
}

Result<bool> parse_bool(std::string_view value) {
  if (ascii::iequals(value, "yes")) {
    return true;
  }
  if (ascii::iequals(value, "no")) {
    return false;
  }
  return make_error("must be yes or no");
}

Result<long long> parse_seconds(std::string_view value) {
  long long unit = 1;
  if (!value.empty() && ascii::is_alpha(value.back())) {
    switch (ascii::to_lower(value.back())) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      case 'w':
        unit = 7 * 86400;
        break;
      default:
        return make_error("bad time unit (use s, m, h, d or w)");
    }
    value.remove_suffix(1);
  }
  if (value.empty() || value.front() == '-') {
    return make_error("not a time value (a number with unit s, m, h, d or w)");
  }
  Result<long long> n = parse_integer(value);
  if (!n.ok()) {
    return make_error("not a time value (a number with unit s, m, h, d or w)");
  }
  if (n.value() > kNoLimit / unit) {
    return make_error("time value too large");
  }
  return n.value() * unit;
}

std::vector<std::string> split_list(std::string_view value) {
  // Separators inside {...} do not split (Postfix: "inline:{a=1, b=2}" is one item).
  std::vector<std::string> out;
  std::string item;
  int depth = 0;
  for (char c : value) {
    bool separator = c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (separator && depth == 0) {
      if (!item.empty()) out.push_back(std::move(item));
      item.clear();
      continue;
    }
    if (c == '{') ++depth;
    if (c == '}' && depth > 0) --depth;
    item += c;
  }
  if (!item.empty()) out.push_back(std::move(item));
  return out;
}

Status validate_value(const ParamSpec& spec, std::string_view value) {
  switch (spec.type) {
    case ParamType::String:
      return {};
    case ParamType::Int:
    case ParamType::Size: {
      Result<long long> v = parse_integer(value);
      if (!v.ok()) {
        return v.error();
      }
      return check_bounds(spec, v.value(), "");
    }
    case ParamType::Bool: {
      Result<bool> v = parse_bool(value);
      if (!v.ok()) {
        return v.error();
      }
      return {};
    }
    case ParamType::Time: {
      Result<long long> v = parse_seconds(value);
      if (!v.ok()) {
        return v.error();
      }
      return check_bounds(spec, v.value(), "s");
    }
    case ParamType::Enum:
      if (!is_choice(spec.choices, value)) {
        return make_error(fmt::format("must be one of: {}", describe_choices(spec.choices)));
      }
      return {};
    case ParamType::EnumList: {
      std::vector<std::string> items = split_list(value);
      if (items.empty() && !is_choice(spec.choices, "")) {  // "" in choices: may be empty
        return make_error(fmt::format("must list some of: {}", describe_choices(spec.choices)));
      }
      for (const std::string& item : items) {
        if (!is_choice(spec.choices, item)) {
          return make_error(
              fmt::format("\"{}\" is not one of: {}", item, describe_choices(spec.choices)));
        }
      }
      return {};
    }
    case ParamType::Interfaces: {
      std::vector<std::string> items = split_list(value);
      if (items.empty()) {
        return make_error("must be all, loopback-only or a list of addresses");
      }
      for (const std::string& item : items) {
        if (item == "all" || item == "loopback-only") {
          if (items.size() != 1) {
            return make_error(fmt::format("\"{}\" cannot be combined with other values", item));
          }
        } else if (item != "localhost" && !is_numeric_address(item)) {
          return make_error(fmt::format(
              "\"{}\" is not a numeric IP address (host names are not resolved)", item));
        }
      }
      return {};
    }
  }
  return {};
}

std::vector<std::string> unimplemented_items(const ParamSpec& spec, std::string_view value) {
  // Values that have no source in Estafeta yet: smtpd writes no session transcripts.
  struct Item {
    std::string_view parameter, item, what;
  };
  static constexpr Item kItems[] = {
      {"notify_classes", "data", "SMTP session transcripts"},
      {"notify_classes", "policy", "SMTP session transcripts"},
      {"notify_classes", "protocol", "SMTP session transcripts"},
  };
  std::vector<std::string> out;
  for (const std::string& v : split_list(value)) {
    for (const Item& i : kItems) {
      if (spec.name == i.parameter && v == i.item) {
        out.push_back(fmt::format("class {} ({})", i.item, i.what));
      }
    }
  }
  return out;
}

std::string_view type_name(ParamType type) {
  switch (type) {
    case ParamType::String:
      return "string";
    case ParamType::Int:
      return "integer";
    case ParamType::Size:
      return "size (bytes)";
    case ParamType::Bool:
      return "yes/no";
    case ParamType::Time:
      return "time (s m h d w)";
    case ParamType::Enum:
      return "one of";
    case ParamType::EnumList:
      return "list of";
    case ParamType::Interfaces:
      return "addresses";
  }
  return "?";
}

namespace {

std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string parameters_markdown() {
  std::string out =
      "# Estafeta configuration parameters\n"
      "\n"
      "<!-- Generated from src/config/parameters.def by estafeta_parameters_doc; do not edit.\n"
      "     Regenerate: build/src/config/estafeta_parameters_doc > docs/parameters.md -->\n"
      "\n"
      "Parameters are set in `<config_directory>/main.cf` with Postfix's syntax (postconf(5)):\n"
      "`name = value` lines, `#` comment lines, continuation lines that start with white\n"
      "space, and `$name`, `${name}`, `${name?text}`, `${name:text}` and `$$` expansion.\n"
      "A master.cf service can override any of them with `-o name=value`.\n"
      "`estafeta config` prints the settings main.cf makes (like `postconf -n`), `estafeta config\n"
      "-d` the defaults, and `estafeta config name` one parameter (`-x` expands `$name`).\n"
      "\n"
      "An unknown parameter is a warning (unless another value references it as `$name`);\n"
      "an invalid value is an error with file and line, and the server refuses to start.\n"
      "A parameter marked *not implemented yet* is accepted (and its value checked) so that a\n"
      "Postfix main.cf loads, but nothing acts on it: setting it in main.cf or with `-o` draws a\n"
      "warning at start, at reload and from `estafeta config`.\n"
      "Time values take a unit: `s` (the default), `m`, `h`, `d` or `w`.\n"
      "\n"
      "| parameter | type | default | differs from Postfix | description |\n"
      "| --- | --- | --- | --- | --- |\n";
  for (const ParamSpec& p : kParameters) {
    std::string type(type_name(p.type));
    if (p.type == ParamType::Enum || p.type == ParamType::EnumList) {
      type += ": " + describe_choices(p.choices);
    }
    if ((p.type == ParamType::Int || p.type == ParamType::Size || p.type == ParamType::Time)) {
      std::string unit = p.type == ParamType::Time ? "s" : "";
      type += p.max == kNoLimit ? fmt::format(", >= {}{}", p.min, unit)
                                : fmt::format(", {}..{}{}", p.min, p.max, unit);
    }
    std::string def = p.computed ? std::string("(computed)") : fmt::format("`{}`", p.default_value);
    if (!p.computed && p.default_value.empty()) {
      def = "(empty)";
    }
    std::string doc = cell(p.doc);
    if (!p.implemented) {
      doc = "*Not implemented yet: ignored, with a warning when set.* " + doc;
    }
    out += fmt::format("| `{}` | {} | {} | {} | {} |\n", p.name, cell(type), cell(def),
                       p.differs.empty() ? std::string("no") : "yes: " + cell(p.differs), doc);
  }
  return out;
}

}  // namespace estafeta::config
