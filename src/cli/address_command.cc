// `estafeta address resolve` (see address_command.h).
#include "cli/address_command.h"

#include <fmt/format.h>

#include <cstdio>
#include <optional>

#include "config/config.h"
#include "maps/map_set.h"
#include "policy/recipient_check.h"
#include "route/canonical_form.h"
#include "route/resolver.h"
#include "route/route_config.h"

namespace estafeta::cli {
namespace {

constexpr const char* kUsage =
    "usage: estafeta [-c DIR] address resolve [-a CLIENT_IP] [-f SENDER] ADDRESS...\n";

// Prints one address's block; false when a table could not answer.
// `sender`: as the queue manager resolves a message's recipients (sender-dependent relayhost).
bool print_resolution(const policy::RecipientPolicy& policy, const std::string& client,
                      const std::optional<std::string>& sender, const std::string& address) {
  std::string canonical = route::canonical_form(policy.route, address);
  route::ResolveResult resolved = sender ? route::resolve(policy.route, canonical, *sender)
                                         : route::resolve(policy.route, canonical);
  std::string out = fmt::format("address: {}\ncanonical: {}\n", address, canonical);
  if (resolved.temp_fail) {
    out += "class: (temporary lookup failure)\n";
  } else {
    const route::Resolution& r = resolved.resolution;
    out += fmt::format("class: {}\ntransport: {}\nnexthop: {}\nrecipient: {}\n",
                       route::class_name(r.address_class), r.transport, r.nexthop, r.recipient);
    if (r.routed) out += "routed: yes (sender-specified routing; relayed for mynetworks only)\n";
  }
  policy::RecipientVerdict verdict = policy::check_recipient(policy, client, address);
  bool accepted = verdict.kind == policy::RecipientClass::Local ||
                  verdict.kind == policy::RecipientClass::Relay;
  out += fmt::format("smtpd RCPT from {}: {}\n\n",
                     client.empty() ? "a client outside mynetworks" : client,
                     accepted ? "250 2.1.5 Ok" : verdict.reply);
  std::fputs(out.c_str(), stdout);
  return !resolved.temp_fail && verdict.kind != policy::RecipientClass::Deferred;
}

}  // namespace

int run_address_command(const std::string& config_dir, const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "resolve") {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string client;
  std::optional<std::string> sender;
  std::vector<std::string> addresses;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "-a" && i + 1 < args.size()) {
      client = args[++i];
    } else if (args[i] == "-f" && i + 1 < args.size()) {
      sender = args[++i] == "<>" ? std::string() : args[i];
    } else if (!args[i].empty() && args[i][0] == '-' && args[i] != "-") {
      std::fputs(kUsage, stderr);
      return 2;
    } else {
      addresses.push_back(args[i]);
    }
  }
  if (addresses.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto loaded = config::Config::load(config_dir);
  for (const auto& d : loaded.diagnostics)
    std::fprintf(stderr, "estafeta address: %s\n", d.to_string().c_str());
  if (!loaded.config) return 1;
  const config::Config& config = *loaded.config;
  auto opened = maps::MapSet::open(route::recipient_table_specs(config), {},
                                   route::recipient_map_specs(config));
  for (const auto& w : opened.warnings)
    std::fprintf(stderr, "estafeta address: warning: %s\n", w.c_str());
  for (const auto& e : opened.errors)
    std::fprintf(stderr, "estafeta address: error: %s\n", e.c_str());
  if (!opened.ok()) return 1;
  auto policy = route::make_recipient_policy(config, *opened.set);
  if (!policy.ok()) {
    std::fprintf(stderr, "estafeta address: error: %s\n", policy.error().message.c_str());
    return 1;
  }
  bool all = true;
  for (const auto& address : addresses)
    all = print_resolution(*policy, client, sender, address) && all;
  return all ? 0 : 1;
}

}  // namespace estafeta::cli
