// Postfix's notation for the delay= and delays= fields of delivery log lines.
#pragma once

#include <string>

namespace estafeta::log {

/// Seconds with at most two decimals, trailing zeros dropped ("0.02", "0.1", "0", "3");
/// whole seconds from 100 s up; "0" for anything not positive.
std::string format_delay(double seconds);

}  // namespace estafeta::log
