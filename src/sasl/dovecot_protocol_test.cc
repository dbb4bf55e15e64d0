// Tests of the Dovecot auth protocol codec: a real Dovecot 2.3 transcript, every split of it,
// errors, and the encoders.
#include "sasl/dovecot_protocol.h"

#include <gtest/gtest.h>

namespace estafeta::sasl {
namespace {

// What Dovecot 2.3.19 sent to a client (recorded with a test instance), then the answers to
// a PLAIN success, a failure, a LOGIN exchange and a temporary failure.
constexpr std::string_view kTranscript =
    "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\n"
    "MECH\tANONYMOUS\tanonymous\nMECH\tSECRET\tprivate\nSPID\t11802\nCUID\t1\n"
    "COOKIE\t83a014c86bf513b338504b817317beb0\nDONE\n"
    "OK\t1\tuser=alice\n"
    "FAIL\t2\tuser=alice\n"
    "CONT\t3\tVXNlcm5hbWU6\n"
    "NOTICE\tsomething new\n"
    "CONT\t3\tUGFzc3dvcmQ6\n"
    "OK\t3\tuser=al\001tice\n"
    "FAIL\t4\tcode=temp_fail\treason=Internal error\ttemp\n"
    "CONT\t5\t\n";

std::string describe(const std::vector<ServerEvent>& events) {
  std::string out;
  for (const auto& e : events) {
    if (auto* h = std::get_if<Handshake>(&e)) {
      out += "handshake " + std::to_string(h->minor_version) + " " + h->spid + " " + h->cuid +
             " " + h->cookie;
      for (const auto& m : h->mechanisms) {
        out += " " + m.name + (m.plaintext ? "+p" : "") + (m.anonymous ? "+a" : "") +
               (m.is_private ? "+x" : "");
      }
    } else if (auto* c = std::get_if<ServerContinue>(&e)) {
      out += "cont " + std::to_string(c->id) + " [" + c->challenge + "]";
    } else if (auto* ok = std::get_if<ServerOk>(&e)) {
      out += "ok " + std::to_string(ok->id) + " " + ok->user;
    } else if (auto* f = std::get_if<ServerFail>(&e)) {
      out += "fail " + std::to_string(f->id) + " [" + f->reason + "] [" + f->user + "]" +
             (f->temporary ? " temp" : "");
    }
    out += "\n";
  }
  return out;
}

const std::string kExpected =
    "handshake 2 11802 1 83a014c86bf513b338504b817317beb0 PLAIN+p LOGIN+p ANONYMOUS+a "
    "SECRET+x\n"
    "ok 1 alice\n"
    "fail 2 [] [alice]\n"
    "cont 3 [VXNlcm5hbWU6]\n"
    "cont 3 [UGFzc3dvcmQ6]\n"
    "ok 3 al\tice\n"
    "fail 4 [Internal error] [] temp\n"
    "cont 5 []\n";

TEST(DovecotReader, WholeTranscript) {
  DovecotReader reader;
  std::vector<ServerEvent> events;
  ASSERT_TRUE(reader.feed(kTranscript, events).ok());
  EXPECT_TRUE(reader.handshake_done());
  EXPECT_EQ(describe(events), kExpected);
}

TEST(DovecotReader, EverySplitInTwoAndThree) {
  for (size_t i = 0; i <= kTranscript.size(); ++i) {
    DovecotReader reader;
    std::vector<ServerEvent> events;
    ASSERT_TRUE(reader.feed(kTranscript.substr(0, i), events).ok());
    ASSERT_TRUE(reader.feed(kTranscript.substr(i), events).ok());
    ASSERT_EQ(describe(events), kExpected) << "split at " << i;
  }
  for (size_t i = 0; i <= kTranscript.size(); i += 3) {
    for (size_t j = i; j <= kTranscript.size(); j += 5) {
      DovecotReader reader;
      std::vector<ServerEvent> events;
      ASSERT_TRUE(reader.feed(kTranscript.substr(0, i), events).ok());
      ASSERT_TRUE(reader.feed(kTranscript.substr(i, j - i), events).ok());
      ASSERT_TRUE(reader.feed(kTranscript.substr(j), events).ok());
      ASSERT_EQ(describe(events), kExpected) << "splits at " << i << ", " << j;
    }
  }
}

TEST(DovecotReader, ByteAtATime) {
  DovecotReader reader;
  std::vector<ServerEvent> events;
  for (char c : kTranscript) ASSERT_TRUE(reader.feed(std::string_view(&c, 1), events).ok());
  EXPECT_EQ(describe(events), kExpected);
}

TEST(DovecotReader, Errors) {
  auto fails = [](std::string_view input) {
    DovecotReader reader(64);
    std::vector<ServerEvent> events;
    Status first = reader.feed(input, events);
    if (first.ok()) return false;
    // The reader stays failed.
    return !reader.feed("DONE\n", events).ok();
  };
  EXPECT_TRUE(fails("VERSION\t2\t0\n"));                   // another major version
  EXPECT_TRUE(fails("MECH\tPLAIN\n"));                     // before VERSION
  EXPECT_TRUE(fails("VERSION\t1\t2\nOK\t1\n"));            // a reply before DONE
  EXPECT_TRUE(fails("VERSION\t1\t2\nDONE\nOK\tx\n"));      // no numeric id
  EXPECT_TRUE(fails("VERSION\t1\t2\nDONE\nFAIL\n"));       // no id at all
  EXPECT_TRUE(fails("VERSION\t1\t2\nDONE\nCONT\t99999999999\tx\n"));
  EXPECT_TRUE(fails(std::string(65, 'A')));                // too long, unterminated
  EXPECT_TRUE(fails("VERSION\t1\t2\n" + std::string(70, 'A') + "\n"));
  EXPECT_FALSE(fails("VERSION\t1\t2\nXYZZY\nDONE\nUNKNOWN\t1\n"));
}

TEST(DovecotReader, LongLineAcrossFeedsIsRefused) {
  DovecotReader reader(16);
  std::vector<ServerEvent> events;
  ASSERT_TRUE(reader.feed("VERSION\t1\t2\nCOOKIE\t0123", events).ok());
  EXPECT_FALSE(reader.feed("456789abcdef\n", events).ok());
}

TEST(DovecotProtocol, Unescape) {
  EXPECT_EQ(unescape_field("a\001tb\001nc\001rd\0010e\0011f\001lg\001xh\001"),
            std::string("a\tb\nc\rd\0e\001f\ngxh", 15));
}

TEST(DovecotProtocol, Encoders) {
  EXPECT_EQ(encode_client_handshake(42), "VERSION\t1\t1\nCPID\t42\n");
  AuthRequest r;
  r.id = 7;
  r.mechanism = "PLAIN";
  r.local_ip = "127.0.0.1";
  r.remote_ip = "127.0.0.2";
  r.secured = true;
  r.initial_response = "AGFsaWNlAHNlY3JldA==";
  EXPECT_EQ(encode_auth(r).value(),
            "AUTH\t7\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=127.0.0.2\tsecured\t"
            "resp=AGFsaWNlAHNlY3JldA==\n");
  r.secured = false;
  r.initial_response = "";
  r.local_ip.clear();
  r.service = "submission";
  EXPECT_EQ(encode_auth(r).value(),
            "AUTH\t7\tPLAIN\tservice=submission\tnologin\trip=127.0.0.2\tresp=\n");
  r.initial_response.reset();
  EXPECT_EQ(encode_auth(r).value(), "AUTH\t7\tPLAIN\tservice=submission\tnologin\trip=127.0.0.2\n");
  r.mechanism = "PLAIN\tresp=x";
  EXPECT_FALSE(encode_auth(r).ok());
  r.mechanism = "PLAIN";
  r.initial_response = "x\nAUTH";
  EXPECT_FALSE(encode_auth(r).ok());
  r.initial_response.reset();
  r.service = "";
  EXPECT_FALSE(encode_auth(r).ok());
  EXPECT_EQ(encode_continue(3, "dXNlcg==").value(), "CONT\t3\tdXNlcg==\n");
  EXPECT_FALSE(encode_continue(3, "a\tb").ok());
}

}  // namespace
}  // namespace estafeta::sasl
