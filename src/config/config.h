// config::Config: an immutable, validated snapshot of main.cf (Postfix syntax) on top of the
// defaults of parameters.def. Parsing reports every problem as a Diagnostic with file:line:
// unknown parameters, settings of parameters that are not implemented yet and duplicate
// assignments are warnings; syntax errors, bad values and $-expansion loops are errors, and
// then no Config is produced (the server must not start).
// A reload builds a new Config; share one as std::shared_ptr<const Config>. All const
// members are safe to call from any thread. parse() is pure; load() reads main.cf, the list
// files that match lists name ("mydestination = /etc/mail/local-host-names") and calls
// gethostname().
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/diagnostic.h"
#include "config/list_files.h"

namespace estafeta::config {

struct LoadResult;

/// The whole of a configuration file; Error "cannot open: REASON" (errno as its code) or
/// "read error". Used for main.cf, master.cf and list files.
Result<std::string> read_config_file(const std::string& path);

/// gethostname(), or "localhost" when that fails.
std::string system_hostname();

/// The uid and gid that own the first-run demo's mailboxes when estafeta runs as root
/// (nobody and nogroup on Debian).
inline constexpr unsigned kEmbeddedRootOwner = 65534;

/// What a missing main.cf means: the parameters' defaults (Postfix's) with these settings,
/// which make the first-run demo of the README work on a machine with no configuration: the
/// local domains ($myhostname, localhost.$mydomain, localhost) are virtual mailbox domains
/// whose every safe local part (lower-cased; no '/', '@', space or control character, no
/// leading '.', at most 64 octets) is a Maildir, var/mail/<localpart>/Maildir/ under the
/// start directory, written as `uid`/`gid` (the identity estafeta runs as; root means
/// kEmbeddedRootOwner). `estafeta config -n` shows them as set. Pure.
std::string embedded_main_cf(unsigned uid, unsigned gid);

class Config {
 public:
  /// Embedded defaults only; config_dir "/etc/estafeta", hostname from gethostname().
  static Config defaults();
  /// Parses main.cf text; pure. `hostname` feeds the myhostname default ("localhost" when
  /// empty; ".localdomain" is appended when it has no dot). `filename` appears in
  /// diagnostics; `config_dir` becomes config_directory. `read_list_file` reads the
  /// "/file/name" items of match lists (list_files.h); without one such an item is an error.
  static LoadResult parse(std::string_view main_cf_text, std::string filename,
                          std::string config_dir, std::string hostname,
                          ListFileReader read_list_file = nullptr);
  /// Reads <config_dir>/main.cf (a missing file means embedded_main_cf() for the process's
  /// effective uid and gid) using gethostname(),
  /// and the "/file/name" items of match lists (an unreadable one is an error).
  static LoadResult load(const std::string& config_dir);
  /// Applies master.cf "-o name=value" overrides (validated the same way). Diagnostics name
  /// "<config_dir>/master.cf" without a line; callers may substitute the service's file:line.
  /// Warnings are only about the overrides themselves.
  LoadResult with_overrides(const std::vector<std::pair<std::string, std::string>>& o) const;

  /// The fully $-expanded value; "" for a name neither known nor set.
  std::string get(std::string_view name) const;
  /// Ints and sizes; 0 if the value is not an integer (cannot happen for a known Int/Size).
  long long get_int(std::string_view name) const;
  /// yes/no (any case); false if the value is neither.
  bool get_bool(std::string_view name) const;
  /// Time values: 300s 5m 1h 1d 1w (a bare number is seconds); 0 if malformed.
  long long get_seconds(std::string_view name) const;
  /// get(name) split on ", \t" (and newlines), empty items dropped. In a match list
  /// (mydestination, mynetworks, ...: list_files.h) a "/file/name" item is replaced by the
  /// items of that file, as read when the Config was built.
  std::vector<std::string> get_list(std::string_view name) const;
  /// The unexpanded value (setting or default); "" for an unknown name. For parameters that
  /// the consumer expands itself with per-delivery values (forward_path, luser_relay).
  std::string get_raw(std::string_view name) const { return raw_value(name).value_or(""); }
  /// True when `name` is in parameters.def (user-defined names are not "known").
  bool is_known(std::string_view name) const;
  /// True when main.cf (or an -o override) assigns `name`.
  bool is_set(std::string_view name) const;
  const std::string& config_dir() const { return config_dir_; }

  /// Explicitly set names (known or user-defined), sorted.
  std::vector<std::string> set_names() const;
  /// "name = rawvalue\n" for every explicitly set parameter, sorted ("name =\n" if empty).
  std::string postconf_n() const;
  /// Every known parameter with its default (computed ones as computed), sorted.
  std::string postconf_d() const;
  /// "name = value\n" with the raw (or, if `expand`, expanded) value; "" when `name` is
  /// neither known nor set.
  std::string postconf_line(std::string_view name, bool expand) const;

 private:
  struct Setting {
    std::string value;
    std::string file;
    int line = 0;
    bool from_override = false;
  };

  Config() = default;
  /// Expands and validates `draft`; `overrides_only` limits unknown-name warnings to
  /// settings that came from with_overrides().
  static LoadResult build(Config draft, std::vector<Diagnostic> diagnostics, bool overrides_only);
  /// Raw value of `name`: its setting, else its (computed) default; nullopt if unknown.
  std::optional<std::string> raw_value(std::string_view name) const;
  std::optional<std::string> default_raw(std::string_view name) const;

  std::string config_dir_;
  std::string main_cf_file_;      // for diagnostics without a line
  std::string machine_hostname_;  // myhostname default
  std::string mydomain_default_;  // computed from myhostname in build()
  std::map<std::string, Setting, std::less<>> settings_;
  std::map<std::string, std::string, std::less<>> expanded_;  // known + set names
  // Match lists that name list files, with the files' items in place of the file names.
  std::map<std::string, std::vector<std::string>, std::less<>> list_items_;
  ListFileReader read_list_file_;  // kept for with_overrides()
};

/// Defined after Config because std::optional needs the complete type.
struct LoadResult {
  std::optional<Config> config;  // nullopt when some diagnostic is an error
  std::vector<Diagnostic> diagnostics;
};

}  // namespace estafeta::config
