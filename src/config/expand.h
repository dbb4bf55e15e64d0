// $-expansion of main.cf values as Postfix does it (postconf(5) "parameter expansion"):
//   $name  ${name}  $(name)     the value of name, itself expanded (recursively)
//   ${name?text}  $(name?text)  text (expanded) if name's value is non-empty, else nothing
//   ${name:text}  $(name:text)  text (expanded) if name's value is empty, else nothing
//   $$                          a literal '$'; a '$' before any other character is literal
// An unknown name expands to the empty string, as in Postfix. Errors (never thrown): a loop
// (a -> b -> a), nesting deeper than max_depth, a result longer than max_length, an
// unterminated ${, a bad name inside ${...}. Postfix 3's ${name?{a}:{b}} and ${x==y?..} forms
// are not supported (the braces are kept as literal text). Pure; not thread-safe.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::config {

/// Returns the raw (unexpanded) value of a parameter, or nullopt when it is not defined.
using RawLookup = std::function<std::optional<std::string>(std::string_view name)>;

struct ExpandLimits {
  int max_depth = 100;              // nested $name and ${x?...} levels
  size_t max_length = 1024 * 1024;  // bytes in any one expanded value
};

/// Expands values against a lookup, memoizing each parameter's expanded value (so shared
/// sub-expressions cost once). The lookup must give the same answer for a name every time
/// and must outlive the Expander.
class Expander {
 public:
  explicit Expander(RawLookup lookup, ExpandLimits limits = {});

  /// The fully expanded value of parameter `name` ("" when undefined).
  Result<std::string> expand_parameter(std::string_view name);
  /// Expands arbitrary text (for example a master.cf -o value).
  Result<std::string> expand_text(std::string_view text);

 private:
  Result<std::string> expand_name(std::string_view name, int depth);
  Result<std::string> expand_at(std::string_view text, int depth);

  RawLookup lookup_;
  ExpandLimits limits_;
  std::map<std::string, std::string, std::less<>> cache_;  // successful expansions only
  std::vector<std::string> stack_;                         // names being expanded now
};

/// Every parameter name that `text` references (including inside ${x?...}), in no
/// particular order, with duplicates. Never fails: malformed references are skipped.
std::vector<std::string> referenced_names(std::string_view text);

}  // namespace estafeta::config
