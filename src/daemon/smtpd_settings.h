// What one smtpd listener needs to know, derived once from the immutable Config (with the
// service's master.cf -o overrides applied): session limits, the recipient policy, timeouts,
// connection limits and TLS. Pure apart from reading nothing: a plain value.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/result.h"
#include "config/config.h"
#include "maps/map_set.h"
#include "outbound/dns_settings.h"
#include "policy/anvil.h"
#include "policy/network.h"
#include "cleanup/content_cleanup.h"
#include "policy/recipient_check.h"
#include "policy/restriction_settings.h"
#include "daemon/drac_store.h"
#include "daemon/policy_client.h"
#include "outbound/dns_settings.h"
#include "route/envelope_cleanup.h"
#include "sasl/smtp_auth.h"
#include "smtp/server_session.h"

namespace estafeta::daemon {

/// SMTP AUTH through Dovecot (docs/smtp-auth.md). session.sasl_* hold what the session needs.
struct SaslSettings {
  bool enabled = false;             // smtpd_sasl_auth_enable
  std::string path;                 // smtpd_sasl_path, resolved: an absolute socket path or
                                    // "inet:host:port"
  std::string service = "smtp";     // smtpd_sasl_service
  sasl::SecurityOptions options;      // smtpd_sasl_security_options
  sasl::SecurityOptions tls_options;  // smtpd_sasl_tls_security_options
  bool authenticated_header = false;  // smtpd_sasl_authenticated_header
};

struct SmtpdSettings {
  smtp::SessionSettings session;
  policy::RecipientPolicy recipients;       // its tables live in `tables`
  /// smtpd_*_restrictions and their parameters (policy/restriction_settings.h); the tables
  /// they name live in `tables`.
  std::shared_ptr<const policy::RestrictionSettings> restrictions;
  bool restrictions_use_unlisted_sender = false;  // sender facts need the recipient tables
  bool restriction_tables_remote = false;         // a check_*_access table is pgsql:/redis:
  PolicyServiceSettings policy_service;           // smtpd_policy_service_*
  /// DRAC grants (permit_drac_client, an Estafeta addition; docs/drac.md); null when no
  /// list names permit_drac_client.
  std::shared_ptr<const DracStore> drac;
  std::shared_ptr<const route::EnvelopeCleanup> cleanup;  // envelope rewriting; tables too
  cleanup::ContentSettings content;  // hop count, header_checks, body_checks; tables too
  /// smtputf8_autodetect_classes `smtpd`: checked on the envelope after its rewriting (the
  /// queue file's envelope is written before the headers arrive).
  bool smtputf8_autodetect = false;
  std::shared_ptr<const maps::MapSet> tables;
  policy::NetworkSet limit_exceptions;       // smtpd_client_event_limit_exceptions
  policy::NetworkSet bare_newline_exclusions;  // smtpd_forbid_bare_newline_exclusions
  policy::DomainList fast_flush_domains;       // the sites ETRN may flush
  SaslSettings sasl;
  std::chrono::seconds timeout{300};         // smtpd_timeout
  long long max_sessions = 100;              // master.cf maxproc
  /// smtpd_client_connection_count_limit, smtpd_client_*_rate_limit, anvil_rate_time_unit
  /// (0 = no limit); the exempt clients are limit_exceptions.
  policy::AnvilLimits anvil;
  std::string anvil_redis_server;       // empty: counters per instance only
  std::string anvil_redis_key_prefix;
  std::chrono::seconds anvil_redis_timeout{1};
  std::chrono::seconds greet_pause{0};  // smtpd_greet_pause (0: none)
  bool wrapper_mode = false;                 // smtpd_tls_wrappermode (implicit TLS, port 465)
  /// smtpd_peername_lookup: the client's names come from DNS at connect
  /// (daemon/client_names.h), through a resolver with these options (resolver_nameservers);
  /// no: every client is "unknown".
  bool peername_lookup = true;
  outbound::ResolverOptions resolver;
  std::string tls_security_level;            // "", none, may, encrypt
  std::string tls_cert_file;
  std::string tls_key_file;
  bool tls_wanted() const { return !tls_cert_file.empty() && (wrapper_mode || offer_starttls()); }
  bool offer_starttls() const {
    return tls_security_level == "may" || tls_security_level == "encrypt";
  }
  /// Some decision of a session may block on the network (pgsql:, redis: tables): the edge
  /// then makes it on a maps::LookupPool thread.
  bool has_remote_tables() const {
    return recipients.has_remote_tables() || bare_newline_exclusions.has_remote_tables() ||
           restriction_tables_remote || (drac && drac->remote());
  }
  /// A policy decision may block on a table (daemon/smtpd_policy.h then runs its
  /// synchronous steps on the lookup pool).
  bool policy_has_remote_tables() const {
    return recipients.has_remote_tables() || restriction_tables_remote ||
           (drac && drac->remote());
  }
  /// smtpd_forbid_bare_newline for one client: No when the client is in
  /// smtpd_forbid_bare_newline_exclusions, else session.bare_newline. A table that cannot
  /// answer excludes nobody (Postfix: a lookup error is no match). May block on a remote
  /// table (bare_newline_exclusions.has_remote_tables()).
  smtp::BareNewlineMode bare_newline_for(std::string_view client_address) const;
};

/// The "type:name" tables these settings look things up in (mydestination, relay_domains,
/// mynetworks may name tables, as in Postfix).
std::vector<std::string> smtpd_table_specs(const config::Config& config);

/// The DRAC grant store of `config` (drac_database, drac_timeout, drac_redis_*); smtpd's and
/// `estafeta drac`'s.
Result<std::shared_ptr<const DracStore>> make_drac_store(const config::Config& config);

/// Builds the settings; an error names the parameter whose value cannot be used. `tables`
/// must hold every spec of smtpd_table_specs(config) (a missing one fails every lookup with
/// a temporary error).
Result<SmtpdSettings> make_smtpd_settings(const config::Config& config, long long max_sessions,
                                          std::shared_ptr<const maps::MapSet> tables);

}  // namespace estafeta::daemon
