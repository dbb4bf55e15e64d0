// notify_classes parsing. See notify_classes.h.
#include "message/notify_classes.h"

#include <utility>

namespace estafeta::message {

NotifyClasses NotifyClasses::parse(std::string_view list) {
  static constexpr std::pair<std::string_view, NotifyClass> kNames[] = {
      {"bounce", NotifyClass::kBounce},     {"2bounce", NotifyClass::k2Bounce},
      {"data", NotifyClass::kData},         {"delay", NotifyClass::kDelay},
      {"policy", NotifyClass::kPolicy},     {"protocol", NotifyClass::kProtocol},
      {"resource", NotifyClass::kResource}, {"software", NotifyClass::kSoftware},
  };
  NotifyClasses out;
  size_t pos = 0;
  while (pos < list.size()) {
    const size_t end = list.find_first_of(", \t\r\n", pos);
    const std::string_view item =
        list.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    for (const auto& [name, c] : kNames) {
      if (item == name) out.mask_ |= static_cast<uint32_t>(c);
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return out;
}

}  // namespace estafeta::message
