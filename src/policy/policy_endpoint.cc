// check_policy_service names -> endpoints (see policy_endpoint.h).
#include "policy/policy_endpoint.h"

#include <fmt/format.h>

#include <charconv>

namespace estafeta::policy {
namespace {

Result<PolicyEndpoint> unix_endpoint(std::string_view service, std::string_view path,
                                     std::string_view queue_directory) {
  if (path.empty()) return make_error(fmt::format("policy service {}: empty path", service));
  PolicyEndpoint e;
  if (path.front() == '/' || queue_directory.empty()) {
    e.path = std::string(path);
  } else {
    e.path = std::string(queue_directory);
    if (e.path.back() != '/') e.path += '/';
    e.path += path;
  }
  return e;
}

Result<PolicyEndpoint> inet_endpoint(std::string_view service, std::string_view rest) {
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) {
    return make_error(fmt::format("policy service {}: expected inet:host:port", service));
  }
  std::string_view host = rest.substr(0, colon);
  const std::string_view port = rest.substr(colon + 1);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 2 || host.back() != ']') {
      return make_error(fmt::format("policy service {}: bad [address]", service));
    }
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return make_error(fmt::format("policy service {}: empty host", service));
  unsigned number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || number == 0 ||
      number > 65535) {
    return make_error(fmt::format("policy service {}: bad port \"{}\"", service, port));
  }
  PolicyEndpoint e;
  e.kind = PolicyEndpoint::Kind::Inet;
  e.host = std::string(host);
  e.port = static_cast<uint16_t>(number);
  return e;
}

}  // namespace

Result<PolicyEndpoint> parse_policy_endpoint(std::string_view service,
                                             std::string_view queue_directory) {
  if (service.starts_with("inet:")) return inet_endpoint(service, service.substr(5));
  if (service.starts_with("unix:")) return unix_endpoint(service, service.substr(5), queue_directory);
  if (service.starts_with("local:")) {
    return unix_endpoint(service, service.substr(6), queue_directory);
  }
  if (service.find(':') != std::string_view::npos || service.empty()) {
    return make_error(fmt::format(
        "policy service \"{}\": expected inet:host:port, unix:/path or private/name", service));
  }
  return unix_endpoint(service, service, queue_directory);
}

}  // namespace estafeta::policy
