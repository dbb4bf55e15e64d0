// mail_addr_find / mail_addr_map semantics (see address_lookup.h).
#include "rewrite/address_lookup.h"

#include <optional>

#include "address/extension.h"
#include "base/ascii.h"
#include "message/header_addresses.h"

namespace estafeta::rewrite {
namespace {

enum class KeyKind { Full, Partial };

// One key against the whole table list: the first table that answers decides.
maps::LookupResult lookup_key(const TableList& tables, std::string_view key, KeyKind kind) {
  for (const Table& table : tables) {
    if (kind == KeyKind::Partial && table.full_key_only) continue;
    if (table.map == nullptr) return maps::LookupResult::temp_fail("table is not open");
    maps::LookupResult r = table.map->lookup(key);
    if (r.status != maps::LookupStatus::NotFound) return r;
  }
  return maps::LookupResult::not_found();
}

AddressMatch from_result(maps::LookupResult r, std::string extension = {}) {
  AddressMatch m{r.status, std::move(r.value), {}};
  if (m.status == maps::LookupStatus::Found) m.extension = std::move(extension);
  return m;
}

std::string with_extension(std::string_view address, std::string_view extension) {
  std::string out(address);
  const size_t at = out.rfind('@');
  out.insert(at == std::string::npos ? out.size() : at, extension);
  return out;
}

}  // namespace

AddressParts split_address(std::string_view address) {
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos) return AddressParts{address, {}, false};
  return AddressParts{address.substr(0, at), address.substr(at + 1), true};
}

AddressMatch find_address(const TableList& tables, std::string_view address,
                          const Context& context) {
  const AddressParts parts = split_address(address);
  const address::SplitLocalPart split =
      address::split_extension(parts.local, context.recipient_delimiter);
  std::string extension;
  if (split.delimiter != 0) {
    extension.push_back(split.delimiter);
    extension.append(split.extension);
  }
  std::string bare_local(split.user);

  maps::LookupResult r = lookup_key(tables, address, KeyKind::Full);
  if (r.status != maps::LookupStatus::NotFound) return from_result(std::move(r));
  if (split.delimiter != 0) {
    std::string bare = parts.has_at ? bare_local + "@" + std::string(parts.domain) : bare_local;
    r = lookup_key(tables, bare, KeyKind::Partial);
    if (r.status != maps::LookupStatus::NotFound) return from_result(std::move(r), extension);
  }
  if (!parts.has_at) return {};

  maps::LookupStatus local = maps::LookupStatus::NotFound;
  if (context.is_local_domain) local = context.is_local_domain(parts.domain);
  if (local == maps::LookupStatus::TempFail) {
    return AddressMatch{maps::LookupStatus::TempFail, "local domain lookup failed", {}};
  }
  if (local == maps::LookupStatus::Found) {
    r = lookup_key(tables, parts.local, KeyKind::Partial);
    if (r.status != maps::LookupStatus::NotFound) return from_result(std::move(r));
    if (split.delimiter != 0) {
      r = lookup_key(tables, bare_local, KeyKind::Partial);
      if (r.status != maps::LookupStatus::NotFound) return from_result(std::move(r), extension);
    }
  }
  r = lookup_key(tables, "@" + std::string(parts.domain), KeyKind::Partial);
  return from_result(std::move(r));
}

MappedAddress map_address(const TableList& tables, std::string_view address, bool propagate,
                          const Context& context) {
  AddressMatch m = find_address(tables, address, context);
  if (m.status == maps::LookupStatus::NotFound) return {};
  if (m.status == maps::LookupStatus::TempFail) {
    return MappedAddress{maps::LookupStatus::TempFail, {}, std::move(m.value)};
  }
  std::string value = std::move(m.value);
  if (!value.empty() && value.front() == '@') {
    // "@other.example": the original local part, without the extension that was chopped
    // off to match (propagation puts it back).
    std::string_view local = split_address(address).local;
    local.remove_suffix(std::min(local.size(), m.extension.size()));
    value.insert(0, local);
  }
  MappedAddress out{maps::LookupStatus::Found, {}, {}};
  for (std::string& a : parse_table_addresses(value)) {
    if (context.canonicalize) a = context.canonicalize(a);
    if (propagate && !m.extension.empty()) a = with_extension(a, m.extension);
    out.addresses.push_back(std::move(a));
  }
  if (out.addresses.empty()) {
    return MappedAddress{
        maps::LookupStatus::TempFail, {}, "table returns a non-address result \"" + value + "\""};
  }
  return out;
}

std::vector<std::string> parse_table_addresses(std::string_view value) {
  if (value.find('<') != std::string_view::npos) return message::header_addresses(value);
  std::vector<std::string> out;
  std::string current;
  auto finish = [&] {
    if (!current.empty()) out.push_back(std::move(current));
    current.clear();
  };
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == ',' || ascii::is_space(c)) {
      finish();
    } else if (c == '"') {
      current += c;
      for (++i; i < value.size() && value[i] != '"'; ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) current += value[i++];
        current += value[i];
      }
      current += '"';
    } else if (c == '(') {
      int depth = 1;
      for (++i; i < value.size() && depth > 0; ++i) {
        if (value[i] == '\\') {
          ++i;
        } else if (value[i] == '(') {
          ++depth;
        } else if (value[i] == ')') {
          --depth;
        }
      }
      --i;  // the loop's ++i moves past the closing parenthesis
    } else {
      current += c;
    }
  }
  finish();
  return out;
}

}  // namespace estafeta::rewrite
