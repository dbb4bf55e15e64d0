// unix: tables, a read-only view of the system's user and group databases through NSS
// (getpwnam_r / getgrnam_r), as Postfix's dict_unix:
//   unix:passwd.byname  key a login name; value the passwd(5) line
//                       "name:passwd:uid:gid:gecos:dir:shell" (passwd is "x" with shadow)
//   unix:group.byname   key a group name; value the group(5) line "name:passwd:gid:m1,m2"
// Keys are folded to lower case unless OpenOptions::fold_keys is off (`estafeta map -f`),
// as Postfix folds fixed-string tables. A name the database does not have is NotFound; an
// NSS failure (EIO, EMFILE, a directory service that is down...) is a TempFail with the
// reason. The tables cannot be listed. Edge library: calls NSS; lookups are thread-safe.
#pragma once

#include <memory>
#include <string>

#include "maps/map.h"

namespace estafeta::maps {

/// `name` is "passwd.byname" or "group.byname"; any other name is an Error.
Result<std::unique_ptr<Map>> open_unix_map(const std::string& name, const OpenOptions& options);

}  // namespace estafeta::maps
