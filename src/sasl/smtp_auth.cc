// SMTP AUTH exchange helpers (see smtp_auth.h). Reply texts are Postfix smtpd's
// (smtpd_sasl_glue.c's, for the Dovecot back end).
#include "sasl/smtp_auth.h"

#include <fmt/format.h>

#include "base/ascii.h"
#include "sasl/base64.h"

namespace estafeta::sasl {
namespace {

std::vector<std::string_view> split_words(std::string_view text, std::string_view separators) {
  std::vector<std::string_view> words;
  size_t start = 0;
  while (start < text.size()) {
    start = text.find_first_not_of(separators, start);
    if (start == std::string_view::npos) break;
    size_t end = text.find_first_of(separators, start);
    if (end == std::string_view::npos) end = text.size();
    words.push_back(text.substr(start, end - start));
    start = end;
  }
  return words;
}

// Control bytes out of text that goes into a reply or a log line.
std::string clean(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 32 || u == 127) ? '?' : c;
  }
  return out;
}

}  // namespace

Result<AuthCommand> parse_auth_command(std::string_view argument,
                                       const std::vector<std::string>& offered) {
  const std::vector<std::string_view> words = split_words(argument, " \t");
  if (words.empty() || words.size() > 2) return make_error("501 5.5.4 Syntax: AUTH mechanism");
  AuthCommand command;
  for (const std::string& name : offered) {
    if (ascii::iequals(name, words[0])) command.mechanism = name;
  }
  if (command.mechanism.empty()) {
    return make_error("504 5.5.4 Unsupported authentication mechanism");
  }
  if (words.size() == 2) {
    // RFC 4954 §4: "=" is an initial response of zero length.
    if (words[1] == "=") {
      command.initial_response = "";
    } else if (is_base64(words[1])) {
      command.initial_response = std::string(words[1]);
    } else {
      return make_error("501 5.5.2 Cannot decode response");
    }
  }
  return command;
}

ClientResponse parse_client_response(std::string_view line) {
  if (line == "*") return {ClientResponse::Kind::Cancel, ""};
  if (!is_base64(line)) return {ClientResponse::Kind::Malformed, ""};
  return {ClientResponse::Kind::Data, std::string(line)};
}

std::string challenge_reply(std::string_view challenge) {
  return fmt::format("334 {}", clean(challenge));
}

std::string final_reply(const Answer& answer) {
  switch (answer.kind) {
    case Answer::Kind::Success:
      return "235 2.7.0 Authentication successful";
    case Answer::Kind::TemporaryFailure:
      if (answer.reason.empty()) return "454 4.7.0 Temporary authentication failure";
      return fmt::format("454 4.7.0 Temporary authentication failure: {}", clean(answer.reason));
    case Answer::Kind::Continue:
    case Answer::Kind::Failure:
      break;
  }
  return fmt::format("535 5.7.8 Error: authentication failed: {}",
                     answer.reason.empty() ? "authentication failure" : clean(answer.reason));
}

std::string failure_log(std::string_view client, std::string_view mechanism,
                        const Answer& answer) {
  std::string line = fmt::format(
      "{}: SASL {} authentication failed: {}", client, clean(mechanism),
      answer.reason.empty() ? "authentication failure" : clean(answer.reason));
  if (!answer.user.empty()) line += fmt::format(", sasl_username={}", clean(answer.user));
  return line;
}

Result<SecurityOptions> parse_security_options(std::string_view words) {
  SecurityOptions options;
  for (std::string_view word : split_words(words, " \t,")) {
    const std::string w = ascii::lower(word);
    if (w == "noanonymous") options.noanonymous = true;
    else if (w == "noplaintext") options.noplaintext = true;
    else if (w == "nodictionary") options.nodictionary = true;
    else if (w == "noactive") options.noactive = true;
    else if (w == "mutual_auth") options.mutual_auth = true;
    else if (w == "forward_secrecy") options.forward_secrecy = true;
    else return make_error(fmt::format("unknown SASL security option: {}", word));
  }
  return options;
}

std::vector<std::string> offered_mechanisms(const std::vector<Mechanism>& mechanisms,
                                            const SecurityOptions& o) {
  std::vector<std::string> names;
  for (const Mechanism& m : mechanisms) {
    if (m.is_private) continue;
    if ((o.noanonymous && m.anonymous) || (o.noplaintext && m.plaintext) ||
        (o.nodictionary && m.dictionary) || (o.noactive && m.active) ||
        (o.mutual_auth && !m.mutual_auth) || (o.forward_secrecy && !m.forward_secrecy)) {
      continue;
    }
    // A name that could break the EHLO line or the AUTH request is never offered.
    bool printable = !m.name.empty();
    for (char c : m.name) {
      printable = printable && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                               (c >= '0' && c <= '9') || c == '-' || c == '_');
    }
    if (printable) names.push_back(m.name);
  }
  return names;
}

}  // namespace estafeta::sasl
