// The cleanup rewriting stage (see rewriter.h).
#include "rewrite/rewriter.h"

#include <fmt/format.h>

#include <set>
#include <tuple>
#include <utility>

#include "base/ascii.h"
#include "message/header_addresses.h"
#include "rewrite/address_lookup.h"
#include "rewrite/canonical.h"
#include "rewrite/masquerade.h"
#include "rewrite/virtual_alias.h"

namespace estafeta::rewrite {
namespace {

bool is_sender_class(AddressClass c) {
  return c == AddressClass::EnvelopeSender || c == AddressClass::HeaderSender;
}

// The comma-separated keywords of a DSN NOTIFY value ("SUCCESS,DELAY").
std::vector<std::string_view> notify_keywords(std::string_view notify) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= notify.size()) {
    size_t comma = notify.find(',', start);
    if (comma == std::string_view::npos) comma = notify.size();
    std::string_view item = ascii::trim(notify.substr(start, comma - start));
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

bool notifies_success(std::string_view notify) {
  for (std::string_view k : notify_keywords(notify)) {
    if (ascii::iequals(k, "SUCCESS")) return true;
  }
  return false;
}

// NOTIFY without SUCCESS; "NEVER" when nothing else was asked for.
std::string without_success(std::string_view notify) {
  std::string out;
  for (std::string_view k : notify_keywords(notify)) {
    if (ascii::iequals(k, "SUCCESS")) continue;
    if (!out.empty()) out += ',';
    out += k;
  }
  return out.empty() ? std::string("NEVER") : out;
}

}  // namespace

RewriteTables make_rewrite_tables(
    const RewriteSettings& settings,
    const std::function<const maps::Map*(std::string_view spec)>& find) {
  return RewriteTables{maps::make_search_tables(settings.canonical_maps, find),
                       maps::make_search_tables(settings.sender_canonical_maps, find),
                       maps::make_search_tables(settings.recipient_canonical_maps, find),
                       maps::make_search_tables(settings.virtual_alias_maps, find),
                       maps::make_search_tables(settings.sender_bcc_maps, find),
                       maps::make_search_tables(settings.recipient_bcc_maps, find)};
}

std::optional<AddressClass> header_address_class(std::string_view name) {
  static constexpr std::string_view kSender[] = {
      "From",        "Sender",        "Reply-To",       "Errors-To", "Return-Receipt-To",
      "Resent-From", "Resent-Sender", "Resent-Reply-To"};
  static constexpr std::string_view kRecipient[] = {
      "To", "Cc", "Bcc", "Apparently-To", "Resent-To", "Resent-Cc", "Resent-Bcc"};
  for (std::string_view n : kSender) {
    if (ascii::iequals(n, name)) return AddressClass::HeaderSender;
  }
  for (std::string_view n : kRecipient) {
    if (ascii::iequals(n, name)) return AddressClass::HeaderRecipient;
  }
  return std::nullopt;
}

// Collects the envelope's recipients: virtual alias expansion, "expanded" notices and the
// duplicate filter (Postfix cleanup_out_recipient), stopping at the first deferral.
class Rewriter::EnvelopeBuilder {
 public:
  EnvelopeBuilder(const Rewriter& rewriter, EnvelopeRewrite& out)
      : rewriter_(rewriter), out_(out) {}

  bool failed() const { return out_.deferral.has_value(); }

  // Canonical mapping and masquerading; false (and the deferral recorded) on failure.
  bool rewrite(std::string& address, AddressClass where) {
    AddressRewrite r = rewriter_.rewrite_address(address, where);
    take_warnings(r.warnings);
    if (r.deferral) {
      out_.deferral = std::move(r.deferral);
      return false;
    }
    address = std::move(r.address);
    return true;
  }

  void add(const std::string& address, const std::string& original, const std::string& orcpt,
           std::string notify) {
    AliasExpansion e = expand_virtual_alias(
        rewriter_.tables_.virtual_alias, address, rewriter_.settings_.alias_limits,
        rewriter_.settings_.propagate_virtual, rewriter_.context_);
    if (e.deferral) {
      out_.deferral = std::move(e.deferral);
      return;
    }
    const bool changed = e.addresses.size() > 1 || e.addresses.front() != address;
    if (changed && notifies_success(notify)) {
      out_.expanded.push_back(FinalRecipient{address, original, orcpt, notify});
      notify = without_success(notify);
    }
    for (std::string& a : e.addresses) {
      if (!seen_.insert(std::make_tuple(orcpt, notify, original, a)).second) continue;
      out_.recipients.push_back(FinalRecipient{std::move(a), original, orcpt, notify});
    }
  }

  // An automatic BCC recipient: rewritten as a recipient, NOTIFY=NEVER, no ORCPT.
  void add_bcc(std::string_view bcc) {
    std::string address =
        rewriter_.context_.canonicalize ? rewriter_.context_.canonicalize(bcc) : std::string(bcc);
    if (!rewrite(address, AddressClass::EnvelopeRecipient)) return;
    add(address, address, "", "NEVER");
  }

  // The BCC address `tables` give for `key` (sender_bcc_maps, recipient_bcc_maps).
  void add_bcc_for(const TableList& tables, std::string_view parameter, std::string_view key) {
    if (tables.empty() || key.empty()) return;
    AddressMatch m = find_address(tables, key, rewriter_.context_);
    if (m.status == maps::LookupStatus::TempFail) {
      out_.deferral = table_deferral(parameter, key);
      return;
    }
    if (m.status == maps::LookupStatus::NotFound) return;
    std::vector<std::string> bcc = parse_table_addresses(m.value);
    if (bcc.empty()) return;
    if (bcc.size() > 1) {
      out_.warnings.push_back(fmt::format(
          "{} entry for {} names several addresses; only the first is used", parameter, key));
    }
    add_bcc(bcc.front());
  }

 private:
  void take_warnings(std::vector<std::string>& warnings) {
    for (std::string& w : warnings) out_.warnings.push_back(std::move(w));
  }

  const Rewriter& rewriter_;
  EnvelopeRewrite& out_;
  std::set<std::tuple<std::string, std::string, std::string, std::string>> seen_;
};

Rewriter::Rewriter(RewriteSettings settings, RewriteTables tables, Context context)
    : settings_(std::move(settings)), tables_(std::move(tables)), context_(std::move(context)) {}

AddressRewrite Rewriter::rewrite_address(std::string_view address, AddressClass where) const {
  AddressRewrite out{std::string(address), {}, std::nullopt};
  struct Step {
    const TableList* tables;
    std::string_view parameter;
    bool applies;
  };
  const bool sender = is_sender_class(where);
  const Step steps[] = {
      {sender ? &tables_.sender_canonical : &tables_.recipient_canonical,
       sender ? "sender_canonical_maps" : "recipient_canonical_maps",
       sender ? settings_.sender_canonical_classes.has(where)
              : settings_.recipient_canonical_classes.has(where)},
      {&tables_.canonical, "canonical_maps", settings_.canonical_classes.has(where)},
  };
  for (const Step& step : steps) {
    if (!step.applies) continue;
    MappedOne m = map_one_to_one(*step.tables, step.parameter, out.address,
                                 settings_.propagate_canonical, context_);
    for (std::string& w : m.warnings) out.warnings.push_back(std::move(w));
    if (m.deferral) {
      out.deferral = std::move(m.deferral);
      return out;
    }
    out.address = std::move(m.address);
  }
  if (settings_.masquerade_classes.has(where)) {
    out.address = masquerade(out.address, settings_.masquerade);
  }
  return out;
}

EnvelopeRewrite Rewriter::rewrite_envelope(std::string_view sender,
                                           const std::vector<message::Recipient>& recipients,
                                           bool add_bcc) const {
  EnvelopeRewrite out;
  EnvelopeBuilder builder(*this, out);
  out.sender = std::string(sender);
  if (!sender.empty() && !builder.rewrite(out.sender, AddressClass::EnvelopeSender)) return out;
  if (add_bcc) builder.add_bcc_for(tables_.sender_bcc, "sender_bcc_maps", out.sender);
  for (const message::Recipient& r : recipients) {
    if (builder.failed()) return out;
    std::string address = r.address;
    if (!builder.rewrite(address, AddressClass::EnvelopeRecipient)) return out;
    builder.add(address, r.address, r.orcpt, r.notify);
    if (add_bcc && !builder.failed()) {
      builder.add_bcc_for(tables_.recipient_bcc, "recipient_bcc_maps", address);
    }
  }
  if (add_bcc && !builder.failed() && !settings_.always_bcc.empty() && !recipients.empty()) {
    builder.add_bcc(settings_.always_bcc);
  }
  return out;
}

HeaderRewrite Rewriter::rewrite_header(std::string_view name, std::string_view value) const {
  HeaderRewrite out;
  const std::optional<AddressClass> where = header_address_class(name);
  if (!where) {
    out.value = std::string(value);
    return out;
  }
  out.value = message::rewrite_header_addresses(
      value, [&](std::string_view address) -> std::optional<std::string> {
        if (out.deferral) return std::nullopt;
        AddressRewrite r = rewrite_address(address, *where);
        for (std::string& w : r.warnings) out.warnings.push_back(std::move(w));
        if (r.deferral) {
          out.deferral = std::move(r.deferral);
          return std::nullopt;
        }
        return std::move(r.address);
      });
  out.changed = out.value != value;
  return out;
}

maps::LookupStatus Rewriter::has_virtual_alias_entry(std::string_view address) const {
  for (const TableList* tables :
       {&tables_.recipient_canonical, &tables_.canonical, &tables_.virtual_alias}) {
    const maps::LookupStatus status = find_address(*tables, address, context_).status;
    if (status != maps::LookupStatus::NotFound) return status;
  }
  return maps::LookupStatus::NotFound;
}

}  // namespace estafeta::rewrite
