// The MX plan: see mx_plan.h.
#include "outbound/mx_plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/ascii.h"

namespace estafeta::outbound {
namespace {

std::string_view without_final_dot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

bool same_host(std::string_view a, std::string_view b) {
  return ascii::iequals(without_final_dot(a), without_final_dot(b));
}

// Fisher-Yates on items[begin, end); a random source that always says 0 keeps the order.
template <class T>
void shuffle(std::vector<T>& items, size_t begin, size_t end, const RandomBelow& random) {
  for (size_t i = end - begin; i > 1; --i) {
    size_t j = i - 1 - random(i);
    std::swap(items[begin + i - 1], items[begin + j]);
  }
}

DeliveryFailure name_service_error(std::string_view name, std::string_view type, DnsStatus status,
                                   std::string_view reason) {
  bool temporary = status == DnsStatus::TempFail;
  return DeliveryFailure{
      !temporary, temporary ? "4.4.3" : "5.4.4",
      fmt::format("Host or domain name not found. Name service error for name={} type={}: {}", name,
                  type, reason)};
}

std::string_view address_type(const MxPlanSettings& settings) {
  return settings.ipv4 && !settings.ipv6 ? "A" : "AAAA";
}

bool allowed(const MxPlanSettings& settings, AddressFamily family) {
  return family == AddressFamily::Ipv4 ? settings.ipv4 : settings.ipv6;
}

}  // namespace

Families families_to_look_up(const MxPlanSettings& settings) {
  if (settings.ipv4 && !settings.ipv6) return Families::Ipv4;
  if (settings.ipv6 && !settings.ipv4) return Families::Ipv6;
  return Families::Both;
}

HostSelection select_mx_hosts(std::string_view domain, const DnsAnswer<MxRecord>& mx,
                              const MxPlanSettings& settings, const RandomBelow& random) {
  HostSelection selection;
  switch (mx.status) {
    case DnsStatus::NotFound:
    case DnsStatus::TempFail:
      selection.failure = name_service_error(domain, "MX", mx.status, mx.reason);
      return selection;
    case DnsStatus::NoData:
      if (same_host(domain, settings.myhostname)) {
        selection.failure =
            DeliveryFailure{true, "5.4.6", fmt::format("mail for {} loops back to myself", domain)};
        return selection;
      }
      selection.implicit_mx = true;
      selection.hosts.push_back(MxHost{std::string(without_final_dot(domain)), 0});
      return selection;
    case DnsStatus::Ok:
      break;
  }
  if (mx.records.size() == 1 && without_final_dot(mx.records[0].host).empty()) {
    selection.failure = DeliveryFailure{
        true, "5.1.10", fmt::format("Domain {} does not accept mail (nullMX)", domain)};
    return selection;
  }
  for (const MxRecord& record : mx.records) {
    std::string_view host = without_final_dot(record.host);
    if (host.empty()) continue;
    selection.hosts.push_back(MxHost{std::string(host), record.preference});
  }
  std::stable_sort(selection.hosts.begin(), selection.hosts.end(),
                   [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
  if (!settings.myhostname.empty()) {
    auto self = std::find_if(selection.hosts.begin(), selection.hosts.end(), [&](const MxHost& h) {
      return same_host(h.host, settings.myhostname);
    });
    if (self != selection.hosts.end()) {
      int own = self->preference;
      std::erase_if(selection.hosts, [own](const MxHost& h) { return h.preference >= own; });
      if (selection.hosts.empty()) {
        selection.failure =
            DeliveryFailure{true, "5.4.6", fmt::format("mail for {} loops back to myself", domain)};
        return selection;
      }
    }
  }
  for (size_t begin = 0; begin < selection.hosts.size();) {
    size_t end = begin;
    while (end < selection.hosts.size() &&
           selection.hosts[end].preference == selection.hosts[begin].preference) {
      ++end;
    }
    shuffle(selection.hosts, begin, end, random);
    begin = end;
  }
  return selection;
}

MxPlan plan_targets(const std::vector<HostAddresses>& lookups, const MxPlanSettings& settings,
                    const RandomBelow& random) {
  MxPlan plan;
  std::optional<DeliveryFailure> temporary;
  std::optional<DeliveryFailure> permanent;
  std::vector<DeliveryTarget> all;
  size_t group_begin = 0;
  for (size_t i = 0; i < lookups.size(); ++i) {
    const HostAddresses& lookup = lookups[i];
    if (i > 0 && lookup.host.preference != lookups[i - 1].host.preference) {
      group_begin = all.size();
    }
    if (lookup.answer.status != DnsStatus::Ok) {
      auto failure = name_service_error(lookup.host.host, address_type(settings),
                                        lookup.answer.status, lookup.answer.reason);
      (failure.permanent ? permanent : temporary) = std::move(failure);
      continue;
    }
    size_t host_begin = all.size();
    for (const HostAddress& address : lookup.answer.records) {
      if (!allowed(settings, address.family)) continue;
      bool repeat = std::any_of(all.begin(), all.end(),
                                [&](const DeliveryTarget& t) { return t.address == address; });
      if (repeat) continue;
      all.push_back(DeliveryTarget{lookup.host.host, lookup.host.preference, address,
                                   lookup.named_securely, lookup.answer.authenticated});
    }
    shuffle(all, host_begin, all.size(), random);
    if (settings.address_preference != AddressPreference::Any) {
      AddressFamily first = settings.address_preference == AddressPreference::Ipv4
                                ? AddressFamily::Ipv4
                                : AddressFamily::Ipv6;
      std::stable_partition(all.begin() + static_cast<std::ptrdiff_t>(group_begin), all.end(),
                            [first](const DeliveryTarget& t) { return t.address.family == first; });
    }
  }
  if (all.empty()) {
    if (temporary) {
      plan.failure = std::move(temporary);
    } else if (permanent) {
      plan.failure = std::move(permanent);
    } else {
      plan.failure = DeliveryFailure{false, "4.4.3", "no usable address for the destination"};
    }
    return plan;
  }
  size_t limit = settings.mx_address_limit;
  if (limit > 0 && all.size() > limit) {
    // With room for two, keep one address of each family that the list has.
    auto family_in = [](auto begin, auto end, AddressFamily family) {
      return std::any_of(begin, end,
                         [family](const DeliveryTarget& t) { return t.address.family == family; });
    };
    auto kept_end = all.begin() + static_cast<std::ptrdiff_t>(limit);
    for (AddressFamily family : {AddressFamily::Ipv4, AddressFamily::Ipv6}) {
      if (limit < 2 || family_in(all.begin(), kept_end, family)) continue;
      auto other = std::find_if(kept_end, all.end(), [family](const DeliveryTarget& t) {
        return t.address.family == family;
      });
      if (other != all.end()) *(kept_end - 1) = *other;
    }
    all.erase(kept_end, all.end());
  }
  plan.targets = std::move(all);
  return plan;
}

}  // namespace estafeta::outbound
