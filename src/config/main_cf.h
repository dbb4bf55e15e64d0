// main.cf syntax: logical lines of the form "name = value" (postconf(5)). Produces the raw,
// unexpanded assignments in file order with their line numbers, plus syntax diagnostics
// (a line without '=' or with a bad name is an error, as Postfix treats it as fatal).
// Whether a name is known and whether a value is valid is decided later (config.cc).
// Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"

namespace estafeta::config {

struct Assignment {
  std::string name;
  std::string value;  // leading and trailing whitespace removed; may be empty
  int line = 0;
};

struct MainCfText {
  std::vector<Assignment> assignments;  // file order; duplicates kept
  std::vector<Diagnostic> diagnostics;  // syntax errors and lexer warnings
};

/// True for a valid parameter name: [A-Za-z0-9_]+ (the characters $name may reference).
bool is_parameter_name(std::string_view name);

/// Parses main.cf text; `filename` is only used in diagnostics.
MainCfText parse_main_cf(std::string_view text, const std::string& filename);

}  // namespace estafeta::config
