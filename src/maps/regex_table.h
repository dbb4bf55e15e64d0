// The rule-file format shared by pcre: and regexp: tables (pcre_table(5), regexp_table(5)):
// "[!]/pattern/flags result", "if [!]/pattern/flags" .. "endif" (nestable), any delimiter,
// "$1", "${1}", "$$" in results. First matching rule wins. Malformed rules are skipped with
// Postfix's warning ("regexp map NAME, line N: ..."); the table still loads the rest.
// Pure: the regular-expression engine is injected (POSIX in regexp_map.h, PCRE2 in
// pcre_map.h), so this parser is fuzzed and tested without either library.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "maps/map.h"
#include "maps/memory_map.h"

namespace estafeta::maps {

enum class RegexDialect { Posix, Pcre };

struct RegexPattern {
  std::string source;      ///< between the delimiters, backslashes kept
  bool match = true;       ///< false: the rule applies when the pattern does NOT match
  bool icase = true;       ///< 'i' toggles; both dialects default to case-insensitive
  bool extended = true;    ///< POSIX 'x' toggles REG_EXTENDED (on); PCRE 'x' sets EXTENDED (off)
  bool multiline = false;  ///< 'm'
  bool dotall = true;      ///< PCRE 's' toggles; on by default (pcre_table(5), Postfix 2.0+)
  bool anchored = false;   ///< PCRE 'A'
  bool dollar_endonly = false;  ///< PCRE 'E'
  bool ungreedy = false;        ///< PCRE 'U'
};

/// A literal piece or a capture group reference of a result template.
struct ResultPart {
  std::string literal;
  int group = -1;  ///< >= 1: substitute this group
};

struct RegexRule {
  enum class Kind { Match, If, Endif };
  Kind kind = Kind::Match;
  int line = 0;
  RegexPattern pattern;
  std::optional<RegexPattern> second;  ///< regexp only: "/a/!/b/ result"
  std::vector<ResultPart> result;
  int max_group = 0;        ///< highest $n used by the result
  bool extra_text = false;  ///< Endif followed by text (warned only if it has a matching If)
};

struct ParsedRegexRules {
  std::vector<RegexRule> rules;
  std::vector<std::string> warnings;
};

/// Parses the text of a pcre:/regexp: file. Replacement indexes are not range-checked here
/// (that needs the compiled pattern); the builder does it.
ParsedRegexRules parse_regex_rules(std::string_view text, const std::string& file_name,
                                   RegexDialect dialect);

/// Parses a result template; Error text is Postfix's reason ("bad replacement syntax").
Result<std::vector<ResultPart>> parse_result_template(std::string_view text);

/// A compiled pattern. Implementations must be safe for concurrent const use.
class CompiledRegex {
 public:
  virtual ~CompiledRegex() = default;
  virtual int capture_count() const = 0;
  /// On a match, the captures: [0] whole match, then groups; unset groups are empty.
  virtual std::optional<std::vector<std::string>> match(std::string_view subject) const = 0;
};

using RegexCompiler =
    std::function<Result<std::unique_ptr<CompiledRegex>>(const RegexPattern& pattern)>;

class RegexTableMap final : public Map {
 public:
  struct CompiledRule {
    RegexRule::Kind kind = RegexRule::Kind::Match;
    std::unique_ptr<CompiledRegex> regex;
    bool match = true;
    std::unique_ptr<CompiledRegex> second;
    bool second_match = true;
    std::vector<ResultPart> result;
    size_t skip_to = 0;  ///< If: index just after its Endif
  };
  explicit RegexTableMap(std::vector<CompiledRule> rules) : rules_(std::move(rules)) {}
  LookupResult lookup(std::string_view key) const override;

 private:
  std::vector<CompiledRule> rules_;
};

/// Parses and compiles a rule file with `compiler`; bad rules become warnings.
BuiltMap build_regex_table(std::string_view text, const std::string& file_name,
                           RegexDialect dialect, const RegexCompiler& compiler);

}  // namespace estafeta::maps
