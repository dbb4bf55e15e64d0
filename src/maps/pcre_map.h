// pcre: tables (Postfix pcre_table(5)) over PCRE2, JIT-compiled where the platform has it.
// Edge library (links libpcre2-8). Flags: i (caseless, default on, toggles), m, s, x, A, E,
// U (toggle the PCRE2 options of the same letters); X is accepted and ignored (PCRE1 only).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "maps/regex_table.h"

namespace estafeta::maps {

/// Compiles one pattern; Error is "error in regex at offset N: reason".
Result<std::unique_ptr<CompiledRegex>> compile_pcre_regex(const RegexPattern& pattern);

/// Builds a pcre: table from the text of `file_name`.
BuiltMap build_pcre_map(std::string_view text, const std::string& file_name);

}  // namespace estafeta::maps
