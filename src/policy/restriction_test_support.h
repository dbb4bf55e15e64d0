// Test support shared by the policy tests (header-only, GoogleTest): restriction settings
// from main.cf text, and the facts of a typical outside client to vary per case.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "base/result.h"
#include "config/config.h"
#include "policy/address_list.h"
#include "policy/restriction_evaluator.h"
#include "policy/restriction_settings.h"

namespace estafeta::policy::test_support {

/// The mynetworks the tests use unless they name their own: 127.0.0.0/8 and 10.0.0.0/8.
inline NetworkSet test_mynetworks() {
  return NetworkSet(NetworkList::parse({"127.0.0.0/8", "10.0.0.0/8"}, nullptr), {});
}

/// make_restriction_settings() for `main_cf` (myhostname mx.example.com) with its error, if
/// any; a main.cf that does not parse fails the test and gives an Error.
inline Result<RestrictionSettings> try_settings_from(const std::string& main_cf,
                                                     NetworkSet mynetworks = test_mynetworks()) {
  auto loaded = config::Config::parse(main_cf, "main.cf", "/etc/estafeta", "mx.example.com");
  EXPECT_TRUE(loaded.config.has_value()) << main_cf;
  if (!loaded.config) return make_error("main.cf does not load");
  return make_restriction_settings(*loaded.config, std::move(mynetworks));
}

/// The settings for `main_cf`; an error fails the test and gives default settings.
inline RestrictionSettings settings_from(const std::string& main_cf,
                                         NetworkSet mynetworks = test_mynetworks()) {
  auto s = try_settings_from(main_cf, std::move(mynetworks));
  EXPECT_TRUE(s.ok()) << main_cf << ": " << (s.ok() ? "" : s.error().message);
  return s.ok() ? std::move(*s) : RestrictionSettings{};
}

/// A client outside mynetworks with a forward-confirmed name (client.example.net at
/// 192.0.2.10), greeting with EHLO client.example.net, mail from alice@example.net to
/// bob@example.com, a local and authorized destination.
inline PolicyFacts outside_client() {
  PolicyFacts f;
  f.client_address = "192.0.2.10";
  f.client_name = "client.example.net";
  f.client_name_status = NameStatus::Ok;
  f.reverse_client_name = "client.example.net";
  f.reverse_client_name_status = NameStatus::Ok;
  f.helo = "client.example.net";
  f.ehlo = true;
  f.protocol = "ESMTP";
  f.sender = "alice@example.net";
  f.recipient = "bob@example.com";
  f.recipient_facts.authorized = Match::Yes;
  f.recipient_facts.final_destination = true;
  return f;
}

}  // namespace estafeta::policy::test_support
