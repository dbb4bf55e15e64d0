// The cleanup rewriting stage (Postfix cleanup(8)'s address rewriting) as one pure object:
// what happens to the envelope sender, to each envelope recipient and to the address
// headers between the session (or pickup) and the queue file. Per address class, in
// Postfix's order: sender_canonical_maps or recipient_canonical_maps, then canonical_maps,
// then masquerade_domains; for each recipient afterwards virtual alias expansion and the
// duplicate filter; automatic BCC recipients (sender_bcc_maps, recipient_bcc_maps,
// always_bcc) are rewritten as recipients and get NOTIFY=NEVER. Any table that cannot
// answer defers the whole message (the caller replies 451 and writes nothing).
// Thread contract: const methods, safe from several threads when the borrowed tables are.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "maps/map.h"
#include "message/envelope.h"
#include "rewrite/settings.h"
#include "rewrite/tables.h"

namespace estafeta::rewrite {

/// The opened tables of RewriteSettings, borrowed (see tables.h).
struct RewriteTables {
  TableList canonical;
  TableList sender_canonical;
  TableList recipient_canonical;
  TableList virtual_alias;
  TableList sender_bcc;
  TableList recipient_bcc;
};

/// Builds RewriteTables from the settings' specs; `find` returns the opened table of a spec
/// (maps::MapSet::find) or nullptr.
RewriteTables make_rewrite_tables(
    const RewriteSettings& settings,
    const std::function<const maps::Map*(std::string_view spec)>& find);

/// A recipient as it goes into the queue file.
struct FinalRecipient {
  std::string address;    ///< after canonical, masquerading and virtual alias expansion
  std::string original;   ///< as received (X-Original-To, Postfix orig_rcpt); BCC: itself
  std::string dsn_orcpt;  ///< DSN ORCPT as received, or ""
  /// DSN NOTIFY as received ("" when none); after an alias expansion without SUCCESS
  /// ("NEVER" when SUCCESS was all); "NEVER" for automatic BCC recipients.
  std::string notify;
  bool operator==(const FinalRecipient&) const = default;
};

struct AddressRewrite {
  std::string address;
  std::vector<std::string> warnings;
  std::optional<Deferral> deferral;
};

struct EnvelopeRewrite {
  std::string sender;
  std::vector<FinalRecipient> recipients;  ///< without duplicates, in Postfix's order
  /// Recipients (as before expansion) whose NOTIFY had SUCCESS and that an alias expanded:
  /// the caller records an "expanded" success notice for each (DSN 2.0.0 "alias expanded").
  std::vector<FinalRecipient> expanded;
  std::vector<std::string> warnings;  ///< to log with the queue id
  std::optional<Deferral> deferral;   ///< set: refuse the message ("451 status text")
};

struct HeaderRewrite {
  std::string value;  ///< the header value; only addr-spec bytes differ from the input
  bool changed = false;
  std::vector<std::string> warnings;
  std::optional<Deferral> deferral;
};

/// Which class the addresses of header `name` belong to (case-insensitive); nullopt for a
/// header whose addresses are not rewritten. Sender: From, Sender, Reply-To, Errors-To,
/// Return-Receipt-To, Resent-From, Resent-Sender, Resent-Reply-To. Recipient: To, Cc, Bcc,
/// Apparently-To, Resent-To, Resent-Cc, Resent-Bcc.
std::optional<AddressClass> header_address_class(std::string_view name);

class Rewriter {
 public:
  /// `context.recipient_delimiter` is normally settings.recipient_delimiter.
  Rewriter(RewriteSettings settings, RewriteTables tables, Context context);

  /// Canonical mapping and masquerading of one address appearing as `where`.
  AddressRewrite rewrite_address(std::string_view address, AddressClass where) const;

  /// The whole envelope: the sender (the null sender stays null and gets no BCC), each
  /// recipient, then the automatic BCC recipients unless `add_bcc` is false (Postfix turns
  /// BCC off for mail it generates itself).
  EnvelopeRewrite rewrite_envelope(std::string_view sender,
                                   const std::vector<message::Recipient>& recipients,
                                   bool add_bcc = true) const;

  /// One header: the addresses of a header_address_class() header, rewritten in place.
  HeaderRewrite rewrite_header(std::string_view name, std::string_view value) const;

  /// For RCPT in a virtual_alias_domains domain, as Postfix smtpd: Found when
  /// recipient_canonical_maps, canonical_maps or virtual_alias_maps has an entry for the
  /// address (same key order as the rewriting), NotFound ("User unknown in virtual alias
  /// table"), TempFail (reply 4xx).
  maps::LookupStatus has_virtual_alias_entry(std::string_view address) const;

  const RewriteSettings& settings() const { return settings_; }

 private:
  class EnvelopeBuilder;

  RewriteSettings settings_;
  RewriteTables tables_;
  Context context_;
};

}  // namespace estafeta::rewrite
