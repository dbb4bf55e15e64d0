// The restriction engine's DNS block and allow lists: reject_rbl_client, reject_rhsbl_*,
// permit_dnswl_client and permit_rhswl_client, with rbl_reply_maps and the default reply.
#include <fmt/format.h>

#include "base/ascii.h"
#include "policy/access_action.h"
#include "policy/rbl_reply.h"
#include "policy/restriction_evaluator_internal.h"

namespace estafeta::policy {
namespace {

constexpr size_t kMaxRblReason = 500;

}  // namespace

// Whether a DNS list query has an A record that passes the restriction's filter.
detail::Listing RestrictionEvaluator::Run::dnsxl_listing(const Restriction& r,
                                                         const std::string& query) {
  auto a = dns(query, DnsType::A);
  if (!a) return Listing::Pending;
  if (a->status == DnsAnswer::Status::TempFail) return Listing::TempFail;
  if (a->status != DnsAnswer::Status::Ok) return Listing::NotListed;
  for (const std::string& reply : a->values) {
    if (r.reply_filter.matches(reply)) return Listing::Listed;
  }
  return Listing::NotListed;
}

detail::Status RestrictionEvaluator::Run::reject_rbl(const Restriction& r, const std::string& zone,
                                                     const std::optional<std::string>& query,
                                                     const std::string& what,
                                                     std::string_view klass) {
  if (!query) return Status::Dunno;
  Listing listing = dnsxl_listing(r, *query);
  if (listing == Listing::Pending) return Status::Pending;
  if (listing == Listing::TempFail) {
    warning(fmt::format("{}: RBL lookup error: temporary failure", *query));
    return Status::Dunno;
  }
  if (listing != Listing::Listed) return Status::Dunno;
  auto txt = dns(*query, DnsType::TXT);
  if (!txt) return Status::Pending;
  std::string reason;
  if (txt->status == DnsAnswer::Status::Ok) {
    for (const std::string& t : txt->values) {
      if (!reason.empty()) reason += " / ";
      reason += t;
      if (reason.size() >= kMaxRblReason) break;
    }
    if (reason.size() > kMaxRblReason) reason.resize(kMaxRblReason);
  }
  return rbl_reply(zone, what, klass, reason);
}

detail::Status RestrictionEvaluator::Run::rbl_reply(const std::string& zone,
                                                    const std::string& what, std::string_view klass,
                                                    const std::string& reason) {
  std::optional<std::string> from_table;
  std::string key = ascii::lower(zone);
  for (const std::string& table : s.rbl_reply_maps) {
    auto result = lookup(table, key);
    if (!result) return Status::Pending;
    if (result->status == maps::LookupStatus::Found) {
      from_table = result->value;
      break;
    }
    if (result->status == maps::LookupStatus::TempFail) {
      warning(fmt::format("{}: table lookup problem: {}", table, result->value));
    }
  }
  auto attribute = [&](std::string_view name) -> std::optional<std::string> {
    auto address_part = [](const std::optional<std::string>& a,
                           std::string_view part) -> std::string {
      if (!a) return "";
      if (part == "domain") return a->empty() ? "" : std::string(domain_of(*a));
      if (a->empty()) return "<>";
      if (part == "name") {
        size_t at = a->rfind('@');
        return at == std::string::npos ? *a : a->substr(0, at);
      }
      return *a;
    };
    if (name == "rbl_code") return std::to_string(s.codes.maps_rbl_reject_code);
    if (name == "rbl_domain") return zone;
    if (name == "rbl_reason" || name == "rbl_txt") return reason;
    if (name == "rbl_what") return what;
    if (name == "rbl_class") return std::string(klass);
    if (name == "client") return namaddr;
    if (name == "client_address") return f.client_address;
    if (name == "client_name") return f.client_name;
    if (name == "reverse_client_name") return f.reverse_client_name;
    if (name == "helo_name") return f.helo.value_or("");
    if (name == "sender") return address_part(f.sender, "");
    if (name == "sender_name") return address_part(f.sender, "name");
    if (name == "sender_domain") return address_part(f.sender, "domain");
    if (name == "recipient") return address_part(recipient, "");
    if (name == "recipient_name") return address_part(recipient, "name");
    if (name == "recipient_domain") return address_part(recipient, "domain");
    return std::nullopt;
  };
  Result<std::string> expanded = make_error("no template");
  if (from_table) {
    expanded = expand_reply_template(*from_table, attribute);
    if (!expanded.ok()) {
      warning(fmt::format("bad rbl reply template for domain {}: {}: {}", zone, *from_table,
                          expanded.error().message));
    }
  }
  if (!expanded.ok()) {
    expanded = expand_reply_template(s.default_rbl_reply, attribute);
    if (!expanded.ok()) {
      return server_error(fmt::format("bad default rbl reply template: {}: {}", s.default_rbl_reply,
                                      expanded.error().message));
    }
  }
  const std::string& why = *expanded;
  if (why.size() < 4 || (why[0] != '4' && why[0] != '5') || !ascii::is_digit(why[1]) ||
      !ascii::is_digit(why[2]) || why[3] != ' ') {
    warning(fmt::format("rbl response code configuration error: {}", why));
    return reject(ErrorClass::Policy, 450, "4.7.1", "Service unavailable");
  }
  int code = (why[0] - '0') * 100 + (why[1] - '0') * 10 + (why[2] - '0');
  std::string_view rest = std::string_view(why).substr(4);
  std::string dsn = "4.7.1";
  size_t length = 0;
  if (starts_with_status_code(rest, &length)) {
    dsn = std::string(rest.substr(0, length));
    rest.remove_prefix(length);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  }
  return reject(ErrorClass::Policy, code, fix_status_code(dsn, klass),
                rest.empty() ? std::string_view("Service unavailable") : rest);
}

detail::Status RestrictionEvaluator::Run::permit_dnswl(const Restriction& r,
                                                       const std::optional<std::string>& query,
                                                       const std::string& what) {
  // Safety: an allowlist never overrides reject_unauth_destination.
  if (stage == Stage::Rcpt && recipient) {
    if (f.recipient_facts.authorized == Match::TempFail) return dict_retry(*recipient);
    if (f.recipient_facts.authorized != Match::Yes) return Status::Dunno;
  }
  if (!query) return Status::Dunno;
  Listing listing = dnsxl_listing(r, *query);
  if (listing == Listing::Pending) return Status::Pending;
  if (listing == Listing::TempFail) {
    defer_if_reject(450, "4.7.1", rejected(what, kClient, "Service unavailable"));
    return Status::Dunno;
  }
  return listing == Listing::Listed ? Status::Ok : Status::Dunno;
}

}  // namespace estafeta::policy
