// `estafeta queue`: the queue tools, in the spirit of Postfix's postqueue (list, flush),
// postsuper (hold, release, delete, requeue) and postcat (show), on top of
// queue::QueueStore. Also `mailq` / `sendmail -bp` (list) and `sendmail -q` (flush).
// Formats and rules: docs/queue-tools.md.
//
// Reading (list, show) needs only read access to the queue. Changing it (hold, release,
// delete, requeue, flush) is for root, the mail_owner user and the owner of the queue
// directory (a daemon run by a plain user); others get an error and exit 1 before anything is
// touched. Run as root, every subcommand first becomes mail_owner (as postsuper does), so
// that nothing it creates in the queue is root's. After a change the queue manager is woken
// with an empty datagram on <queue_directory>/public/qmgr ("rescan"); errors there are
// ignored (nothing may be listening). Single-threaded; output on stdout, diagnostics on
// stderr.
#pragma once

#include <string>
#include <vector>

namespace estafeta::cli {

/// `estafeta [-c dir] queue SUBCOMMAND [args]`:
///   list [-j]                 mailq (Postfix's format; -j: one JSON object per message)
///   show [-h] [-b] ID         envelope, headers and body (-h headers only, -b body only)
///   hold|release|delete|requeue ID...|ALL|-   (- reads ids from stdin, one per line)
///   flush [-s SITE] [-i ID]   deferred -> active (only messages with a recipient at SITE;
///                             only those whose queue id contains ID: postqueue -i, and
///                             Sendmail's -qI substring)
/// Exit status: 0 (also when some ids were unknown, as postsuper), 1 for an error (no
/// configuration, no access, an I/O error), 2 for a usage error. Messages name the Postfix
/// tool whose part a subcommand plays ("postqueue: ", "postsuper: ", "postcat: ").
int run_queue_command(const std::string& config_dir, const std::vector<std::string>& args);

}  // namespace estafeta::cli
