// The cleanup stage's envelope half, between the session (or pickup) and the queue writer:
// every envelope address in canonical form (route/canonical_form.h: $myorigin for unqualified
// names, source routes), then cleanup's address rewriting (rewrite/rewriter.h: canonical
// maps, masquerading, virtual alias expansion with the original recipient kept as ORCPT,
// automatic BCC). smtpd calls it when a message begins, pickup for each submitted message,
// so the queue holds only rewritten envelopes. Header addresses and content checks are
// rewritten by the content half (cleanup/content_cleanup.h) with this stage's rewriter.
// Built from main.cf with tables borrowed from a MapSet that must outlive it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "maps/map_set.h"
#include "message/envelope.h"
#include "policy/address_list.h"
#include "rewrite/rewriter.h"
#include "route/route_settings.h"

namespace estafeta::route {

class EnvelopeCleanup {
 public:
  /// The reply and log line of a message that cannot be accepted now ("451 4.6.0 Alias
  /// expansion error"), and the warnings to log with the queue id.
  struct Outcome {
    std::optional<std::string> refusal;  // the full SMTP reply
    std::vector<std::string> log;        // warnings (and the refusal's reason)
  };

  EnvelopeCleanup(RouteSettings route, rewrite::RewriteSettings settings,
                  rewrite::RewriteTables tables);
  EnvelopeCleanup(const EnvelopeCleanup&) = delete;  // the rewriter refers to route_
  EnvelopeCleanup& operator=(const EnvelopeCleanup&) = delete;

  /// Rewrites `envelope` in place (sender and recipients). `add_bcc` is false for mail the
  /// system makes itself (notices), as in Postfix.
  Outcome rewrite(message::Envelope& envelope, bool add_bcc = true) const;

  /// The rewriter for header addresses (the content half calls it), when main.cf asks for
  /// any header class and the message comes from `client_address` ("" for local
  /// submission): Postfix's local_header_rewrite_clients (permit_inet_interfaces: a client
  /// connecting from one of our own addresses, or permit_mynetworks); nullptr otherwise.
  const rewrite::Rewriter* header_rewriter(std::string_view client_address) const;

  /// What main.cf asks that this stage does not do, for a start-up warning ("" if all is
  /// done).
  std::string not_implemented() const;

 private:
  bool rewrites_headers() const;

  RouteSettings route_;
  rewrite::Rewriter rewriter_;
  std::vector<std::string> header_rewrite_clients_;  // local_header_rewrite_clients
  policy::NetworkSet mynetworks_;
  friend Result<std::shared_ptr<const EnvelopeCleanup>> make_envelope_cleanup(
      const config::Config& config, const maps::MapSet& tables);
};

/// The tables the stage looks up (the resolver's domain lists and the rewriting tables).
Result<std::vector<std::string>> envelope_cleanup_table_specs(const config::Config& config);

Result<std::shared_ptr<const EnvelopeCleanup>> make_envelope_cleanup(const config::Config& config,
                                                                     const maps::MapSet& tables);

}  // namespace estafeta::route
