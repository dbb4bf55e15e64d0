// Table lists and deferral texts (see tables.h).
#include "rewrite/tables.h"

#include <fmt/format.h>

#include "base/ascii.h"

namespace estafeta::rewrite {

bool is_pattern_table(std::string_view spec) {
  for (std::string_view type : {"regexp:", "pcre:", "cidr:"}) {
    if (ascii::istarts_with(spec, type)) return true;
  }
  return false;
}

TableList make_table_list(const std::vector<std::string>& specs,
                          const std::function<const maps::Map*(std::string_view spec)>& find) {
  TableList tables;
  tables.reserve(specs.size());
  for (const std::string& spec : specs) {
    tables.push_back(Table{find ? find(spec) : nullptr, is_pattern_table(spec)});
  }
  return tables;
}

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
