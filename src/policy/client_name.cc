// Client host names from DNS: see client_name.h.
#include "policy/client_name.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "policy/hostname_syntax.h"

namespace estafeta::policy {
namespace {

// A numeric address in binary: the family and its bytes (4 or 16 used).
struct Numeric {
  int family = 0;
  std::array<unsigned char, 16> bytes{};
  friend bool operator==(const Numeric&, const Numeric&) = default;
};

std::optional<Numeric> numeric(std::string_view text) {
  std::string copy(text);
  Numeric out;
  if (inet_pton(AF_INET, copy.c_str(), out.bytes.data()) == 1) {
    out.family = AF_INET;
    return out;
  }
  if (inet_pton(AF_INET6, copy.c_str(), out.bytes.data()) == 1) {
    out.family = AF_INET6;
    return out;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> hostname_problem(std::string_view name) {
  if (numeric(name)) return fmt::format("numeric hostname: {}", name);
  if (auto problem = hostname_syntax_problem(name)) {
    return fmt::format("valid_hostname: {}: {}", *problem, name.substr(0, 100));
  }
  return std::nullopt;
}

ReverseNames reverse_names(const outbound::DnsAnswer<std::string>& ptr) {
  ReverseNames out;
  switch (ptr.status) {
    case outbound::DnsStatus::Ok:
      break;
    case outbound::DnsStatus::TempFail:
      out.status = smtp::NameStatus::TempFail;
      return out;
    case outbound::DnsStatus::NoData:
    case outbound::DnsStatus::NotFound:
      return out;
  }
  for (const std::string& name : ptr.records) {
    if (out.names.size() == kMaxVerifiedNames) break;
    if (std::find(out.names.begin(), out.names.end(), name) != out.names.end()) continue;
    if (auto problem = hostname_problem(name)) {
      out.warnings.push_back(std::move(*problem));
      continue;
    }
    out.names.push_back(name);
  }
  out.status = out.names.empty() ? smtp::NameStatus::NotFound : smtp::NameStatus::Ok;
  return out;
}

outbound::Families forward_families(std::string_view client_address) {
  auto parsed = numeric(client_address);
  return parsed && parsed->family == AF_INET6 ? outbound::Families::Ipv6
                                              : outbound::Families::Ipv4;
}

ClientNames client_names(std::string_view client_address, const ReverseNames& reverse,
                         const std::vector<outbound::DnsAnswer<outbound::HostAddress>>& forward) {
  ClientNames out;
  out.warnings = reverse.warnings;
  if (reverse.names.empty()) {
    // No usable PTR name: both unknown, for the same reason.
    out.name_status = out.reverse_name_status =
        reverse.status == smtp::NameStatus::TempFail ? smtp::NameStatus::TempFail
                                                     : smtp::NameStatus::NotFound;
    return out;
  }
  out.reverse_name = reverse.names.front();
  out.reverse_name_status = smtp::NameStatus::Ok;
  auto client = numeric(client_address);
  bool temporary = false;
  for (size_t i = 0; i < reverse.names.size(); ++i) {
    const std::string& name = reverse.names[i];
    if (i >= forward.size()) {
      temporary = true;
      out.warnings.push_back(
          fmt::format("hostname {} does not resolve to address {}: not looked up", name,
                      client_address));
      continue;
    }
    const auto& answer = forward[i];
    if (answer.status != outbound::DnsStatus::Ok) {
      temporary = temporary || answer.status == outbound::DnsStatus::TempFail;
      out.warnings.push_back(fmt::format("hostname {} does not resolve to address {}: {}", name,
                                         client_address, answer.reason));
      continue;
    }
    bool listed = client && std::any_of(answer.records.begin(), answer.records.end(),
                                        [&](const outbound::HostAddress& address) {
                                          return numeric(address.text) == client;
                                        });
    if (listed) {
      out.name = name;
      out.name_status = smtp::NameStatus::Ok;
      return out;
    }
    out.warnings.push_back(
        fmt::format("hostname {} does not resolve to address {}", name, client_address));
  }
  out.name_status = temporary ? smtp::NameStatus::TempFail : smtp::NameStatus::NotFound;
  return out;
}

}  // namespace estafeta::policy
