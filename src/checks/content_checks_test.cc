// Tests of the header_checks/body_checks engine with regexp: tables.
#include "checks/content_checks.h"

#include <gtest/gtest.h>

#include <memory>

#include "maps/regexp_map.h"

namespace estafeta::checks {
namespace {

using Disposition = LineOutcome::Disposition;

std::unique_ptr<maps::Map> regexp(std::string_view rules) {
  maps::BuiltMap built = maps::build_regexp_map(rules, "test.re");
  EXPECT_TRUE(built.warnings.empty()) << built.warnings.front();
  return std::move(built.map);
}

// Answers every lookup with TempFail, counting them.
class DownMap final : public maps::Map {
 public:
  maps::LookupResult lookup(std::string_view) const override {
    ++lookups;
    return maps::LookupResult::temp_fail("connection refused");
  }
  mutable int lookups = 0;
};

CheckContext smtp_context() {
  return CheckContext{"4B3AF1", "mail.example.org",  "192.0.2.9", "a@example.org", "x@example.net",
                      "ESMTP",  "client.example.org"};
}

const std::string kWhere =
    " from mail.example.org[192.0.2.9]; from=<a@example.org> to=<x@example.net> proto=ESMTP "
    "helo=<client.example.org>";

constexpr std::string_view kRules = R"(/^Subject: reject me/        REJECT
/^Subject: defer me/         REJECT 4.7.1 try later
/^Subject: own text/         REJECT go away
/^Subject: first.*second/    WARN folded
/^Subject: warn/             WARN looked at
/^Subject: info/             INFO
/^Subject: hold/             HOLD held
/^Subject: discard/          DISCARD
/^Subject: pass/             PASS trusted
/^X-Drop:/                   IGNORE
/^X-Strip:/                  STRIP gone
/^X-Prepend:/                PREPEND X-Seen: yes
/^X-Bad-Prepend:/            PREPEND not a header
/^X-Replace: (.*)/           REPLACE X-Replaced: $1
/^X-Redirect: (.*)/          REDIRECT $1
/^X-Filter: (.*)/            FILTER $1
/^X-Bcc: (.*)/               BCC $1
/^X-Unknown:/                FROB
/^X-Dunno:/                  DUNNO
/^body reject/               REJECT 5.7.0 bad body
/^body prepend/              PREPEND inserted line
/^body replace/              REPLACE replaced line
/^body ignore/               IGNORE
/^body warn/                 WARN
)";

class ContentChecksTest : public ::testing::Test {
 protected:
  std::unique_ptr<maps::Map> table_ = regexp(kRules);
  ContentChecker make(CheckSettings settings = {}) {
    return ContentChecker({table_.get()}, {table_.get()}, smtp_context(), settings);
  }
};

TEST_F(ContentChecksTest, NoMatchKeepsTheLineAndLogsNothing) {
  ContentChecker c = make();
  EXPECT_EQ(c.check_header("Subject: hello"), LineOutcome{});
  EXPECT_EQ(c.check_body_line("hello"), LineOutcome{});
  EXPECT_EQ(c.check_header("X-Dunno: x"), LineOutcome{});
  EXPECT_EQ(c.verdict(), ContentVerdict{});
  EXPECT_TRUE(c.take_log_lines().empty());
}

TEST_F(ContentChecksTest, RejectDefaultTextStopsFurtherChecks) {
  ContentChecker c = make();
  EXPECT_EQ(c.check_header("Subject: reject me").disposition, Disposition::Drop);
  EXPECT_EQ(c.verdict().refusal, "550 5.7.1 message content rejected");
  EXPECT_FALSE(c.inspecting());
  EXPECT_EQ(c.take_log_lines(),
            std::vector<std::string>{"4B3AF1: reject: header Subject: reject me" + kWhere +
                                     ": 5.7.1 message content rejected"});
  // Nothing after a REJECT is inspected: these would match.
  EXPECT_EQ(c.check_header("X-Drop: x"), LineOutcome{});
  EXPECT_EQ(c.check_header("Subject: defer me"), LineOutcome{});
  EXPECT_EQ(c.check_body_line("body ignore"), LineOutcome{});
  EXPECT_EQ(c.verdict().refusal, "550 5.7.1 message content rejected");
  EXPECT_TRUE(c.take_log_lines().empty());
}

TEST_F(ContentChecksTest, RejectTexts) {
  ContentChecker defer = make();
  defer.check_header("Subject: defer me");
  EXPECT_EQ(defer.verdict().refusal, "451 4.7.1 try later");
  ContentChecker own = make();
  own.check_header("Subject: own text");
  EXPECT_EQ(own.verdict().refusal, "550 5.7.1 go away");
  ContentChecker body = make();
  EXPECT_EQ(body.check_body_line("body reject").disposition, Disposition::Drop);
  EXPECT_EQ(body.verdict().refusal, "550 5.7.0 bad body");
  EXPECT_EQ(body.take_log_lines(), std::vector<std::string>{"4B3AF1: reject: body body reject" +
                                                            kWhere + ": 5.7.0 bad body"});
}

TEST_F(ContentChecksTest, MultiLineHeaderIsOneLookup) {
  ContentChecker c = make();
  EXPECT_EQ(c.check_header("Subject: first\n\tsecond"), LineOutcome{});
  // The newline and tab are logged as '?', as Postfix's logger shows control characters.
  EXPECT_EQ(c.take_log_lines(),
            std::vector<std::string>{"4B3AF1: warning: header Subject: first??second" + kWhere +
                                     ": folded"});
}

TEST_F(ContentChecksTest, LogOnlyActions) {
  ContentChecker c = make();
  EXPECT_EQ(c.check_header("Subject: warn"), LineOutcome{});
  EXPECT_EQ(c.check_header("Subject: info"), LineOutcome{});
  EXPECT_EQ(c.check_header("Subject: hold"), LineOutcome{});
  EXPECT_EQ(c.check_body_line("body warn"), LineOutcome{});
  EXPECT_TRUE(c.verdict().hold);
  EXPECT_FALSE(c.verdict().refusal);
  EXPECT_TRUE(c.inspecting());
  EXPECT_EQ(c.take_log_lines(),
            (std::vector<std::string>{
                "4B3AF1: warning: header Subject: warn" + kWhere + ": looked at",
                "4B3AF1: info: header Subject: info" + kWhere,
                "4B3AF1: hold: header Subject: hold" + kWhere + ": held",
                "4B3AF1: warning: body body warn" + kWhere,
            }));
}

TEST_F(ContentChecksTest, DiscardAndPassStopInspection) {
  ContentChecker d = make();
  EXPECT_EQ(d.check_header("Subject: discard").disposition, Disposition::Drop);
  EXPECT_TRUE(d.verdict().discard);
  EXPECT_FALSE(d.inspecting());
  EXPECT_EQ(d.check_header("X-Drop: y"), LineOutcome{});
  ContentChecker p = make();
  EXPECT_EQ(p.check_header("Subject: pass"), LineOutcome{});
  EXPECT_FALSE(p.inspecting());
  EXPECT_EQ(p.check_body_line("body reject"), LineOutcome{});
  EXPECT_EQ(p.verdict(), ContentVerdict{});
  EXPECT_EQ(p.take_log_lines(),
            std::vector<std::string>{"4B3AF1: pass: header Subject: pass" + kWhere + ": trusted"});
}

TEST_F(ContentChecksTest, LineEditing) {
  ContentChecker c = make();
  EXPECT_EQ(c.check_header("X-Drop: x").disposition, Disposition::Drop);
  EXPECT_TRUE(c.take_log_lines().empty());  // IGNORE is silent
  EXPECT_EQ(c.check_header("X-Strip: x").disposition, Disposition::Drop);
  EXPECT_EQ(c.take_log_lines(),
            std::vector<std::string>{"4B3AF1: strip: header X-Strip: x" + kWhere + ": gone"});

  LineOutcome prepend = c.check_header("X-Prepend: x");
  EXPECT_EQ(prepend.disposition, Disposition::Keep);
  EXPECT_EQ(prepend.prepend, "X-Seen: yes");
  LineOutcome bad = c.check_header("X-Bad-Prepend: x");
  EXPECT_EQ(bad, LineOutcome{});
  LineOutcome replace = c.check_header("X-Replace: old value");
  EXPECT_EQ(replace.disposition, Disposition::Replace);
  EXPECT_EQ(replace.replacement, "X-Replaced: old value");
  EXPECT_EQ(c.take_log_lines(),
            (std::vector<std::string>{
                "4B3AF1: prepend: header X-Prepend: x" + kWhere + ": X-Seen: yes",
                "warning: bad PREPEND header text \"not a header\" in header_checks map -- need "
                "\"headername: headervalue\"",
                "4B3AF1: replace: header X-Replace: old value" + kWhere + ": X-Replaced: old value",
            }));

  // In the body any text may be prepended or put in place.
  EXPECT_EQ(c.check_body_line("body prepend").prepend, "inserted line");
  LineOutcome body_replace = c.check_body_line("body replace");
  EXPECT_EQ(body_replace.disposition, Disposition::Replace);
  EXPECT_EQ(body_replace.replacement, "replaced line");
  EXPECT_EQ(c.check_body_line("body ignore").disposition, Disposition::Drop);
}

TEST_F(ContentChecksTest, RoutingActionsAccumulate) {
  ContentChecker c = make();
  c.check_header("X-Redirect: one@example.org");
  c.check_header("X-Redirect: two@example.org");
  c.check_header("X-Filter: scan:[127.0.0.1]:10025");
  c.check_header("X-Filter: other:host");
  c.check_header("X-Bcc: archive@example.org");
  c.check_header("X-Bcc: archive@example.org");
  c.check_header("X-Bcc: audit@example.org");
  EXPECT_EQ(c.verdict().redirect, "two@example.org");
  EXPECT_EQ(c.verdict().filter, "other:host");
  EXPECT_EQ(c.verdict().bcc,
            (std::vector<std::string>{"archive@example.org", "audit@example.org"}));
  std::vector<std::string> log = c.take_log_lines();
  ASSERT_EQ(log.size(), 7u);
  EXPECT_EQ(log[0],
            "4B3AF1: redirect: header X-Redirect: one@example.org" + kWhere + ": one@example.org");
  EXPECT_EQ(log[3], "4B3AF1: filter: header X-Filter: other:host" + kWhere + ": other:host");
}

TEST_F(ContentChecksTest, UnknownActionWarnsAndActsAsDunno) {
  ContentChecker c = make();
  EXPECT_EQ(c.check_header("X-Unknown: 1"), LineOutcome{});
  EXPECT_EQ(c.take_log_lines(),
            std::vector<std::string>{"warning: unknown command in header_checks map: FROB"});
  ContentChecker b({}, {table_.get()}, smtp_context());
  EXPECT_EQ(b.check_body_line("X-Unknown: 1"), LineOutcome{});
  EXPECT_EQ(b.take_log_lines(),
            std::vector<std::string>{"warning: unknown command in body_checks map: FROB"});
}

TEST_F(ContentChecksTest, EmptyBodyLinesAreNeverLookedUp) {
  std::unique_ptr<maps::Map> empty = regexp("/^$/ REJECT empty\n");
  ContentChecker c({}, {empty.get()}, smtp_context());
  EXPECT_EQ(c.check_body_line(""), LineOutcome{});
  EXPECT_FALSE(c.verdict().refusal);
}

TEST_F(ContentChecksTest, BodySizeLimit) {
  // A line is inspected when it starts before the limit; each line counts with its "\n", so
  // these 11-byte lines start at offsets 0, 12 and 24.
  for (size_t limit : {24, 25}) {
    ContentChecker c = make(CheckSettings{.body_size_limit = limit});
    EXPECT_EQ(c.check_body_line("body ignore").disposition, Disposition::Drop);
    EXPECT_EQ(c.check_body_line("body ignore").disposition, Disposition::Drop);
    EXPECT_EQ(c.check_body_line("body ignore").disposition,
              limit == 24 ? Disposition::Keep : Disposition::Drop)
        << limit;
  }
  ContentChecker unlimited = make(CheckSettings{.body_size_limit = 0});
  for (int i = 0; i < 10000; ++i) unlimited.check_body_line("0123456789");
  EXPECT_EQ(unlimited.check_body_line("body ignore").disposition, Disposition::Drop);
  // Headers do not count toward the body limit.
  ContentChecker headers = make(CheckSettings{.body_size_limit = 5});
  headers.check_header("X-Long: 0123456789012345678901234567890123456789");
  EXPECT_EQ(headers.check_body_line("body ignore").disposition, Disposition::Drop);
}

TEST_F(ContentChecksTest, TempFailDefersTheMessage) {
  DownMap down;
  ContentChecker c({table_.get(), &down}, {&down}, smtp_context());
  // The first table answers: the second is not asked.
  EXPECT_EQ(c.check_header("X-Drop: x").disposition, Disposition::Drop);
  EXPECT_EQ(down.lookups, 0);
  EXPECT_EQ(c.check_header("Subject: nothing"), LineOutcome{});
  EXPECT_EQ(down.lookups, 1);
  EXPECT_EQ(c.verdict().refusal, "451 4.3.0 Error: queue file write error");
  EXPECT_FALSE(c.inspecting());
  EXPECT_EQ(c.take_log_lines(),
            std::vector<std::string>{"warning: 4B3AF1: header_checks map lookup problem -- "
                                     "message not accepted, try again later"});
  // Inspection is over: no further lookups, and a later REJECT cannot replace the reply.
  EXPECT_EQ(c.check_header("Subject: reject me"), LineOutcome{});
  EXPECT_EQ(c.check_body_line("x"), LineOutcome{});
  EXPECT_EQ(down.lookups, 1);
  EXPECT_EQ(c.verdict().refusal, "451 4.3.0 Error: queue file write error");
}

TEST_F(ContentChecksTest, LocalSubmissionContext) {
  ContentChecker c({table_.get()}, {}, CheckContext{"9C1", "", "", "", "", "", ""});
  c.check_header("Subject: warn");
  EXPECT_EQ(c.take_log_lines(),
            std::vector<std::string>{
                "9C1: warning: header Subject: warn from local; from=<>: looked at"});
}

TEST_F(ContentChecksTest, LongLinesAreLoggedShortened) {
  std::unique_ptr<maps::Map> any = regexp("/^X/ WARN\n");
  ContentChecker c({any.get()}, {}, CheckContext{"Q", "", "", "s@x", "", "", ""});
  c.check_header("X: " + std::string(500, 'a'));
  EXPECT_EQ(c.take_log_lines(),
            std::vector<std::string>{"Q: warning: header X: " + std::string(197, 'a') +
                                     " from local; from=<s@x>"});
}

}  // namespace
}  // namespace estafeta::checks
