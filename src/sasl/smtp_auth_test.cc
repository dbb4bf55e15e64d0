// Tests of the SMTP AUTH exchange helpers: the AUTH command, client responses, replies, log
// lines and the mechanism choice.
#include "sasl/smtp_auth.h"

#include <gtest/gtest.h>

namespace estafeta::sasl {
namespace {

const std::vector<std::string> kOffered = {"PLAIN", "LOGIN"};

TEST(SmtpAuth, ParseAuthCommand) {
  auto plain = parse_auth_command("plain AGFsaWNlAHNlY3JldA==", kOffered);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->mechanism, "PLAIN");
  EXPECT_EQ(plain->initial_response, std::optional<std::string>("AGFsaWNlAHNlY3JldA=="));
  auto login = parse_auth_command("LOGIN", kOffered);
  ASSERT_TRUE(login.ok());
  EXPECT_FALSE(login->initial_response);
  auto empty = parse_auth_command("PLAIN =", kOffered);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->initial_response, std::optional<std::string>(""));

  EXPECT_EQ(parse_auth_command("", kOffered).error().message, "501 5.5.4 Syntax: AUTH mechanism");
  EXPECT_EQ(parse_auth_command("PLAIN a b", kOffered).error().message,
            "501 5.5.4 Syntax: AUTH mechanism");
  EXPECT_EQ(parse_auth_command("CRAM-MD5", kOffered).error().message,
            "504 5.5.4 Unsupported authentication mechanism");
  EXPECT_EQ(parse_auth_command("PLAIN", {}).error().message,
            "504 5.5.4 Unsupported authentication mechanism");
  EXPECT_EQ(parse_auth_command("PLAIN !!!!", kOffered).error().message,
            "501 5.5.2 Cannot decode response");
}

TEST(SmtpAuth, ClientResponses) {
  EXPECT_EQ(parse_client_response("*").kind, ClientResponse::Kind::Cancel);
  EXPECT_EQ(parse_client_response("YWxpY2U=").kind, ClientResponse::Kind::Data);
  EXPECT_EQ(parse_client_response("YWxpY2U=").data, "YWxpY2U=");
  EXPECT_EQ(parse_client_response("").kind, ClientResponse::Kind::Data);  // an empty response
  EXPECT_EQ(parse_client_response("not base64").kind, ClientResponse::Kind::Malformed);
  EXPECT_EQ(parse_client_response("**").kind, ClientResponse::Kind::Malformed);
}

TEST(SmtpAuth, Replies) {
  EXPECT_EQ(challenge_reply("VXNlcm5hbWU6"), "334 VXNlcm5hbWU6");
  EXPECT_EQ(challenge_reply(""), "334 ");
  Answer a;
  a.kind = Answer::Kind::Success;
  a.user = "alice";
  EXPECT_EQ(final_reply(a), "235 2.7.0 Authentication successful");
  a.kind = Answer::Kind::Failure;
  EXPECT_EQ(final_reply(a), "535 5.7.8 Error: authentication failed: authentication failure");
  a.reason = "Password\nexpired";
  EXPECT_EQ(final_reply(a), "535 5.7.8 Error: authentication failed: Password?expired");
  a.kind = Answer::Kind::TemporaryFailure;
  a.reason = "";
  EXPECT_EQ(final_reply(a), "454 4.7.0 Temporary authentication failure");
  a.reason = "Internal error";
  EXPECT_EQ(final_reply(a), "454 4.7.0 Temporary authentication failure: Internal error");
}

TEST(SmtpAuth, FailureLog) {
  Answer a;
  a.kind = Answer::Kind::Failure;
  EXPECT_EQ(failure_log("unknown[127.0.0.1]", "PLAIN", a),
            "unknown[127.0.0.1]: SASL PLAIN authentication failed: authentication failure");
  a.user = "alice";
  a.reason = "bad";
  EXPECT_EQ(failure_log("unknown[127.0.0.1]", "LOGIN", a),
            "unknown[127.0.0.1]: SASL LOGIN authentication failed: bad, sasl_username=alice");
}

TEST(SmtpAuth, SecurityOptions) {
  EXPECT_TRUE(parse_security_options("").ok());
  auto o = parse_security_options("noanonymous, noplaintext");
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->noanonymous);
  EXPECT_TRUE(o->noplaintext);
  EXPECT_FALSE(o->nodictionary);
  EXPECT_FALSE(parse_security_options("noanonymous nothing").ok());

  std::vector<Mechanism> mechs(5);
  mechs[0].name = "PLAIN";
  mechs[0].plaintext = true;
  mechs[1].name = "LOGIN";
  mechs[1].plaintext = true;
  mechs[2].name = "ANONYMOUS";
  mechs[2].anonymous = true;
  mechs[3].name = "SECRET";
  mechs[3].is_private = true;
  mechs[4].name = "BAD NAME";
  SecurityOptions none;
  EXPECT_EQ(offered_mechanisms(mechs, none),
            (std::vector<std::string>{"PLAIN", "LOGIN", "ANONYMOUS"}));
  EXPECT_EQ(offered_mechanisms(mechs, *parse_security_options("noanonymous")),
            (std::vector<std::string>{"PLAIN", "LOGIN"}));
  EXPECT_EQ(offered_mechanisms(mechs, *parse_security_options("noanonymous noplaintext")),
            std::vector<std::string>{});
  EXPECT_EQ(offered_mechanisms(mechs, *parse_security_options("mutual_auth")),
            std::vector<std::string>{});
}

}  // namespace
}  // namespace estafeta::sasl
