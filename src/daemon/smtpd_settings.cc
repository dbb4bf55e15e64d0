// Config -> SmtpdSettings (see smtpd_settings.h).
#include "daemon/smtpd_settings.h"

#include <fmt/format.h>

#include <filesystem>

#include "daemon/anvil_redis.h"
#include "daemon/drac_store.h"
#include "daemon/runtime.h"
#include "message/smtputf8_autodetect.h"
#include "route/route_config.h"

namespace estafeta::daemon {

Result<std::shared_ptr<const DracStore>> make_drac_store(const config::Config& config) {
  DracOptions options;
  options.directory = config.get("drac_database");
  if (options.directory.empty()) options.directory = config.get("queue_directory") + "/drac";
  options.directory = absolute_path(options.directory);
  options.timeout = std::chrono::seconds(config.get_seconds("drac_timeout"));
  options.redis_server = config.get("drac_redis_server");
  options.redis_key_prefix = config.get("drac_redis_key_prefix");
  auto store = DracStore::create(std::move(options), std::make_shared<SystemClock>());
  if (!store.ok()) return store.error();
  return std::shared_ptr<const DracStore>(std::move(*store));
}
namespace {

constexpr const char* kTableParameters[] = {
    "header_checks", "body_checks", "smtpd_client_event_limit_exceptions",
    "smtpd_forbid_bare_newline_exclusions", "fast_flush_domains", "permit_mx_backup_networks"};

std::vector<const maps::Map*> find_tables(const maps::MapSet& set,
                                          const std::vector<std::string>& specs) {
  std::vector<const maps::Map*> tables;
  for (const auto& spec : specs) {
    if (const maps::Map* table = set.find(spec)) tables.push_back(table);
  }
  return tables;
}

Result<SaslSettings> make_sasl_settings(const config::Config& config) {
  SaslSettings sasl;
  sasl.enabled = config.get_bool("smtpd_sasl_auth_enable");
  sasl.service = config.get("smtpd_sasl_service");
  sasl.authenticated_header = config.get_bool("smtpd_sasl_authenticated_header");
  for (auto [name, options] : {std::pair{"smtpd_sasl_security_options", &sasl.options},
                               std::pair{"smtpd_sasl_tls_security_options", &sasl.tls_options}}) {
    auto parsed = sasl::parse_security_options(config.get(name));
    if (!parsed.ok()) return make_error(fmt::format("{}: {}", name, parsed.error().message));
    *options = *parsed;
  }
  if (!sasl.enabled) return sasl;
  if (config.get("smtpd_sasl_type") != "dovecot") {
    return make_error(fmt::format("smtpd_sasl_type: {} is not supported (only dovecot)",
                                  config.get("smtpd_sasl_type")));
  }
  if (sasl.service.empty() ||
      sasl.service.find_first_of(" \t\r\n") != std::string::npos) {
    return make_error(fmt::format("smtpd_sasl_service: bad value: \"{}\"", sasl.service));
  }
  const std::string path = config.get("smtpd_sasl_path");
  if (path.empty()) return make_error("smtpd_sasl_path: empty");
  if (path.starts_with("inet:")) {
    const size_t colon = path.rfind(':');
    if (colon <= 5 || colon + 1 == path.size()) {
      return make_error(fmt::format("smtpd_sasl_path: bad inet address: {}", path));
    }
    sasl.path = path;
  } else if (path.starts_with("unix:")) {
    sasl.path = path.substr(5);
  } else {
    sasl.path = path;
  }
  if (!sasl.path.starts_with("inet:") && !sasl.path.starts_with("/")) {
    // Postfix: relative to the queue directory (smtpd's chroot jail there).
    std::error_code ec;
    auto queue = std::filesystem::absolute(config.get("queue_directory"), ec);
    sasl.path = (ec ? std::filesystem::path(config.get("queue_directory")) : queue) / sasl.path;
    sasl.path = std::filesystem::path(sasl.path).lexically_normal().string();
  }
  return sasl;
}

}  // namespace

std::vector<std::string> smtpd_table_specs(const config::Config& config) {
  std::vector<std::string> specs = route::recipient_table_specs(config);
  if (auto cleanup = route::envelope_cleanup_table_specs(config); cleanup.ok()) {
    specs.insert(specs.end(), cleanup->begin(), cleanup->end());
  }  // else make_smtpd_settings reports the error
  for (const char* name : kTableParameters) {
    auto split = policy::split_list_items(config.get_list(name));
    specs.insert(specs.end(), split.tables.begin(), split.tables.end());
  }
  // The restriction lists' tables (check_*_access, rbl_reply_maps); a bad list is reported
  // by make_smtpd_settings.
  if (auto restrictions = policy::make_restriction_settings(config, policy::NetworkSet{});
      restrictions.ok()) {
    auto more = restrictions->table_specs();
    specs.insert(specs.end(), more.begin(), more.end());
  }
  return specs;
}

Result<SmtpdSettings> make_smtpd_settings(const config::Config& config, long long max_sessions,
                                          std::shared_ptr<const maps::MapSet> tables) {
  SmtpdSettings s;
  s.tables = std::move(tables);
  const maps::MapSet& set = *s.tables;
  auto& session = s.session;
  session.hostname = config.get("myhostname");
  session.banner = config.get("smtpd_banner");
  session.message_size_limit = static_cast<uint64_t>(config.get_int("message_size_limit"));
  session.recipient_limit = static_cast<size_t>(config.get_int("smtpd_recipient_limit"));
  session.soft_error_limit = static_cast<int>(config.get_int("smtpd_soft_error_limit"));
  session.error_sleep_ms = config.get_seconds("smtpd_error_sleep_time") * 1000;
  session.hard_error_limit = static_cast<int>(config.get_int("smtpd_hard_error_limit"));
  session.helo_required = config.get_bool("smtpd_helo_required");
  session.vrfy_enabled = !config.get_bool("disable_vrfy_command");
  auto bare_newline = smtp::parse_bare_newline_mode(config.get("smtpd_forbid_bare_newline"));
  if (!bare_newline) {
    return make_error(fmt::format("smtpd_forbid_bare_newline: bad value: {}",
                                  config.get("smtpd_forbid_bare_newline")));
  }
  session.bare_newline = *bare_newline;
  session.bare_newline_reject_code =
      static_cast<int>(config.get_int("smtpd_forbid_bare_newline_reject_code"));
  session.smtputf8_enabled = config.get_bool("smtputf8_enable");
  s.smtputf8_autodetect = message::Smtputf8Autodetect::parse(
                              session.smtputf8_enabled, config.get("smtputf8_autodetect_classes"))
                              .applies_to(message::MailOrigin::kSmtpd);
  session.command_line_limit = static_cast<size_t>(config.get_int("line_length_limit"));

  s.tls_security_level = config.get("smtpd_tls_security_level");
  s.tls_cert_file = config.get("smtpd_tls_cert_file");
  s.tls_key_file = config.get("smtpd_tls_key_file");
  s.wrapper_mode = config.get_bool("smtpd_tls_wrappermode");
  if ((s.offer_starttls() || s.wrapper_mode) &&
      (s.tls_cert_file.empty() || s.tls_key_file.empty())) {
    return make_error(
        "smtpd_tls_security_level/smtpd_tls_wrappermode need smtpd_tls_cert_file and "
        "smtpd_tls_key_file");
  }
  session.starttls_available = s.offer_starttls() && !s.wrapper_mode;
  session.tls_required = s.tls_security_level == "encrypt" && !s.wrapper_mode;
  session.tls_active = false;  // set per connection once TLS is up

  s.peername_lookup = config.get_bool("smtpd_peername_lookup");
  s.resolver = outbound::resolver_options(config);
  if (s.peername_lookup) {
    if (auto servers = outbound::nameserver_csv(s.resolver.nameservers); !servers.ok()) {
      return make_error("resolver_nameservers: " + servers.error().message);
    }
  }

  std::vector<std::string> bad;
  auto recipients = route::make_recipient_policy(config, set);
  if (!recipients.ok()) return recipients.error();
  s.recipients = std::move(*recipients);
  auto restrictions = policy::make_restriction_settings(config, s.recipients.mynetworks);
  if (!restrictions.ok()) return restrictions.error();
  s.restrictions_use_unlisted_sender = restrictions->reject_unlisted_sender ||
                                       restrictions->names(policy::RestrictionKind::RejectUnlistedSender);
  for (const std::string& spec : restrictions->table_specs()) {
    const maps::Map* table = set.find(spec);
    if (table != nullptr && table->is_remote()) s.restriction_tables_remote = true;
  }
  if (restrictions->names(policy::RestrictionKind::PermitDracClient)) {
    auto drac = make_drac_store(config);
    if (!drac.ok()) return drac.error();
    s.drac = std::move(*drac);
  }
  {
    // permit_mx_backup: our addresses (inet_interfaces, proxy_interfaces) and the networks
    // of the primary MX hosts we back up for.
    restrictions->own_addresses = s.recipients.route.own_addresses;
    auto networks = policy::split_list_items(config.get_list("permit_mx_backup_networks"));
    restrictions->mx_backup_networks_set = !networks.literals.empty() || !networks.tables.empty();
    restrictions->mx_backup_networks = policy::NetworkSet(
        policy::NetworkList::parse(networks.literals, &bad), find_tables(set, networks.tables));
    if (!bad.empty()) {
      return make_error(fmt::format("permit_mx_backup_networks: bad network: {}", bad.front()));
    }
    if (restrictions->mx_backup_networks.has_remote_tables()) s.restriction_tables_remote = true;
  }
  s.restrictions = std::make_shared<const policy::RestrictionSettings>(std::move(*restrictions));
  s.policy_service = policy_service_settings(config);
  {
    // Where the session must pause (smtp/policy_facts.h): RCPT always; the others when a
    // list decides there (Postfix evaluates the client, HELO and sender lists at RCPT with
    // smtpd_delay_reject).
    const policy::RestrictionSettings& r = *s.restrictions;
    smtp::PolicyStages& stages = session.policy_stages;
    if (!r.delay_reject) {
      if (!r.client.empty()) stages.set(smtp::PolicyStage::Connect);
      if (!r.helo.empty()) stages.set(smtp::PolicyStage::Helo);
      if (!r.sender.empty() || r.reject_unlisted_sender) stages.set(smtp::PolicyStage::Mail);
    }
    if (!r.data.empty()) stages.set(smtp::PolicyStage::Data);
    if (!r.end_of_data.empty()) stages.set(smtp::PolicyStage::EndOfData);
    if (!r.etrn.empty() || (r.delay_reject && (!r.client.empty() || !r.helo.empty()))) {
      stages.set(smtp::PolicyStage::Etrn);
    }
    if (session.vrfy_enabled) stages.set(smtp::PolicyStage::Vrfy);
  }
  auto cleanup = route::make_envelope_cleanup(config, set);
  if (!cleanup.ok()) return cleanup.error();
  s.cleanup = std::move(*cleanup);
  auto header_checks = policy::split_list_items(config.get_list("header_checks"));
  auto body_checks = policy::split_list_items(config.get_list("body_checks"));
  for (const auto* list : {&header_checks, &body_checks}) {
    if (!list->literals.empty()) {
      return make_error(fmt::format("header_checks/body_checks: not a table: \"{}\"",
                                    list->literals.front()));
    }
  }
  s.content.header_checks = find_tables(set, header_checks.tables);
  s.content.body_checks = find_tables(set, body_checks.tables);
  s.content.check_settings.body_size_limit =
      static_cast<size_t>(config.get_int("body_checks_size_limit"));
  s.content.hopcount_limit = static_cast<size_t>(config.get_int("hopcount_limit"));
  auto exceptions =
      policy::split_list_items(config.get_list("smtpd_client_event_limit_exceptions"));
  s.limit_exceptions = policy::NetworkSet(policy::NetworkList::parse(exceptions.literals, &bad),
                                          find_tables(set, exceptions.tables));
  if (!bad.empty()) {
    return make_error(
        fmt::format("smtpd_client_event_limit_exceptions: bad network: {}", bad.front()));
  }
  auto exclusions =
      policy::split_list_items(config.get_list("smtpd_forbid_bare_newline_exclusions"));
  s.bare_newline_exclusions = policy::NetworkSet(
      policy::NetworkList::parse(exclusions.literals, &bad), find_tables(set, exclusions.tables));
  if (!bad.empty()) {
    return make_error(
        fmt::format("smtpd_forbid_bare_newline_exclusions: bad network: {}", bad.front()));
  }
  auto flush_domains = policy::split_list_items(config.get_list("fast_flush_domains"));
  bool flush_subdomains = false;
  for (const auto& item : config.get_list("parent_domain_matches_subdomains")) {
    flush_subdomains = flush_subdomains || item == "fast_flush_domains";
  }
  s.fast_flush_domains = policy::DomainList(
      flush_domains.literals, find_tables(set, flush_domains.tables), flush_subdomains);
  session.etrn_advertised = !flush_domains.literals.empty() || !flush_domains.tables.empty();
  if (auto sasl = make_sasl_settings(config); sasl.ok()) {
    s.sasl = std::move(*sasl);
  } else {
    return sasl.error();
  }
  session.sasl_enabled = s.sasl.enabled;
  session.sasl_tls_only = config.get_bool("smtpd_tls_auth_only");
  session.sasl_broken_clients = config.get_bool("broken_sasl_auth_clients");
  s.timeout = std::chrono::seconds(config.get_seconds("smtpd_timeout"));
  s.max_sessions = max_sessions;
  policy::AnvilLimits& anvil = s.anvil;
  anvil.time_unit = std::chrono::seconds(config.get_seconds("anvil_rate_time_unit"));
  anvil.connection_count = config.get_int("smtpd_client_connection_count_limit");
  anvil.connection_rate = config.get_int("smtpd_client_connection_rate_limit");
  anvil.message_rate = config.get_int("smtpd_client_message_rate_limit");
  anvil.recipient_rate = config.get_int("smtpd_client_recipient_rate_limit");
  anvil.new_tls_rate = config.get_int("smtpd_client_new_tls_session_rate_limit");
  anvil.auth_rate = config.get_int("smtpd_client_auth_rate_limit");
  // The message rate is judged at MAIL: the session pauses there only when it is limited.
  if (anvil.message_rate > 0) s.session.policy_stages.set(smtp::PolicyStage::Mail);
  s.anvil_redis_server = config.get("anvil_redis_server");
  if (!s.anvil_redis_server.empty()) {
    if (auto parsed = parse_redis_server(s.anvil_redis_server); !parsed.ok()) {
      return make_error(fmt::format("anvil_redis_server: {}", parsed.error().message));
    }
  }
  s.anvil_redis_key_prefix = config.get("anvil_redis_key_prefix");
  s.anvil_redis_timeout = std::chrono::seconds(config.get_seconds("anvil_redis_timeout"));
  s.greet_pause = std::chrono::seconds(config.get_seconds("smtpd_greet_pause"));
  return s;
}

smtp::BareNewlineMode SmtpdSettings::bare_newline_for(std::string_view client_address) const {
  if (session.bare_newline == smtp::BareNewlineMode::No) return smtp::BareNewlineMode::No;
  if (bare_newline_exclusions.contains(client_address) == policy::Match::Yes) {
    return smtp::BareNewlineMode::No;
  }
  return session.bare_newline;
}

}  // namespace estafeta::daemon
