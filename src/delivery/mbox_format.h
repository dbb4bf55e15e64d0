// The mbox format as Postfix's local(8) writes it (mboxo): a "From sender date" line, the
// message with every line that begins with "From " quoted as ">From ", a final newline if
// the message lacks one, and an empty line that separates it from the next message. Pure.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace estafeta::delivery {

/// "From <sender> <asctime date>\n", e.g. "From a@b.example Thu Nov 24 18:22:48 1986\n"
/// (the date as asctime(3) writes it, from `when` in local time). An empty sender is
/// "MAILER-DAEMON".
std::string mbox_from_line(std::string_view sender, const std::tm& when);

/// Appends `message` (LF line endings) to `out` quoted for an mbox, with the terminating
/// newline and empty line.
void append_mbox_body(std::string& out, std::string_view message);

}  // namespace estafeta::delivery
