// redis: tables over hiredis. The name is a config file ("name = value" lines):
//   hosts = 127.0.0.1:6379   password = ...   database = 0
//   key_format = virtual:%s  (optional; %s %u %d %%, default "%s")   timeout = 5 (seconds)
// Each lookup is "GET <key>": a string is Found, nil is NotFound, anything else (error
// reply, connection failure, no answer within `timeout`) is a TempFail and drops the
// connection. One connection per table under a mutex, connected lazily. Edge (hiredis).
#pragma once

#include <memory>
#include <string>

#include "maps/map.h"

namespace estafeta::maps {

Result<std::unique_ptr<Map>> open_redis_map(const std::string& config_file);

}  // namespace estafeta::maps
