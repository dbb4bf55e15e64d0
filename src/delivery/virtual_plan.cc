// The virtual delivery agent's decisions. See virtual_plan.h.
#include "delivery/virtual_plan.h"

#include <fmt/format.h>

#include <charconv>
#include <limits>
#include <optional>

#include "base/ascii.h"

namespace estafeta::delivery {
namespace {

// The first answer for the virtual(5) keys of `address` (no domain is local for virtual(8)):
// Found or TempFail, else NotFound.
maps::LookupResult find(const KeyLookup& lookup, std::string_view address,
                        const VirtualSettings& settings) {
  maps::AddressMatch m = maps::find_address(lookup, address, settings.recipient_delimiter, nullptr);
  return maps::LookupResult{m.status, std::move(m.value)};
}

std::optional<uint32_t> id_number(std::string_view text) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

// Why the mailbox path made of virtual_mailbox_base and a virtual_mailbox_maps result is
// refused, or nullopt: the result must be relative, and the whole path one the spawner
// accepts (delivery_task.h is_clean_absolute_path: absolute, no ".", ".." or empty
// components, no NUL, not too long), so it stays under the base.
std::optional<std::string> mailbox_path_problem(std::string_view base, std::string_view result,
                                                const std::string& path) {
  if (result.empty()) return "empty";
  if (result.front() == '/') return "absolute";
  if (!is_clean_absolute_path(path)) {
    if (!base.empty() && !is_clean_absolute_path(std::string(base) + "/")) {
      return fmt::format("virtual_mailbox_base \"{}\" is not a clean absolute path", base);
    }
    return "with a \".\", \"..\" or empty component, a NUL, or too long";
  }
  return std::nullopt;
}

VirtualPlan config_error(std::string warning) {
  VirtualPlan p;
  p.action = VirtualPlan::Action::Defer;
  p.dsn = "4.3.5";
  p.reason = "mail system configuration error";
  p.warning = std::move(warning);
  return p;
}

VirtualPlan lookup_failure(std::string_view table, const std::string& why) {
  VirtualPlan p;
  p.action = VirtualPlan::Action::Defer;
  p.dsn = "4.3.0";
  p.reason = fmt::format("{} lookup failure: {}", table, why);
  return p;
}

}  // namespace

VirtualPlan plan_virtual_delivery(const VirtualSettings& settings, const VirtualTables& tables,
                                  std::string_view address) {
  const std::string lowered = ascii::lower(address);
  maps::LookupResult mailbox = find(tables.mailbox, lowered, settings);
  if (mailbox.is_temp_fail()) return lookup_failure("virtual_mailbox_maps", mailbox.value);
  if (!mailbox.is_found()) {
    VirtualPlan p;
    p.action = VirtualPlan::Action::Bounce;
    p.dsn = "5.1.1";
    p.reason = fmt::format("unknown user: \"{}\"", lowered);
    return p;
  }
  std::string path = settings.mailbox_base;
  while (!path.empty() && path.back() == '/') path.pop_back();
  path += "/" + mailbox.value;
  if (auto problem = mailbox_path_problem(settings.mailbox_base, mailbox.value, path)) {
    return config_error(
        fmt::format("recipient {}: virtual_mailbox_maps result \"{}\" is not a path under "
                    "virtual_mailbox_base: {}",
                    lowered, mailbox.value, *problem));
  }
  maps::LookupResult uid = find(tables.uid, lowered, settings);
  if (uid.is_temp_fail()) return lookup_failure("virtual_uid_maps", uid.value);
  if (!uid.is_found()) {
    return config_error(fmt::format("recipient {}: uid not found in virtual_uid_maps", lowered));
  }
  auto uid_number = id_number(uid.value);
  if (!uid_number || *uid_number == std::numeric_limits<uint32_t>::max()) {
    return config_error(
        fmt::format("recipient {}: bad uid {} in virtual_uid_maps", lowered, uid.value));
  }
  if (*uid_number < settings.minimum_uid) {
    return config_error(
        fmt::format("recipient {}: bad uid {} in virtual_uid_maps (below virtual_minimum_uid {})",
                    lowered, uid.value, settings.minimum_uid));
  }
  maps::LookupResult gid = find(tables.gid, lowered, settings);
  if (gid.is_temp_fail()) return lookup_failure("virtual_gid_maps", gid.value);
  if (!gid.is_found()) {
    return config_error(fmt::format("recipient {}: gid not found in virtual_gid_maps", lowered));
  }
  auto gid_number = id_number(gid.value);
  if (!gid_number || *gid_number == 0 || *gid_number == std::numeric_limits<uint32_t>::max()) {
    return config_error(
        fmt::format("recipient {}: bad gid {} in virtual_gid_maps", lowered, gid.value));
  }
  VirtualPlan p;
  p.action = VirtualPlan::Action::Deliver;
  p.kind = mailbox.value.back() == '/' ? TaskKind::Maildir : TaskKind::Mbox;
  p.path = std::move(path);
  p.uid = *uid_number;
  p.gid = *gid_number;
  return p;
}

std::optional<unsigned> parse_mbox_locks(std::string_view text) {
  unsigned bits = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find_first_of(", \t", i);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(i, end - i);
    if (word == "fcntl") {
      bits |= unsigned(MboxLock::Fcntl);
    } else if (word == "dotlock") {
      bits |= unsigned(MboxLock::Dotlock);
    } else if (word == "flock") {
      bits |= unsigned(MboxLock::Flock);
    } else if (!word.empty()) {
      return std::nullopt;
    }
    i = end + 1;
  }
  return bits;
}

}  // namespace estafeta::delivery
