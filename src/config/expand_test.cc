// Table-driven tests of $-expansion: plain, nested, conditional, $$, unknown names, loops,
// depth and length caps, and referenced_names().
#include "config/expand.h"

#include <gtest/gtest.h>

#include <map>

namespace estafeta::config {
namespace {

RawLookup lookup_in(std::map<std::string, std::string> table) {
  return [table = std::move(table)](std::string_view name) -> std::optional<std::string> {
    auto it = table.find(std::string(name));
    if (it == table.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

TEST(Expand, Table) {
  const std::map<std::string, std::string> table = {
      {"host", "mx.example.com"},
      {"domain", "example.com"},
      {"banner", "$host ESMTP $name"},
      {"name", "Estafeta"},
      {"empty", ""},
      {"nested", "<${banner}>"},
      {"paren", "$(host)"},
  };
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"plain", "plain"},
      {"$host", "mx.example.com"},
      {"${host}", "mx.example.com"},
      {"$(host)", "mx.example.com"},
      {"localhost.$domain", "localhost.example.com"},
      {"$host, localhost.$domain", "mx.example.com, localhost.example.com"},
      {"$banner", "mx.example.com ESMTP Estafeta"},
      {"$nested", "<mx.example.com ESMTP Estafeta>"},
      {"$paren", "mx.example.com"},
      {"$undefined", ""},
      {"a${undefined}b", "ab"},
      {"${host?yes}", "yes"},
      {"${empty?yes}", ""},
      {"${undefined?yes}", ""},
      {"${host:no}", ""},
      {"${empty:no}", "no"},
      {"${undefined:$host}", "mx.example.com"},
      {"${host?${domain}}", "example.com"},
      {"${host?{x}}", "{x}"},
      {"$$host", "$host"},
      {"cost $", "cost $"},
      {"$ x", "$ x"},
      {"$-", "$-"},
      {"$host.$domain", "mx.example.com.example.com"},
  };
  for (const Case& c : cases) {
    Expander e(lookup_in(table));
    Result<std::string> r = e.expand_text(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.error().message;
    EXPECT_EQ(r.value(), c.expected) << c.text;
  }
}

TEST(Expand, Errors) {
  const std::map<std::string, std::string> table = {
      {"a", "$b"},           {"b", "x${c}"}, {"c", "$a"},  // loop a -> b -> c -> a
      {"self", "${self?x}"},                               // loop through a conditional
      {"ok", "fine"},
  };
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"$a", "parameter expansion loop: a -> b -> c -> a"},
      {"$b", "parameter expansion loop: b -> c -> a -> b"},
      {"$self", "parameter expansion loop: self -> self"},
      {"${ok", "missing '}' in \"${ok\""},
      {"$(ok", "missing ')' in \"$(ok\""},
      {"${}", "bad parameter reference \"${}\""},
      {"${ok!x}", "bad parameter reference \"${ok!x}\""},
  };
  for (const Case& c : cases) {
    Expander e(lookup_in(table));
    Result<std::string> r = e.expand_text(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().message, c.error) << c.text;
  }
}

TEST(Expand, DepthCap) {
  std::map<std::string, std::string> table;
  for (int i = 0; i < 150; ++i) {
    table["p" + std::to_string(i)] = "$p" + std::to_string(i + 1);
  }
  table["p150"] = "end";
  Expander deep(lookup_in(table));
  EXPECT_FALSE(deep.expand_parameter("p0").ok());
  Expander shallow(lookup_in(table));
  EXPECT_EQ(shallow.expand_parameter("p100").value(), "end");

  std::string nested;
  for (int i = 0; i < 10000; ++i) {
    nested += "${x?";
  }
  Expander text(lookup_in({{"x", "1"}}));
  EXPECT_FALSE(text.expand_text(nested + std::string(10000, '}')).ok());
}

TEST(Expand, LengthCapStopsExponentialGrowth) {
  std::map<std::string, std::string> table;
  for (int i = 0; i < 40; ++i) {
    table["p" + std::to_string(i)] = "$p" + std::to_string(i + 1) + "$p" + std::to_string(i + 1);
  }
  table["p40"] = "xx";
  Expander e(lookup_in(table));
  Result<std::string> r = e.expand_parameter("p0");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("longer than"), std::string::npos);
}

TEST(Expand, ReferencedNames) {
  std::vector<std::string> names = referenced_names("$a ${b} $(c) $$d ${e?$f} ${g:${h}} x$i.j ${");
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "e", "f", "g", "h", "i"}));
}

}  // namespace
}  // namespace estafeta::config
