// libFuzzer target: the local delivery planner (delivery/local_plan.h) on untrusted text: the
// message's Delivered-To: headers, a .forward or :include: file, a forward_path template,
// and a whole plan whose alias table and .forward files come from the input. Nothing may
// crash or loop, and no action may run as uid 0.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "delivery/local_plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace estafeta::delivery;
  using estafeta::maps::LookupResult;
  using estafeta::maps::LookupStatus;
  const std::string input(reinterpret_cast<const char*>(data), size);
  (void)delivered_to_headers(input);
  (void)split_file_targets(input);
  (void)expand_local_template(input, {{"home", "/h"}, {"user", "u"}, {"extension", ""}});

  // The input's first line is the recipient; the rest is every alias's value and every
  // .forward file (owned by root half the time), so expansions recurse through it.
  const size_t nl = input.find('\n');
  const std::string recipient = input.substr(0, nl);
  const std::string rest = nl == std::string::npos ? "" : input.substr(nl + 1);
  LocalPlanSettings settings;
  settings.recipient_delimiter = "+";
  settings.myorigin = "example.org";
  settings.forward_path = {"$home/.forward${recipient_delimiter}${extension}", "$home/.forward"};
  settings.mail_spool_directory = "/var/mail";
  settings.luser_relay = "$user@relay.example";
  settings.allow_mail_to_commands = {"alias", "forward", "include"};
  settings.allow_mail_to_files = {"alias", "forward", "include"};
  settings.default_privs = {"nobody", 65534, 65534, "/", "/bin/sh"};
  settings.max_depth = 20;
  int budget = 2000;  // lookups per plan: bounds fan-out
  LocalPlanLookups lookups;
  lookups.alias = [&](const std::string& k) {
    if (--budget < 0 || k.size() % 3 == 0) return LookupResult::not_found();
    return LookupResult::found(rest);
  };
  lookups.user_by_name = [](const std::string& n) {
    if (n.empty() || n.size() > 8) return UserLookup{};
    const uid_t uid = n == "root" ? 0 : 1000 + uid_t(n.size());
    return UserLookup{LookupStatus::Found, {n, uid, uid, "/home/" + n, "/bin/sh"}};
  };
  lookups.user_by_uid = [](uid_t uid) {
    return UserLookup{LookupStatus::Found, {"u", uid, uid, "/home/u", "/bin/sh"}};
  };
  lookups.read_file = [&](const PlanUser&, const std::string& path) {
    if (--budget < 0) return FileLookup{LookupStatus::NotFound, "", 0};
    return FileLookup{LookupStatus::Found, rest, uid_t(path.size() % 2 == 0 ? 0 : 1001)};
  };
  lookups.is_local_domain = [](const std::string& d) -> std::optional<bool> {
    return d == "example.org";
  };
  for (const LocalAction& a : plan_local_delivery(recipient, {}, settings, lookups)) {
    const bool runs = a.kind == ActionKind::Maildir || a.kind == ActionKind::Mbox ||
                      a.kind == ActionKind::Command;
    if (runs && (a.as.uid == 0 || a.as.gid == 0)) std::abort();
  }
  return 0;
}
