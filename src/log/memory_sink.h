// A Sink that keeps "program: text" lines in memory, for unit tests.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "log/logger.h"

namespace estafeta::log {

class MemorySink : public Sink {
 public:
  void write(std::string_view program, std::string_view text) override {
    std::lock_guard lock(mutex_);
    lines_.push_back(std::string(program) + ": " + std::string(text));
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

}  // namespace estafeta::log
