// Tests for Postfix's delay notation.
#include "log/delay.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace estafeta::log {
namespace {

TEST(FormatDelay, PostfixNotation) {
  const std::vector<std::pair<double, const char*>> cases = {
      {0, "0"},     {0.001, "0"}, {0.01, "0.01"},   {0.1, "0.1"},   {0.126, "0.13"},
      {1.5, "1.5"}, {2, "2"},     {99.99, "99.99"}, {150.4, "150"}, {-1, "0"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(format_delay(in), out) << in;
}

}  // namespace
}  // namespace estafeta::log
