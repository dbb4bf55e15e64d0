// Address lookups shared by canonical, virtual alias and BCC tables (Postfix mail_addr_find
// and mail_addr_map). Keys, in order, until a table answers (maps/address_search.h, the
// search smtpd's recipient checks and the virtual delivery agent use too):
//   user+ext@domain, user@domain, then when the domain is local: user+ext, user,
//   then @domain.
// A match on a key without the extension remembers the extension ("+ext", delimiter
// included) so that it can be put back on the result (propagate_unmatched_extensions).
// A result "@other.example" keeps the local part: user+ext@old.example with the entry
// "@old.example @new.example" becomes user+ext@new.example (Sendmail's domaintable).
// Pure; tables are borrowed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "maps/map.h"
#include "rewrite/tables.h"

namespace estafeta::rewrite {

using maps::AddressMatch;

/// The first answer for `address` along the key order above (mail_addr_find), with the
/// context's recipient delimiter and local domains (maps::find_address).
AddressMatch find_address(const TableList& tables, std::string_view address,
                          const Context& context);

struct MappedAddress {
  maps::LookupStatus status = maps::LookupStatus::NotFound;
  std::vector<std::string> addresses;  ///< Found: the result, one address or more
  std::string reason;                  ///< TempFail: why
};

/// find_address() turned into addresses (mail_addr_map): "@domain" results keep the local
/// part, each result is canonicalized (context.canonicalize), and with `propagate` an
/// unmatched extension is inserted before the '@' of each. A value that holds no address
/// is a temporary failure, as in Postfix.
MappedAddress map_address(const TableList& tables, std::string_view address, bool propagate,
                          const Context& context);

/// The addresses of a table value: "a@x, b@y c@z" (commas or white space between them), or
/// an address list with display names ("Ann <a@x>, b@y") when it holds an angle bracket.
/// Comments are dropped, quoted strings kept whole.
std::vector<std::string> parse_table_addresses(std::string_view value);

}  // namespace estafeta::rewrite
