// Flush requests: the datagram codec and the match (flush_request.h).
#include "qmgr/flush_request.h"

#include <array>
#include <utility>

#include "base/ascii.h"

namespace estafeta::qmgr {
namespace {

constexpr std::string_view kMagic = "!flush";

bool clean(std::string_view value) {
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> encode_flush_request(const FlushRequest& request) {
  std::string out(kMagic);
  const std::array<std::pair<std::string_view, const std::string*>, 3> fields = {
      {{"site", &request.site}, {"id", &request.queue_id_part}, {"nexthop", &request.next_hop}}};
  for (const auto& [name, value] : fields) {
    if (value->empty()) continue;
    if (!clean(*value)) return std::nullopt;
    out += '\n';
    out += name;
    out += '=';
    out += *value;
  }
  if (out.size() > kMaxFlushRequestSize) return std::nullopt;
  return out;
}

bool is_flush_request(std::string_view datagram) {
  return datagram.substr(0, kMagic.size()) == kMagic;
}

std::optional<FlushRequest> parse_flush_request(std::string_view datagram) {
  if (datagram.size() > kMaxFlushRequestSize) return std::nullopt;
  const size_t first = datagram.find('\n');
  if (datagram.substr(0, first) != kMagic) return std::nullopt;
  FlushRequest request;
  std::string_view rest = first == std::string_view::npos ? "" : datagram.substr(first + 1);
  if (first != std::string_view::npos && rest.empty()) return std::nullopt;  // trailing '\n'
  bool seen_site = false, seen_id = false, seen_next_hop = false;
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 1);
    if (end != std::string_view::npos && rest.empty()) return std::nullopt;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view name = line.substr(0, eq), value = line.substr(eq + 1);
    if (value.empty() || !clean(value)) return std::nullopt;
    auto take = [&](bool& seen, std::string& into) {
      if (seen) return false;
      seen = true;
      into = std::string(value);
      return true;
    };
    bool ok = false;
    if (name == "site") ok = take(seen_site, request.site);
    if (name == "id") ok = take(seen_id, request.queue_id_part);
    if (name == "nexthop") ok = take(seen_next_hop, request.next_hop);
    if (!ok) return std::nullopt;
  }
  return request;
}

std::optional<std::string> find_flush_route(const std::vector<std::string>& items,
                                            std::string_view name) {
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    if (eq != std::string::npos && eq + 1 < item.size() && item.compare(0, eq, name) == 0) {
      return item.substr(eq + 1);
    }
  }
  return std::nullopt;
}

bool flush_matches(const FlushRequest& request, std::string_view queue_id,
                   const std::vector<std::string>& pending_recipients) {
  if (!request.queue_id_part.empty() &&
      queue_id.find(request.queue_id_part) == std::string_view::npos) {
    return false;
  }
  if (request.site.empty()) return true;
  for (const std::string& address : pending_recipients) {
    const size_t at = address.rfind('@');
    if (at != std::string::npos && ascii::iequals(address.substr(at + 1), request.site)) {
      return true;
    }
  }
  return false;
}

}  // namespace estafeta::qmgr
