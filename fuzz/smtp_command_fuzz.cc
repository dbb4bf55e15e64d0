// libFuzzer target: one SMTP command line into parse_command() and, for MAIL/RCPT, the
// parameter and path parsers. Invariants: errors are complete 5xx reply lines; a parsed
// MAIL/RCPT path is always bracketed; the verb agrees with classify_verb().
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "address/mailbox.h"
#include "smtp/command.h"
#include "smtp/esmtp_params.h"

using namespace estafeta;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  Result<smtp::Command> r = smtp::parse_command(line);
  smtp::Verb verb = smtp::classify_verb(line);
  if (!r.ok()) {
    const std::string& m = r.error().message;
    if (m.size() < 10 || m[0] != '5' || m[3] != ' ') std::abort();
    return 0;
  }
  if (r->verb != verb && r->name.size() <= 16) std::abort();
  if (r->verb == smtp::Verb::Mail || r->verb == smtp::Verb::Rcpt) {
    if (r->path.size() < 2 || r->path.front() != '<' || r->path.back() != '>') std::abort();
    (void)smtp::parse_mail_params(r->params, true);
    (void)smtp::parse_rcpt_params(r->params);
    address::ParseOptions options;
    options.smtputf8 = true;
    options.allow_null = r->verb == smtp::Verb::Mail;
    (void)address::parse_path(r->path, options);
  }
  return 0;
}
