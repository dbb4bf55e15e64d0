// What local delivery does with one recipient, as Postfix's local(8) decides it: alias_maps,
// then the user's forward_path files, then the mailbox (mailbox_command, home_mailbox or
// mail_spool_directory), with :include: files, |command and /file targets, error: targets,
// address extensions, owner- aliases, luser_relay, loop detection and privileges. Pure: the
// tables, the password file and file reads come in through callbacks, and the result is the
// list of final actions (each with the user it runs as), which the local agent carries out
// (delivery/local_agent.h). Never returns an action that runs as uid 0 or as mail_owner:
// their mailbox, commands and files run as default_privs, and their .forward is read as
// default_privs (skipped when default_privs may not read it: a root-only /root). A user whose
// home is "/" or not absolute has no .forward and no home_mailbox (deferred).
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "maps/map.h"

namespace estafeta::delivery {

/// A password file entry (or default_privs).
struct PlanUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  std::string shell;
  bool operator==(const PlanUser&) const = default;
};

/// A password file lookup: found, not found, or the database could not answer.
struct UserLookup {
  maps::LookupStatus status = maps::LookupStatus::NotFound;
  PlanUser user;  // when Found; when TempFail, user.name holds the reason
};

/// A file read (.forward with the user's rights, :include: with the current rights).
struct FileLookup {
  maps::LookupStatus status = maps::LookupStatus::NotFound;  // NotFound: no such file
  std::string content;                                       // Found: the bytes; TempFail: why
  uid_t owner = 0;                                           // Found: the file's owner
  uint32_t mode = 0;                                         // Found: its st_mode
  int error_code = 0;                                        // TempFail: the errno, if any
};

struct LocalPlanSettings {
  std::string recipient_delimiter;        // "" : no extensions
  std::string myorigin;                   // domain for bare names (owner-, aliases)
  std::vector<std::string> forward_path;  // unexpanded elements ($home, $user, ${extension}...)
  std::string mailbox_command;            // "" : none
  std::string home_mailbox;               // "" : none
  std::string mail_spool_directory;       // absolute
  std::string luser_relay;                // "" : none (unexpanded); an address
  /// mail_owner's uid when the agent runs as root: a recipient with that uid is treated as
  /// root is (default_privs), since the spawner refuses to run anything as mail_owner.
  std::optional<uid_t> mail_owner_uid;
  std::vector<std::string> allow_mail_to_commands;  // classes: alias, forward, include
  std::vector<std::string> allow_mail_to_files;
  PlanUser default_privs;
  int max_depth = 100;
};

struct LocalPlanLookups {
  /// alias_maps lookup of a folded local part.
  std::function<maps::LookupResult(const std::string& name)> alias;
  /// Password file by login name / by uid.
  std::function<UserLookup(const std::string& name)> user_by_name;
  std::function<UserLookup(uid_t uid)> user_by_uid;
  /// Reads `path` with the rights of `as`.
  std::function<FileLookup(const PlanUser& as, const std::string& path)> read_file;
  /// Whether `domain` is one of ours (mydestination...); nullopt: the table failed.
  std::function<std::optional<bool>(const std::string& domain)> is_local_domain;
};

enum class ActionKind { Maildir, Mbox, Command, Forward, Bounce, Defer };

/// One final delivery.
struct LocalAction {
  ActionKind kind = ActionKind::Defer;
  PlanUser as;            // Maildir, Mbox, Command: never uid 0
  std::string path;       // Maildir (ends with '/') or mbox file
  bool spool = false;     // Mbox in mail_spool_directory (create_with_spool_privileges)
  std::string command;    // Command
  std::string address;    // Forward: the new recipient
  std::string sender;     // Forward: the new envelope sender ("" keeps the original)
  std::string dsn, text;  // Bounce, Defer
  std::string to;         // the final recipient for the log ("user@domain")
  std::string local;      // local part of `to` ($LOCAL)
  std::string extension;  // its extension ($EXTENSION)
  std::string domain;     // its domain ($DOMAIN)
  std::string what;       // "mailbox", "command: CMD", "file: /path", "maildir"
  bool expanded = false;  // reached through an alias, .forward or :include:

  /// Identifies the target ("maildir:/home/u/Maildir/", "command:uid:CMD"...): duplicates
  /// are dropped and expansions name their Maildir file after it.
  std::string key() const;
  bool operator==(const LocalAction&) const = default;
};

/// The plan for `recipient` (an address whose domain is local, or a bare name).
/// `delivered_to` are the Delivered-To: values the message already has (folded): reaching
/// one of them is a forwarding loop (5.4.6).
std::vector<LocalAction> plan_local_delivery(const std::string& recipient,
                                             const std::vector<std::string>& delivered_to,
                                             const LocalPlanSettings& settings,
                                             const LocalPlanLookups& lookups);

/// The Delivered-To: header values of a message (its header section only), folded to
/// lower case, angle brackets removed.
std::vector<std::string> delivered_to_headers(std::string_view content);

/// Expands $name, ${name}, ${name?text} and ${name:text} in a forward_path or luser_relay
/// element; nullopt when a plain $name or ${name} refers to an empty or unknown value (the
/// element is then skipped, as Postfix skips it).
std::optional<std::string> expand_local_template(
    std::string_view text, const std::vector<std::pair<std::string, std::string>>& values);

/// Targets of a .forward or :include: file: lines and commas, '#' comment lines skipped.
std::vector<std::string> split_file_targets(std::string_view content);

}  // namespace estafeta::delivery
