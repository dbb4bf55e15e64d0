// Tests for "/file/name" items of match lists: the file syntax, nesting, negation, errors,
// and how Config reads them (pure, through an injected reader).
#include "config/list_files.h"

#include <gtest/gtest.h>

#include <map>

#include "config/config.h"

namespace estafeta::config {
namespace {

using Files = std::map<std::string, std::string>;

ListFileReader reader_of(const Files& files) {
  return [files](const std::string& path) -> Result<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return make_error("cannot open: No such file or directory", 2);
    return it->second;
  };
}

TEST(ListFiles, SendmailLocalHostNames) {
  EXPECT_EQ(parse_list_file("# local-host-names - include all aliases for your machine here.\n"
                            "example.org\n"
                            "mail.example.org   # the MX\n"
                            "\n"
                            "a.example, b.example\tc.example#no space before the comment\n"
                            "last.example"),
            (std::vector<std::string>{"example.org", "mail.example.org", "a.example", "b.example",
                                      "c.example", "last.example"}));
  EXPECT_TRUE(parse_list_file("# only a comment\n\n  \n").empty());
}

TEST(ListFiles, WhichParameters) {
  EXPECT_TRUE(expands_list_files("mydestination"));
  EXPECT_TRUE(expands_list_files("relay_domains"));
  EXPECT_TRUE(expands_list_files("mynetworks"));
  EXPECT_TRUE(expands_list_files("authorized_submit_users"));
  EXPECT_FALSE(expands_list_files("alias_maps"));
  EXPECT_FALSE(expands_list_files("alias_database"));
  EXPECT_FALSE(expands_list_files("queue_directory"));
}

TEST(ListFiles, ExpandsInPlaceNestedAndNegated) {
  Files files{{"/a", "one two\n/b\n"}, {"/b", "three, hash:/etc/x"}, {"/n", "bad\n!good"}};
  auto r = expand_list_files({"first", "/a", "last", "!/n"}, reader_of(files));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (std::vector<std::string>{"first", "one", "two", "three", "hash:/etc/x", "last",
                                          "!bad", "good"}));
  EXPECT_FALSE(has_list_file({"a", "[::1]/128", "2001:db8::/32", "cidr:/x"}));
  EXPECT_TRUE(has_list_file({"a", "!/x"}));
}

TEST(ListFiles, Errors) {
  auto missing = expand_list_files({"x", "/missing"}, reader_of({}));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "/missing: cannot open: No such file or directory");
  auto loop = expand_list_files({"/self"}, reader_of({{"/self", "a /self"}}));
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.error().message.find("nested more than 8 deep"), std::string::npos);
}

LoadResult parse_with(std::string_view text, const Files& files) {
  return Config::parse(text, "/etc/estafeta/main.cf", "/etc/estafeta", "mx.example.org",
                       reader_of(files));
}

TEST(ListFiles, ConfigListsReadTheirFiles) {
  LoadResult r = parse_with(
      "mydestination = localhost, /etc/mail/local-host-names\n"
      "mynetworks = 127.0.0.0/8 /etc/nets\n"
      "alias_maps = hash:/etc/aliases\n",
      {{"/etc/mail/local-host-names", "example.org\n# c\nexample.net\n"},
       {"/etc/nets", "192.0.2.0/24"}});
  ASSERT_TRUE(r.config.has_value());
  EXPECT_EQ(r.config->get_list("mydestination"),
            (std::vector<std::string>{"localhost", "example.org", "example.net"}));
  EXPECT_EQ(r.config->get_list("mynetworks"),
            (std::vector<std::string>{"127.0.0.0/8", "192.0.2.0/24"}));
  // A default that refers to the list gets the file's items too.
  EXPECT_EQ(r.config->get_list("smtpd_client_event_limit_exceptions"),
            (std::vector<std::string>{"127.0.0.0/8", "192.0.2.0/24"}));
  // The value itself (postconf) is what main.cf says.
  EXPECT_EQ(r.config->get("mydestination"), "localhost, /etc/mail/local-host-names");
}

TEST(ListFiles, UnreadableFileIsAConfigurationError) {
  LoadResult r = parse_with("mail_name = x\nmydestination = /etc/mail/missing\n", {});
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].to_string(),
            "/etc/estafeta/main.cf:2: error: mydestination: /etc/mail/missing: cannot open: No "
            "such file or directory");
  // mynetworks and the defaults that repeat it: one error.
  LoadResult nets = parse_with("mynetworks = /etc/missing-nets\n", {});
  EXPECT_FALSE(nets.config.has_value());
  EXPECT_EQ(nets.diagnostics.size(), 1u);
  // Without a reader (pure parse), a list file cannot be honoured: also an error.
  EXPECT_FALSE(Config::parse("relay_domains = /x\n", "m", "/e", "h").config.has_value());
}

TEST(ListFiles, OverridesReadTheirFiles) {
  LoadResult base = parse_with("", {{"/etc/relay", "relay.example\n"}});
  ASSERT_TRUE(base.config.has_value());
  LoadResult r = base.config->with_overrides({{"relay_domains", "/etc/relay"}});
  ASSERT_TRUE(r.config.has_value());
  EXPECT_EQ(r.config->get_list("relay_domains"), (std::vector<std::string>{"relay.example"}));
}

}  // namespace
}  // namespace estafeta::config
