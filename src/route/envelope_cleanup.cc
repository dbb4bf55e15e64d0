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

std::string EnvelopeCleanup::not_implemented() const {
  const rewrite::RewriteSettings& s = rewriter_.settings();
  bool headers = false;
  for (rewrite::AddressClass c :
       {rewrite::AddressClass::HeaderSender, rewrite::AddressClass::HeaderRecipient}) {
    bool canonical = !s.canonical_maps.empty() && s.canonical_classes.has(c);
    bool sender = !s.sender_canonical_maps.empty() && s.sender_canonical_classes.has(c);
    bool recipient = !s.recipient_canonical_maps.empty() && s.recipient_canonical_classes.has(c);
    bool masquerade = !s.masquerade.domains.empty() && s.masquerade_classes.has(c);
    headers = headers || canonical || sender || recipient || masquerade;
  }
  return headers ? "header address rewriting (the header_sender and header_recipient classes "
                   "of canonical_classes and masquerade_classes) is not implemented yet; only "
                   "envelope addresses are rewritten"
                 : "";
}

Result<std::vector<std::string>> envelope_cleanup_table_specs(const config::Config& config) {
  auto settings = rewrite::make_rewrite_settings(config);
  if (!settings.ok()) return settings.error();
  std::vector<std::string> specs = route_table_specs(config);
  for (std::string& spec : rewrite::rewrite_table_specs(*settings)) specs.push_back(spec);
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
  return std::make_shared<const EnvelopeCleanup>(std::move(*route), std::move(*settings),
                                                 std::move(opened));
}

}  // namespace estafeta::route
