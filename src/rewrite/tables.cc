// Table lists and deferral texts (see tables.h).
#include "rewrite/tables.h"

#include <fmt/format.h>

namespace estafeta::rewrite {

Deferral table_deferral(std::string_view parameter, std::string_view address) {
  return Deferral{"4.3.0", "Error: queue file write error",
                  fmt::format("{} map lookup problem for {} -- message not accepted, try "
                              "again later",
                              parameter, address)};
}

Deferral alias_deferral(std::string log) {
  return Deferral{"4.6.0", "Alias expansion error", std::move(log)};
}

}  // namespace estafeta::rewrite
