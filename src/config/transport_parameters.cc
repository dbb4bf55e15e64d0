// Per-transport scheduler parameters recognised by their shape. See transport_parameters.h.
#include "config/transport_parameters.h"

#include <array>

namespace estafeta::config {
namespace {

struct Suffix {
  std::string_view suffix;
  TransportSetting setting;
  std::string_view like;  // the parameter whose values it takes
};

constexpr std::array<Suffix, 4> kSuffixes = {{
    {"_destination_concurrency_limit", TransportSetting::kDestinationConcurrencyLimit,
     "default_destination_concurrency_limit"},
    {"_destination_recipient_limit", TransportSetting::kDestinationRecipientLimit,
     "default_destination_recipient_limit"},
    {"_initial_destination_concurrency", TransportSetting::kInitialDestinationConcurrency,
     "initial_destination_concurrency"},
    {"_destination_rate_delay", TransportSetting::kDestinationRateDelay,
     "default_destination_rate_delay"},
}};

// What main.cf allows in a parameter name (config/main_cf.h is_parameter_name): a service
// whose name has '-' or '.' cannot have per-transport parameters.
bool service_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

std::optional<TransportParameter> split_transport_parameter(std::string_view name) {
  for (const Suffix& s : kSuffixes) {
    if (name.size() <= s.suffix.size() || !name.ends_with(s.suffix)) continue;
    const std::string_view transport = name.substr(0, name.size() - s.suffix.size());
    if (transport == "default") return std::nullopt;
    for (char c : transport) {
      if (!service_name_char(c)) return std::nullopt;
    }
    const ParamSpec* like = find_parameter(s.like);
    if (like == nullptr) return std::nullopt;
    return TransportParameter{std::string(transport), s.setting, like};
  }
  return std::nullopt;
}

}  // namespace estafeta::config
