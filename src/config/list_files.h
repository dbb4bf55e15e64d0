// "/file/name" items in list parameters, as Postfix's match lists have them: in mydestination,
// relay_domains, mynetworks and the other lists that match domains, networks or names, an item
// that is an absolute path stands for the items written in that file (separated by white
// space or commas; '#' starts a comment that runs to the end of the line). So Sendmail's
// /etc/mail/local-host-names serves as `mydestination = /etc/mail/local-host-names` as it is.
// A file may name further files and `type:table` items; a leading '!' (negation, where the
// list allows it) applies to every item of the file. Pure: the caller supplies the reader;
// Config::load reads the files once, so an unreadable file is a configuration error.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::config {

/// Reads a whole file; an Error says why ("open /x: No such file or directory").
using ListFileReader = std::function<Result<std::string>(const std::string& path)>;

/// True for the list parameters whose "/file/name" items are expanded (Postfix's match lists:
/// mydestination, relay_domains, mynetworks, authorized_submit_users, ...). Table lists
/// (alias_maps, *_maps) and plain lists are not.
bool expands_list_files(std::string_view parameter);

/// True when some item is a "/file/name" (possibly after '!').
bool has_list_file(const std::vector<std::string>& items);

/// The items written in a list file.
std::vector<std::string> parse_list_file(std::string_view text);

/// `items` with every "/file/name" item replaced by the file's items, recursively (at most
/// 8 files deep, which also stops a file that names itself). Error: the first file that cannot
/// be read, or too deep a nesting.
Result<std::vector<std::string>> expand_list_files(const std::vector<std::string>& items,
                                                   const ListFileReader& read);

}  // namespace estafeta::config
