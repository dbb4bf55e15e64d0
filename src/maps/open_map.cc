// Opening tables by spec; see open_map.h.
#include "maps/open_map.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "maps/cidr_map.h"
#include "maps/lmdb_map.h"
#include "maps/memory_map.h"
#include "maps/pcre_map.h"
#include "maps/pgsql_map.h"
#include "maps/redis_map.h"
#include "maps/regexp_map.h"
#include "maps/unix_map.h"

namespace estafeta::maps {

Result<std::string> read_text_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int code = errno;
    return make_error("open " + path + ": " + std::strerror(code), code);
  }
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int code = errno;
      std::string e = "read " + path + ": " + std::strerror(code);
      ::close(fd);
      return make_error(e, code);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<OpenedMap> open_map(std::string_view spec, const OpenOptions& options) {
  Result<MapSpec> parsed = parse_map_spec(spec);
  if (!parsed.ok()) return parsed.error();
  return open_map(*parsed, options);
}

Result<OpenedMap> open_map(const MapSpec& spec, const OpenOptions& options) {
  auto from_built = [](BuiltMap built) -> Result<OpenedMap> {
    return OpenedMap{std::move(built.map), std::move(built.warnings)};
  };
  auto from_map = [](Result<std::unique_ptr<Map>> m) -> Result<OpenedMap> {
    if (!m.ok()) return m.error();
    return OpenedMap{std::move(*m), {}};
  };
  switch (spec.type) {
    case MapType::Inline:
      return from_map(build_inline_map(spec.name, options));
    case MapType::Static:
      return from_map(build_static_map(spec.name));
    case MapType::Lmdb:
      return from_map(open_lmdb_map(lmdb_path_for(spec.name), options.fold_keys));
    case MapType::Pgsql:
      return from_map(open_pgsql_map(spec.name));
    case MapType::Redis:
      return from_map(open_redis_map(spec.name));
    case MapType::Unix:
      return from_map(open_unix_map(spec.name, options));
    case MapType::Texthash:
    case MapType::Cidr:
    case MapType::Pcre:
    case MapType::Regexp:
      break;
  }
  // pcre:{ {/a/ x}, ... } and regexp:{...}: the rules inline (Postfix 3.7), not a file.
  const bool inline_rules = (spec.type == MapType::Pcre || spec.type == MapType::Regexp) &&
                            trim_table_space(spec.name).starts_with("{");
  Result<std::string> text =
      inline_rules ? inline_rules_text(spec.name) : read_text_file(spec.name);
  if (!text.ok()) {
    if (!inline_rules) return text.error();
    return make_error(fmt::format("{}: {}", spec.text(), text.error().message));
  }
  switch (spec.type) {
    case MapType::Texthash:
      return from_built(build_texthash_map(*text, spec.name, options));
    case MapType::Cidr:
      return from_built(build_cidr_map(*text, spec.name));
    case MapType::Pcre:
      return from_built(build_pcre_map(*text, spec.name));
    case MapType::Regexp:
      return from_built(build_regexp_map(*text, spec.name));
    default:
      break;
  }
  return make_error("unsupported dictionary type: " + spec.type_name);
}

}  // namespace estafeta::maps
