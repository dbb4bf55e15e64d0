// "type:name" table addresses, as written in main.cf and on the estafeta map command line.
// Pure: parsing only, no files are touched. Postfix's "hash:" and "btree:" name our LMDB
// format (file "name.lmdb"), so every hash:/etc/postfix/... line of a main.cf works unchanged
// once the table is compiled with `estafeta map`. Unknown types are an Error naming the spec.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace estafeta::maps {

enum class MapType { Texthash, Lmdb, Cidr, Pcre, Regexp, Inline, Static, Pgsql, Redis, Unix };

struct MapSpec {
  MapType type = MapType::Texthash;
  std::string type_name;  ///< as written, lower case ("hash", "lmdb", "texthash", ...)
  std::string name;       ///< file name, or the inline/static text
  std::string text() const { return type_name + ":" + name; }
};

/// The canonical type name ("lmdb" for hash/btree/lmdb).
std::string_view map_type_name(MapType type);

/// Parses "type:name". Without a ':' the spec is `default_type:spec` when default_type is not
/// empty (postmap's default_database_type), an Error otherwise.
Result<MapSpec> parse_map_spec(std::string_view spec, std::string_view default_type = {});

/// True for the types whose source is a file of key/value lines compiled into a database.
inline bool is_indexed_type(MapType type) { return type == MapType::Lmdb; }

}  // namespace estafeta::maps
