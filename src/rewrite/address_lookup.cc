// mail_addr_find / mail_addr_map semantics (see address_lookup.h).
#include "rewrite/address_lookup.h"

#include <optional>

#include "base/ascii.h"
#include "maps/search_keys.h"
#include "message/header_addresses.h"

namespace estafeta::rewrite {
namespace {

std::string with_extension(std::string_view address, std::string_view extension) {
  std::string out(address);
  const size_t at = out.rfind('@');
  out.insert(at == std::string::npos ? out.size() : at, extension);
  return out;
}

}  // namespace

AddressMatch find_address(const TableList& tables, std::string_view address,
                          const Context& context) {
  return maps::find_address(tables, address, context.recipient_delimiter, context.is_local_domain);
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
    std::string_view local = maps::split_address(address).local;
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
