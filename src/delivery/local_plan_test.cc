// Tests of the local(8) expansion rules (local_plan.h) with in-memory aliases, users and files.
#include "delivery/local_plan.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <map>

namespace estafeta::delivery {
namespace {

using maps::LookupResult;
using maps::LookupStatus;

class LocalPlanTest : public ::testing::Test {
 protected:
  LocalPlanTest() {
    settings.recipient_delimiter = "+";
    settings.myorigin = "example.org";
    settings.forward_path = {"$home/.forward${recipient_delimiter}${extension}", "$home/.forward"};
    settings.mail_spool_directory = "/var/mail";
    settings.allow_mail_to_commands = {"alias", "forward"};
    settings.allow_mail_to_files = {"alias", "forward"};
    settings.default_privs = {"nobody", 65534, 65534, "/nonexistent", "/usr/sbin/nologin"};
    users["alice"] = {"alice", 1001, 1001, "/home/alice", "/bin/bash"};
    users["bob"] = {"bob", 1002, 1002, "/home/bob", "/bin/sh"};
    users["root"] = {"root", 0, 0, "/root", "/bin/bash"};
    lookups.alias = [this](const std::string& k) {
      if (k == broken_alias) return LookupResult::temp_fail("lmdb down");
      auto it = aliases.find(k);
      return it == aliases.end() ? LookupResult::not_found() : LookupResult::found(it->second);
    };
    lookups.user_by_name = [this](const std::string& n) {
      auto it = users.find(n);
      if (it == users.end()) return UserLookup{LookupStatus::NotFound, {}};
      return UserLookup{LookupStatus::Found, it->second};
    };
    lookups.user_by_uid = [this](uid_t uid) {
      for (auto& [n, u] : users) {
        if (u.uid == uid) return UserLookup{LookupStatus::Found, u};
      }
      return UserLookup{LookupStatus::NotFound, {}};
    };
    lookups.read_file = [this](const PlanUser& as, const std::string& path) {
      reads.push_back(as.name + ":" + path);
      auto it = files.find(path);
      if (it == files.end()) return FileLookup{LookupStatus::NotFound, "", 0};
      return FileLookup{LookupStatus::Found, it->second.first, it->second.second};
    };
    lookups.is_local_domain = [](const std::string& d) -> std::optional<bool> {
      return d == "example.org" || d == "localhost";
    };
  }

  std::vector<LocalAction> plan(const std::string& rcpt, std::vector<std::string> dt = {}) {
    return plan_local_delivery(rcpt, dt, settings, lookups);
  }

  LocalPlanSettings settings;
  LocalPlanLookups lookups;
  std::map<std::string, std::string> aliases;
  std::map<std::string, PlanUser> users;
  std::map<std::string, std::pair<std::string, uid_t>> files;  // path -> content, owner
  std::vector<std::string> reads;
  std::string broken_alias;
};

TEST_F(LocalPlanTest, PlainUserGetsSpoolMbox) {
  auto a = plan("Alice@Example.org");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, ActionKind::Mbox);
  EXPECT_EQ(a[0].path, "/var/mail/alice");
  EXPECT_TRUE(a[0].spool);
  EXPECT_EQ(a[0].as.uid, 1001u);
  EXPECT_EQ(a[0].to, "alice@example.org");
  EXPECT_FALSE(a[0].expanded);
  EXPECT_EQ(a[0].what, "mailbox");
  EXPECT_EQ(reads, (std::vector<std::string>{"alice:/home/alice/.forward"}));
}

TEST_F(LocalPlanTest, SpoolEndingInSlashIsMaildirAndHomeMailbox) {
  settings.mail_spool_directory = "/var/mail/";
  auto a = plan("alice");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, ActionKind::Maildir);
  EXPECT_EQ(a[0].path, "/var/mail/alice/");
  settings.home_mailbox = "Maildir/";
  a = plan("alice");
  EXPECT_EQ(a[0].path, "/home/alice/Maildir/");
  settings.home_mailbox = "Mailbox";
  a = plan("alice");
  EXPECT_EQ(a[0].kind, ActionKind::Mbox);
  EXPECT_EQ(a[0].path, "/home/alice/Mailbox");
  EXPECT_FALSE(a[0].spool);
}

TEST_F(LocalPlanTest, MailboxCommandRunsAsUserAndRootAsDefaultPrivs) {
  settings.mailbox_command = "/usr/bin/procmail";
  auto a = plan("alice+lists@example.org");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, ActionKind::Command);
  EXPECT_EQ(a[0].as.uid, 1001u);
  EXPECT_EQ(a[0].extension, "lists");
  EXPECT_EQ(a[0].what, "command: /usr/bin/procmail");
  a = plan("root");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].as.uid, 65534u);
  EXPECT_EQ(reads,
            (std::vector<std::string>{"alice:/home/alice/.forward+lists",
                                      "alice:/home/alice/.forward", "nobody:/root/.forward"}));
}

TEST_F(LocalPlanTest, RootMailboxNeverAsRoot) {
  auto a = plan("root@example.org");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].path, "/var/mail/root");
  EXPECT_EQ(a[0].as.uid, 65534u);
}

TEST_F(LocalPlanTest, MailOwnerIsTreatedAsRoot) {
  users["postfix"] = {"postfix", 105, 110, "/var/spool/postfix", "/usr/sbin/nologin"};
  auto a = plan("postfix@example.org");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].as.uid, 105u);  // an ordinary user while no mail_owner is set
  settings.mail_owner_uid = 105;
  reads.clear();
  a = plan("postfix@example.org");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, ActionKind::Mbox);
  EXPECT_EQ(a[0].path, "/var/mail/postfix");
  EXPECT_EQ(a[0].as.uid, 65534u);
  EXPECT_EQ(reads, (std::vector<std::string>{"nobody:/var/spool/postfix/.forward"}));
  // An :include: file owned by mail_owner lends default_privs, not mail_owner's rights.
  aliases["list"] = ":include:/etc/mail/list";
  files["/etc/mail/list"] = {"|/bin/cat", 105};
  settings.allow_mail_to_commands.push_back("include");
  a = plan("list@example.org");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, ActionKind::Command);
  EXPECT_EQ(a[0].as.uid, 65534u);
}

TEST_F(LocalPlanTest, RootsUnreadableForwardIsSkippedAndDevNullAliasIsAFile) {
  // /root is root-only: default_privs cannot read /root/.forward (EACCES).
  lookups.read_file = [this](const PlanUser& as, const std::string& path) {
    reads.push_back(as.name + ":" + path);
    if (path.rfind("/root/", 0) == 0) {
      return FileLookup{LookupStatus::TempFail, "Permission denied", 0, 0, EACCES};
    }
    if (path.rfind("/home/bob/", 0) == 0) {  // a user's own unreadable file still defers
      return FileLookup{LookupStatus::TempFail, "Permission denied", 0, 0, EACCES};
    }
    return FileLookup{LookupStatus::NotFound, "", 0};
  };
  auto a = plan("root@example.org");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, ActionKind::Mbox);
  EXPECT_EQ(a[0].path, "/var/mail/root");
  EXPECT_EQ(a[0].as.uid, 65534u);
  a = plan("bob@example.org");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, ActionKind::Defer);
  aliases["root"] = "/dev/null";
  a = plan("root@example.org");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, ActionKind::Mbox);  // the spawner's child discards it
  EXPECT_EQ(a[0].path, "/dev/null");
  EXPECT_FALSE(a[0].spool);
  EXPECT_EQ(a[0].as.uid, 65534u);
}

TEST_F(LocalPlanTest, HomeOfRootDirectoryOrRelativeIsNotUsed) {
  users["daemon"] = {"daemon", 1, 1, "/", "/usr/sbin/nologin"};
  users["rel"] = {"rel", 1003, 1003, "home/rel", "/bin/sh"};
  users["slash"] = {"slash", 1004, 1004, "/home/slash/", "/bin/sh"};
  settings.forward_path = {"$home/.forward"};
  settings.home_mailbox = "Maildir/";
  for (const char* who : {"daemon", "rel"}) {
    reads.clear();
    auto a = plan(std::string(who) + "@example.org");
    ASSERT_EQ(a.size(), 1u) << who;
    EXPECT_EQ(a[0].kind, ActionKind::Defer) << who;
    EXPECT_EQ(a[0].dsn, "4.3.0");
    EXPECT_NE(a[0].text.find("no usable home directory"), std::string::npos) << a[0].text;
    EXPECT_TRUE(reads.empty()) << who << ": " << reads[0];  // no .forward looked for
  }
  reads.clear();
  auto a = plan("slash@example.org");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].path, "/home/slash/Maildir/");
  EXPECT_EQ(reads, (std::vector<std::string>{"slash:/home/slash/.forward"}));
  // Without home_mailbox, their mail goes to the spool as usual.
  settings.home_mailbox.clear();
  a = plan("daemon@example.org");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].path, "/var/mail/daemon");
}

TEST_F(LocalPlanTest, LuserRelayIsAnAddressNeverACommandOrFile) {
  for (const char* relay :
       {"|/bin/sh -c 'touch /tmp/x'", "/tmp/x", ":include:/etc/passwd", "error:4.7.0 held"}) {
    settings.luser_relay = relay;
    reads.clear();
    auto a = plan("nosuch@example.org");
    for (const auto& action : a) {
      EXPECT_NE(action.kind, ActionKind::Command) << relay;
      EXPECT_NE(action.kind, ActionKind::Mbox) << relay;
      EXPECT_NE(action.kind, ActionKind::Maildir) << relay;
      EXPECT_NE(action.kind, ActionKind::Defer) << relay;  // not an error: target
    }
    EXPECT_TRUE(reads.empty()) << relay;  // no :include: file read
  }
}

// luser_relay, expanded, is where an unknown user's mail goes: forwarded when remote, to
// the named user's mailbox when local.
TEST_F(LocalPlanTest, UnknownUserBouncesOrGoesToLuserRelay) {
  auto a = plan("nosuch@example.org");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, ActionKind::Bounce);
  EXPECT_EQ(a[0].dsn, "5.1.1");
  EXPECT_EQ(a[0].text, "unknown user: \"nosuch\"");
  struct Case {
    std::string relay, recipient, forward_to, mailbox, to;
  };
  for (const Case& c : std::vector<Case>{
           {"$user@elsewhere.net", "nosuch+x@example.org", "nosuch@elsewhere.net", "", ""},
           {"catchall+${extension}@elsewhere.net", "nosuch+x@example.org",
            "catchall+x@elsewhere.net", "", ""},
           {"$recipient@elsewhere.net", "nosuch@example.org", "nosuch@example.org@elsewhere.net",
            "", ""},
           {"bob", "nosuch@example.org", "", "/var/mail/bob", "bob@example.org"},
           {"bob@$domain", "nosuch@localhost", "", "/var/mail/bob", "bob@localhost"}}) {
    settings.luser_relay = c.relay;
    a = plan(c.recipient);
    ASSERT_EQ(a.size(), 1u) << c.relay;
    if (!c.forward_to.empty()) {
      EXPECT_EQ(a[0].kind, ActionKind::Forward) << c.relay;
      EXPECT_EQ(a[0].address, c.forward_to);
    } else {
      EXPECT_EQ(a[0].path, c.mailbox) << c.relay;
      EXPECT_EQ(a[0].to, c.to);
    }
  }
}

TEST_F(LocalPlanTest, AliasWithSeveralTargets) {
  aliases["team"] =
      "alice, bob@example.org, carol@remote.net, \"|/usr/bin/logger -t a,b\", "
      "/var/log/team.mbox, /srv/team/";
  auto a = plan("team@example.org");
  ASSERT_EQ(a.size(), 6u);
  EXPECT_EQ(a[0].path, "/var/mail/alice");
  EXPECT_EQ(a[0].as.uid, 1001u);
  EXPECT_TRUE(a[0].expanded);
  EXPECT_EQ(a[1].path, "/var/mail/bob");
  EXPECT_EQ(a[2].kind, ActionKind::Forward);
  EXPECT_EQ(a[2].address, "carol@remote.net");
  EXPECT_EQ(a[2].sender, "");
  EXPECT_EQ(a[3].kind, ActionKind::Command);
  EXPECT_EQ(a[3].command, "/usr/bin/logger -t a,b");
  EXPECT_EQ(a[3].as.uid, 65534u);
  EXPECT_EQ(a[3].to, "team@example.org");
  EXPECT_EQ(a[4].kind, ActionKind::Mbox);
  EXPECT_EQ(a[4].path, "/var/log/team.mbox");
  EXPECT_EQ(a[4].as.uid, 65534u);
  EXPECT_EQ(a[4].what, "file: /var/log/team.mbox");
  EXPECT_EQ(a[5].kind, ActionKind::Maildir);
}

TEST_F(LocalPlanTest, SelfReferenceIsTheMailbox) {
  aliases["alice"] = "alice, bob";
  files["/home/alice/.forward"] = {"elsewhere@remote.net", 1001};
  auto a = plan("alice@example.org");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].path, "/var/mail/alice");  // not her .forward, not the alias again
  EXPECT_EQ(a[1].path, "/var/mail/bob");
}

TEST_F(LocalPlanTest, ExtensionFallsBackToUserInAliasesAndForward) {
  aliases["bob"] = "alice";
  auto a = plan("bob+x@example.org");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].path, "/var/mail/alice");
  aliases["bob+x"] = "/tmp/x.mbox";
  a = plan("bob+x@example.org");
  EXPECT_EQ(a[0].path, "/tmp/x.mbox");
  files["/home/alice/.forward+news"] = {"/home/alice/news", 1001};
  a = plan("alice+news@example.org");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].path, "/home/alice/news");
  EXPECT_EQ(a[0].as.uid, 1001u);
}

TEST_F(LocalPlanTest, ErrorTargetAndTempFail) {
  aliases["gone"] = "error:5.1.6 moved away";
  aliases["later"] = "error:4.2.1 try later";
  aliases["plain"] = "error: nope";
  auto a = plan("gone");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, ActionKind::Bounce);
  EXPECT_EQ(a[0].dsn, "5.1.6");
  EXPECT_EQ(a[0].text, "moved away");
  EXPECT_EQ(plan("later")[0].kind, ActionKind::Defer);
  EXPECT_EQ(plan("plain")[0].dsn, "5.0.0");
  broken_alias = "alice";
  a = plan("alice");
  EXPECT_EQ(a[0].kind, ActionKind::Defer);
  EXPECT_EQ(a[0].dsn, "4.3.0");
}

TEST_F(LocalPlanTest, OwnerAliasChangesTheForwardSender) {
  aliases["list"] = "carol@remote.net, alice";
  aliases["owner-list"] = "alice";
  auto a = plan("list@example.org");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].kind, ActionKind::Forward);
  EXPECT_EQ(a[0].sender, "owner-list@example.org");
}

TEST_F(LocalPlanTest, IncludeRunsAsTheFileOwner) {
  aliases["staff"] = ":include:/etc/mail/staff, :include:/etc/mail/rootlist";
  files["/etc/mail/staff"] = {"# staff\nbob\n/home/alice/staff.mbox, \"|/bin/cat\"\n", 1001};
  files["/etc/mail/rootlist"] = {"alice\n", 0};
  settings.allow_mail_to_files = {"alias", "forward", "include"};
  auto a = plan("staff");
  ASSERT_EQ(a.size(), 4u);
  EXPECT_EQ(a[0].path, "/var/mail/bob");
  EXPECT_EQ(a[1].path, "/home/alice/staff.mbox");
  EXPECT_EQ(a[1].as.uid, 1001u);             // the include file's owner
  EXPECT_EQ(a[2].kind, ActionKind::Bounce);  // include not in allow_mail_to_commands
  EXPECT_EQ(a[2].text, "mail to command is restricted");
  EXPECT_EQ(a[3].path, "/var/mail/alice");
  EXPECT_EQ(reads[0], "nobody:/etc/mail/staff");  // read with the alias's rights
}

TEST_F(LocalPlanTest, AllowMailToRestrictions) {
  aliases["cmd"] = "|/bin/true";
  aliases["file"] = "/tmp/f";
  settings.allow_mail_to_commands = {"forward"};
  settings.allow_mail_to_files = {"forward"};
  EXPECT_EQ(plan("cmd")[0].dsn, "5.7.1");
  EXPECT_EQ(plan("file")[0].text, "mail to file is restricted");
  files["/home/alice/.forward"] = {"|/bin/true\n/tmp/f\n", 1001};
  auto a = plan("alice");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].kind, ActionKind::Command);
  EXPECT_EQ(a[0].as.uid, 1001u);
  EXPECT_EQ(a[1].kind, ActionKind::Mbox);
  settings.allow_mail_to_commands = {};
  EXPECT_EQ(plan("alice")[0].kind, ActionKind::Bounce);
}

TEST_F(LocalPlanTest, ForwardFileToAnotherUserAndBackslashSelf) {
  files["/home/alice/.forward"] = {"bob\n\\alice\n", 1001};
  auto a = plan("alice@example.org");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].path, "/var/mail/bob");
  EXPECT_EQ(a[0].as.uid, 1002u);
  EXPECT_EQ(a[0].to, "bob@example.org");
  EXPECT_EQ(a[1].path, "/var/mail/alice");
  EXPECT_EQ(a[1].as.uid, 1001u);
}

TEST_F(LocalPlanTest, ForwardFileOfAnotherOwnerOrWorldWritableIsIgnored) {
  files["/home/alice/.forward"] = {"bob", 1002};  // bob's file in alice's home
  auto a = plan("alice@example.org");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].path, "/var/mail/alice");
  lookups.read_file = [](const PlanUser&, const std::string&) {
    return FileLookup{LookupStatus::Found, "bob", 1001, 0100666};  // hers, but world-writable
  };
  a = plan("alice@example.org");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].path, "/var/mail/alice");
}

TEST_F(LocalPlanTest, LoopsBounce) {
  aliases["a"] = "b";
  aliases["b"] = "a";
  auto a = plan("a@example.org");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, ActionKind::Bounce);
  EXPECT_EQ(a[0].dsn, "5.4.6");
  a = plan("alice@example.org", {"alice@example.org"});
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].text, "mail forwarding loop for alice@example.org");
  files["/home/alice/.forward"] = {"bob", 1001};
  files["/home/bob/.forward"] = {"alice", 1002};
  a = plan("alice");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].dsn, "5.4.6");
}

TEST_F(LocalPlanTest, DuplicatesDropped) {
  aliases["both"] = "alice, alice@example.org, alice@localhost";
  EXPECT_EQ(plan("both").size(), 1u);
}

TEST(LocalPlanHelpers, DeliveredToHeaders) {
  EXPECT_EQ(delivered_to_headers("Subject: x\r\nDelivered-To: A@Example.org\r\ndelivered-to:\r\n"
                                 " <b@x>\r\n\r\nDelivered-To: body@x\r\n"),
            (std::vector<std::string>{"a@example.org", "b@x"}));
}

TEST(LocalPlanHelpers, ExpandTemplate) {
  std::vector<std::pair<std::string, std::string>> v{{"home", "/h"}, {"extension", ""}};
  EXPECT_EQ(expand_local_template("$home/.forward", v), "/h/.forward");
  EXPECT_EQ(expand_local_template("$home/.forward${extension}", v), std::nullopt);
  EXPECT_EQ(expand_local_template("${home}/f${extension?+}${extension:none}", v), "/h/fnone");
  EXPECT_EQ(expand_local_template("$$x", v), "$x");
}

TEST(LocalPlanHelpers, FileTargets) {
  EXPECT_EQ(split_file_targets("# c\n a, b\n\n\"|x y,z\"\n"),
            (std::vector<std::string>{"a", "b", "\"|x y,z\""}));
}

}  // namespace
}  // namespace estafeta::delivery
