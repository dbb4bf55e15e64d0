// The typed parameter registry built from parameters.def, and the value checks that go with
// it: what each parameter is, its default, and whether an (expanded) value is acceptable.
// Value syntax follows Postfix: integers are decimal; booleans are yes/no (any case); time
// values are a number with an optional unit s, m, h, d or w (default s); enums are
// case-sensitive. Pure; the registry is constexpr data, safe from any thread.
#pragma once

#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::config {

enum class ParamType {
  String,      // any text
  Int,         // decimal integer within [min, max]
  Size,        // byte count, decimal, within [min, max]
  Bool,        // yes | no
  Time,        // number with unit s m h d w, within [min, max] seconds
  Enum,        // one of choices
  EnumList,    // a non-empty list (", \t" separated) of choices
  Interfaces,  // all | loopback-only | list of numeric addresses or "localhost"
};

inline constexpr long long kNoLimit = std::numeric_limits<long long>::max();

struct ParamSpec {
  std::string_view name;
  ParamType type;
  std::string_view default_value;  // raw, may contain $references; unused if computed
  long long min;
  long long max;
  std::string_view choices;  // '|'-separated, for Enum and EnumList
  bool computed;             // default computed at load time (myhostname, ...)
  std::string_view doc;
  std::string_view differs;  // empty: same default as Postfix
  bool implemented;          // false: accepted and validated, but nothing acts on it yet
};

/// Every known parameter, sorted by name.
std::span<const ParamSpec> all_parameters();

/// The spec for `name`, or null if it is not a known parameter.
const ParamSpec* find_parameter(std::string_view name);

/// A known parameter name at most 2 edits (insert, delete, substitute, transpose) away
/// from `name`, the closest first; nullopt when none is.
std::optional<std::string_view> suggest_parameter(std::string_view name);

/// Checks an expanded value against the spec. The error says why, without the name.
Status validate_value(const ParamSpec& spec, std::string_view value);

/// Value parsers shared with Config accessors.
Result<long long> parse_integer(std::string_view value);
Result<bool> parse_bool(std::string_view value);
Result<long long> parse_seconds(std::string_view value);  // "300s" -> 300, "1w" -> 604800

/// Splits on ", \t\r\n", dropping empty items (Postfix list syntax).
std::vector<std::string> split_list(std::string_view value);

/// The items of an (expanded) list value that Estafeta accepts but does not act on yet, each
/// described for a warning ("class policy (SMTP session transcripts)"): notify_classes'
/// policy, protocol and data. Empty for every other parameter and value.
std::vector<std::string> unimplemented_items(const ParamSpec& spec, std::string_view value);

/// docs/parameters.md, generated from the table.
std::string parameters_markdown();

std::string_view type_name(ParamType type);

}  // namespace estafeta::config
