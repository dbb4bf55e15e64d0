// config::Diagnostic: one warning or error about a configuration file, with file:line.
// Printed as "/etc/estafeta/main.cf:12: warning: unknown parameter: foo" (line 0 omits the
// ":line" part). Produced by the main.cf and master.cf parsers; never thrown.
#pragma once

#include <string>

namespace estafeta::config {

struct Diagnostic {
  std::string file;
  int line = 0;
  bool is_error = false;
  std::string message;
  /// "file:line: warning: message" or "file:line: error: message".
  std::string to_string() const;
};

}  // namespace estafeta::config
