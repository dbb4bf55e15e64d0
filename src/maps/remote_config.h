// The small "name = value" config files of remote tables (pgsql:, redis:), in the style of
// Postfix's pgsql_table(5): logical lines, '#' comments, unknown names are errors. Also the
// query template expansion (%s key, %u local part, %d domain, %% percent). Pure.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::maps {

using RemoteConfig = std::map<std::string, std::string, std::less<>>;

/// Parses `text`; every name must be in `allowed`. Error "FILE, line N: reason".
Result<RemoteConfig> parse_remote_config(std::string_view text, const std::string& file_name,
                                         const std::vector<std::string_view>& allowed);

/// Parses a timeout in seconds ("5", "0.25"); Error for negative or malformed text.
Result<double> parse_timeout_seconds(std::string_view text);

/// Expands %s, %u, %d and %% in `format`; each substituted piece goes through `escape`.
/// Error for any other %-sequence.
Result<std::string> expand_query(std::string_view format, std::string_view key,
                                 const std::function<std::string(std::string_view)>& escape);

}  // namespace estafeta::maps
