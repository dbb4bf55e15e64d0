// The envelope half of the cleanup stage (see envelope_cleanup.h).
#include "route/envelope_cleanup.h"

#include <fmt/format.h>

#include "base/ascii.h"
#include "route/canonical_form.h"
#include "route/resolver.h"
#include "route/route_config.h"

namespace estafeta::route {
namespace {

rewrite::Context make_context(const RouteSettings& route) {
  rewrite::Context c;
  c.recipient_delimiter = route.recipient_delimiter;
  // Postfix's "local" for the bare `user` key: $myorigin, $mydestination, our addresses.
  c.is_local_domain = [&route](std::string_view domain) {
    if (ascii::iequals(domain, route.myorigin)) return maps::LookupStatus::Found;
    switch (is_local_domain(route, domain)) {
      case policy::Match::Yes:
        return maps::LookupStatus::Found;
      case policy::Match::No:
        return maps::LookupStatus::NotFound;
      case policy::Match::TempFail:
        return maps::LookupStatus::TempFail;
    }
    return maps::LookupStatus::TempFail;
  };
  c.canonicalize = [&route](std::string_view address) { return canonical_form(route, address); };
  return c;
}

}  // namespace

EnvelopeCleanup::EnvelopeCleanup(RouteSettings route, rewrite::RewriteSettings settings,
                                 rewrite::RewriteTables tables)
    : route_(std::move(route)),
      rewriter_(std::move(settings), std::move(tables), make_context(route_)) {}

EnvelopeCleanup::Outcome EnvelopeCleanup::rewrite(message::Envelope& envelope, bool add_bcc) const {
  Outcome out;
  std::string sender = canonical_form(route_, envelope.sender);
  std::vector<message::Recipient> recipients = envelope.recipients;
  for (auto& r : recipients) r.address = canonical_form(route_, r.address);
  rewrite::EnvelopeRewrite rewritten = rewriter_.rewrite_envelope(sender, recipients, add_bcc);
  out.log = std::move(rewritten.warnings);
  if (rewritten.deferral) {
    out.refusal = fmt::format("451 {} {}", rewritten.deferral->status, rewritten.deferral->text);
    if (!rewritten.deferral->log.empty()) out.log.push_back(rewritten.deferral->log);
    return out;
  }
  envelope.sender = std::move(rewritten.sender);
  envelope.recipients.clear();
  for (auto& r : rewritten.recipients) {
    message::Recipient q;
    // The original recipient travels as ORCPT (RFC 3461) when the client gave none.
    q.orcpt = !r.dsn_orcpt.empty()      ? std::move(r.dsn_orcpt)
              : r.original != r.address ? "rfc822;" + r.original
                                        : std::string();
    q.address = std::move(r.address);
    q.notify = std::move(r.notify);
    envelope.recipients.push_back(std::move(q));
  }
  return out;
}

bool EnvelopeCleanup::rewrites_headers() const {
  const rewrite::RewriteSettings& s = rewriter_.settings();
  for (rewrite::AddressClass c :
       {rewrite::AddressClass::HeaderSender, rewrite::AddressClass::HeaderRecipient}) {
    if ((!s.canonical_maps.empty() && s.canonical_classes.has(c)) ||
        (!s.sender_canonical_maps.empty() && s.sender_canonical_classes.has(c)) ||
        (!s.recipient_canonical_maps.empty() && s.recipient_canonical_classes.has(c)) ||
        (!s.masquerade.domains.empty() && s.masquerade_classes.has(c))) {
      return true;
    }
  }
  return false;
}

const rewrite::Rewriter* EnvelopeCleanup::header_rewriter(std::string_view client_address) const {
  if (!rewrites_headers()) return nullptr;
  if (client_address.empty()) return &rewriter_;  // local submission
  for (const std::string& item : header_rewrite_clients_) {
    if (item == "permit_inet_interfaces") {
      for (const std::string& own : route_.own_addresses) {
        if (ascii::iequals(own, client_address)) return &rewriter_;
      }
    } else if (item == "permit_mynetworks") {
      if (mynetworks_.contains(client_address) == policy::Match::Yes) return &rewriter_;
    } else if (item == "static:all") {
      return &rewriter_;
    }
  }
  return nullptr;
}

std::string EnvelopeCleanup::not_implemented() const {
  for (const std::string& item : header_rewrite_clients_) {
    if (item != "permit_inet_interfaces" && item != "permit_mynetworks" && item != "static:all") {
      return "local_header_rewrite_clients: only permit_inet_interfaces, permit_mynetworks and "
             "static:all are implemented; \"" +
             item + "\" is ignored";
    }
  }
  return "";
}

Result<std::vector<std::string>> envelope_cleanup_table_specs(const config::Config& config) {
  auto settings = rewrite::make_rewrite_settings(config);
  if (!settings.ok()) return settings.error();
  std::vector<std::string> specs = route_table_specs(config);
  for (std::string& spec : rewrite::rewrite_table_specs(*settings)) specs.push_back(spec);
  auto networks = policy::split_list_items(config.get_list("mynetworks"));
  specs.insert(specs.end(), networks.tables.begin(), networks.tables.end());
  return specs;
}

Result<std::shared_ptr<const EnvelopeCleanup>> make_envelope_cleanup(const config::Config& config,
                                                                     const maps::MapSet& tables) {
  auto route = make_route_settings(config, tables);
  if (!route.ok()) return route.error();
  auto settings = rewrite::make_rewrite_settings(config);
  if (!settings.ok()) return settings.error();
  rewrite::RewriteTables opened = rewrite::make_rewrite_tables(
      *settings, [&tables](std::string_view spec) { return &tables.find_or_unavailable(spec); });
  auto made =
      std::make_shared<EnvelopeCleanup>(std::move(*route), std::move(*settings), std::move(opened));
  made->header_rewrite_clients_ = config.get_list("local_header_rewrite_clients");
  auto networks = policy::split_list_items(config.get_list("mynetworks"));
  std::vector<const maps::Map*> network_tables;
  for (const auto& spec : networks.tables)
    network_tables.push_back(&tables.find_or_unavailable(spec));
  made->mynetworks_ =
      policy::NetworkSet(policy::NetworkList::parse(networks.literals, nullptr), network_tables);
  return std::shared_ptr<const EnvelopeCleanup>(std::move(made));
}

}  // namespace estafeta::route
