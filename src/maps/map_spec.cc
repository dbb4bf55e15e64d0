// Parsing of "type:name" table addresses; see map_spec.h.
#include "maps/map_spec.h"

#include <array>
#include <utility>

#include "base/ascii.h"

namespace estafeta::maps {
namespace {

struct TypeName {
  std::string_view name;
  MapType type;
};

constexpr std::array<TypeName, 12> kTypes = {{
    {"texthash", MapType::Texthash},
    {"lmdb", MapType::Lmdb},
    {"hash", MapType::Lmdb},
    {"btree", MapType::Lmdb},
    {"cidr", MapType::Cidr},
    {"pcre", MapType::Pcre},
    {"regexp", MapType::Regexp},
    {"inline", MapType::Inline},
    {"static", MapType::Static},
    {"pgsql", MapType::Pgsql},
    {"redis", MapType::Redis},
    {"unix", MapType::Unix},
}};

}  // namespace

std::string_view map_type_name(MapType type) {
  switch (type) {
    case MapType::Texthash:
      return "texthash";
    case MapType::Lmdb:
      return "lmdb";
    case MapType::Cidr:
      return "cidr";
    case MapType::Pcre:
      return "pcre";
    case MapType::Regexp:
      return "regexp";
    case MapType::Inline:
      return "inline";
    case MapType::Static:
      return "static";
    case MapType::Pgsql:
      return "pgsql";
    case MapType::Redis:
      return "redis";
    case MapType::Unix:
      return "unix";
  }
  return "unknown";
}

Result<MapSpec> parse_map_spec(std::string_view spec, std::string_view default_type) {
  std::string type_text;
  std::string_view name;
  size_t colon = spec.find(':');
  // A spec like "/etc/x" has no type; so has "./a:b" (a path with a ':' after a '/').
  size_t slash = spec.find('/');
  if (colon == std::string_view::npos || (slash != std::string_view::npos && slash < colon)) {
    if (default_type.empty()) {
      return make_error("table \"" + std::string(spec) + "\": expected type:name");
    }
    type_text = ascii::lower(default_type);
    name = spec;
  } else {
    type_text = ascii::lower(spec.substr(0, colon));
    name = spec.substr(colon + 1);
  }
  for (const TypeName& t : kTypes) {
    if (t.name == type_text) {
      if (name.empty()) {
        return make_error("table \"" + std::string(spec) + "\": empty table name");
      }
      return MapSpec{t.type, std::move(type_text), std::string(name)};
    }
  }
  return make_error("table \"" + std::string(spec) +
                    "\": unsupported dictionary type: " + type_text);
}

}  // namespace estafeta::maps
