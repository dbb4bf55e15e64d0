// regexp: tables (Postfix regexp_table(5)) with POSIX extended regular expressions from the
// C library (<regex.h>; not I/O, so this stays in the pure library). Flags: i (case-
// insensitive, default on, toggles), x (extended syntax, default on, toggles), m (newline).
#pragma once

#include <string>
#include <string_view>

#include "maps/regex_table.h"

namespace estafeta::maps {

/// Compiles one pattern with regcomp(3); the Error is regerror(3)'s text.
Result<std::unique_ptr<CompiledRegex>> compile_posix_regex(const RegexPattern& pattern);

/// Builds a regexp: table from the text of `file_name`.
BuiltMap build_regexp_map(std::string_view text, const std::string& file_name);

}  // namespace estafeta::maps
