// Formatting of config::Diagnostic; see diagnostic.h.
#include "config/diagnostic.h"

#include <fmt/format.h>

namespace estafeta::config {

std::string Diagnostic::to_string() const {
  std::string where = file;
  if (line > 0) {
    where += fmt::format(":{}", line);
  }
  std::string_view kind = is_error ? "error" : "warning";
  if (where.empty()) {
    return fmt::format("{}: {}", kind, message);
  }
  return fmt::format("{}: {}: {}", where, kind, message);
}

}  // namespace estafeta::config
