// master.cf in Postfix's format (master(5)): one service per logical line (same comment and
// continuation rules as main.cf), 8 columns "service type private unpriv chroot wakeup
// maxproc command [args...]", with "-o name=value" and Postfix 3's "-o { name = value }"
// overrides. Bad lines are errors with file:line (MasterCf::ok false: do not start).
// Also decides what Estafeta does with each row (plan_services: run it as smtpd, qmgr,
// local or bounce, or accept and ignore a Postfix service that Estafeta builds in, does not need or
// does not have yet), prints rows as `postconf -M` does, and maps an inet service to the
// numeric addresses to bind. Pure: no resolver is used, so hosts must be numeric IPs (or
// "localhost", meaning the loopback addresses).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "config/diagnostic.h"

namespace estafeta::config {

struct Service {
  std::string endpoint;  // "127.0.0.1:2525", "smtp", "[::1]:2525", "submission", "smtps"
  std::string type;      // "inet", "unix", "unix-dgram", "fifo", "pass"
  bool is_private = false, unprivileged = true, chroot = false;
  std::string wakeup, max_process;                             // raw columns ("-" = default)
  std::string command;                                         // "smtpd"
  std::vector<std::pair<std::string, std::string>> overrides;  // -o name=value
  std::vector<std::string> args;                               // other command arguments
  // Every argument after the command, in order, as postconf -M prints them ("-o", "a=b",
  // "{c=d e}" for Postfix 3's "-o { c = d e }").
  std::vector<std::string> arguments;
  std::vector<std::string> columns;  // the eight columns as written (postconf -M)
  std::string file;
  int line = 0;
};

struct MasterCf {
  std::vector<Service> services;
  std::vector<Diagnostic> diagnostics;
  bool ok = true;  // false when some diagnostic is an error
};

/// The master.cf used when <config_dir>/master.cf does not exist: the SMTP server on
/// 127.0.0.1:2525 (a user can run it without root; a packaged main system edits this to
/// "smtp inet ..."), local submission (pickup), the queue manager, the queue listing for
/// users (showq), the local, virtual and smtp delivery agents (smtp serves the smtp and relay
/// transports), the bounce service (Postfix's rows, without chroot), and the message
/// submission services of Postfix's commented example on unprivileged ports: `submission`
/// on 127.0.0.1:2587 (STARTTLS required, then SMTP AUTH) and `submissions` on
/// 127.0.0.1:2465 (implicit TLS, SMTP AUTH), both relaying for authenticated clients only
/// (smtpd_relay_restrictions = permit_sasl_authenticated, reject). Those two need a certificate: without
/// smtpd_tls_cert_file they are not started (load_service_plan says so once).
inline constexpr std::string_view kDefaultMasterCf =
    "127.0.0.1:2525 inet n - n - - smtpd\n"
    "pickup unix n - n 60 1 pickup\n"
    "qmgr unix n - n 300 1 qmgr\n"
    "showq unix n - n - - showq\n"
    "local unix - n n - - local\n"
    "virtual unix - n n - - virtual\n"
    "smtp unix - - n - - smtp\n"
    "relay unix - - n - - smtp\n"
    "bounce unix - - n - 0 bounce\n"
    "127.0.0.1:2587 inet n - n - - smtpd\n"
    "  -o smtpd_tls_security_level=encrypt\n"
    "  -o smtpd_sasl_auth_enable=yes\n"
    "  -o smtpd_tls_auth_only=yes\n"
    "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
    "127.0.0.1:2465 inet n - n - - smtpd\n"
    "  -o smtpd_tls_wrappermode=yes\n"
    "  -o smtpd_sasl_auth_enable=yes\n"
    "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n";
/// The file name of kDefaultMasterCf's rows (Service::file) and diagnostics.
inline constexpr std::string_view kDefaultMasterCfName = "(embedded default master.cf)";

/// The row added when a master.cf has no queue manager (as in Postfix's master.cf).
inline constexpr std::string_view kDefaultQmgrRow = "qmgr unix n - n 300 1 qmgr";
/// The row added when a master.cf has no local delivery agent.
inline constexpr std::string_view kDefaultLocalRow = "local unix - n n - - local";
/// The row added when a master.cf has no virtual delivery agent.
inline constexpr std::string_view kDefaultVirtualRow = "virtual unix - n n - - virtual";
/// The row added when a master.cf has no bounce service (without it nothing is bounced).
inline constexpr std::string_view kDefaultBounceRow = "bounce unix - - n - 0 bounce";

/// Parses master.cf text; `filename` appears in diagnostics.
MasterCf parse_master_cf(std::string_view text, std::string filename);
/// <config_dir>/master.cf, or the embedded default kDefaultMasterCf.
MasterCf load_master_cf(const std::string& config_dir);

/// What Estafeta does with a master.cf row.
enum class ServiceRole {
  Smtpd,    // inet + smtpd: `estafeta smtpd` on the row's listeners
  Qmgr,     // qmgr (or oqmgr): `estafeta qmgr`, one per queue
  Local,    // unix + local: `estafeta local` on private/<service name>
  Virtual,  // unix + virtual: `estafeta virtual` on private/<service name>
  Smtp,     // unix + smtp: `estafeta smtp` on private/<service name> (smtp, relay)
  Pickup,   // pickup: `estafeta pickup`, one per queue (maildrop -> incoming)
  Showq,    // showq: `estafeta showq` on public/showq, the queue listing for users
  Bounce,   // unix + bounce, the row named "bounce": `estafeta bounce` on private/bounce
  Ignored,  // accepted and reported once (built in, not needed, not implemented, unknown)
};

struct PlannedService {
  Service service;
  ServiceRole role = ServiceRole::Ignored;
  bool added = false;  // not in master.cf: added because mail would never be delivered
};

/// The effective service table.
struct ServiceTable {
  /// Every row of master.cf in order (ignored ones too, as postconf -M lists them), then
  /// the rows added for a missing qmgr, local, virtual or bounce.
  std::vector<PlannedService> services;
  /// Warnings to report once: ignored rows ("service cleanup (cleanup): built into Estafeta
  /// or not needed, ignored"), columns and arguments that have no effect, added rows.
  std::vector<Diagnostic> notices;
};

/// Classifies every row of `m` (which must be ok) and adds the qmgr, local, virtual and bounce
/// rows (kDefaultQmgrRow, kDefaultLocalRow, kDefaultVirtualRow, kDefaultBounceRow) when no
/// row runs them, with one notice naming what was added. `file` names master.cf in that
/// notice. Never fails: a row Estafeta cannot run is ignored with a notice, never refused, so
/// a master.cf copied from Postfix starts.
ServiceTable plan_services(const MasterCf& m, const std::string& file);

/// Whether a row of this role is a delivery agent that the queue manager sends the requests
/// of the transport named like the row to (on private/<name>): local, virtual, smtp.
bool is_delivery_agent(ServiceRole role);

/// The names of the transports that have a delivery agent in `table`: the unix rows whose
/// command is a delivery agent (is_delivery_agent), the added ones included.
std::set<std::string, std::less<>> agent_transports(const ServiceTable& table);

/// The notice as logged: "FILE:LINE: TEXT" ("FILE: TEXT" without a line).
std::string notice_text(const Diagnostic& d);

/// One row in `postconf -M`'s layout: the eight columns at Postfix's positions (name 0,
/// type 11, then every 8 columns; a long field pushes the next one right by one space),
/// then the arguments ("smtp       inet  n       -       y       -       -       smtpd").
std::string postconf_m_line(const Service& s);

struct ListenAddress {
  std::string host;  // numeric IP, without brackets
  uint16_t port = 0;
};

/// "127.0.0.1:2525" -> that; "smtp" -> port 25 on each inet_interfaces address ("all" ->
/// 0.0.0.0 and :: as inet_protocols allows; "loopback-only" -> 127.0.0.1 and ::1);
/// "submission" -> 587; "smtps"/"submissions" -> 465; "[::1]:2525"; "2525" -> all interfaces.
/// Errors: not an inet service, unknown service name, bad port, non-numeric host.
Result<std::vector<ListenAddress>> listen_addresses(const Service& s, const Config& c);
/// Effective max concurrent sessions for a service: its maxproc column, "-" ->
/// default_process_limit. 0 means no limit (as in Postfix).
long long max_sessions(const Service& s, const Config& c);

}  // namespace estafeta::config
