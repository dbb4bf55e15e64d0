// SMTP command-line parser (see command.h). Tolerates what Postfix tolerates by default
// (space after "FROM:", a path without angle brackets, extra spaces between parameters);
// refuses everything else with the reply Postfix gives.
#include "smtp/command.h"

#include <array>
#include <utility>

#include "base/ascii.h"

namespace estafeta::smtp {
namespace {

struct VerbName {
  std::string_view name;
  Verb verb;
};

constexpr std::array<VerbName, 18> kVerbs = {{
    {"HELO", Verb::Helo},     {"EHLO", Verb::Ehlo},       {"STARTTLS", Verb::StartTls},
    {"AUTH", Verb::Auth},     {"MAIL", Verb::Mail},       {"RCPT", Verb::Rcpt},
    {"DATA", Verb::Data},     {"BDAT", Verb::Bdat},       {"RSET", Verb::Rset},
    {"NOOP", Verb::Noop},     {"VRFY", Verb::Vrfy},       {"EXPN", Verb::Expn},
    {"ETRN", Verb::Etrn},     {"HELP", Verb::Help},       {"QUIT", Verb::Quit},
    {"GET", Verb::NonSmtp},   {"POST", Verb::NonSmtp},    {"CONNECT", Verb::NonSmtp},
}};

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

Error syntax(std::string_view usage) { return make_error("501 5.5.4 Syntax: " + std::string(usage)); }

// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
bool valid_keyword(std::string_view k) {
  if (k.empty() || !(ascii::is_alpha(k[0]) || ascii::is_digit(k[0]))) return false;
  for (char c : k) {
    if (!(ascii::is_alpha(c) || ascii::is_digit(c) || c == '-')) return false;
  }
  return true;
}

// esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 octets (RFC 6531 §3.3).
bool valid_value(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u < 33 || u == '=' || u == 127) return false;
  }
  return true;
}

// "FROM:<path> params" / "TO:<path> params".
Result<Command> parse_mail_rcpt(Command cmd, std::string_view prefix, std::string_view usage) {
  std::string_view arg = cmd.argument;
  if (!ascii::istarts_with(arg, prefix)) return syntax(usage);
  arg.remove_prefix(prefix.size());
  arg = trim_wsp(arg);
  if (arg.empty()) return syntax(usage);
  std::string_view rest;
  if (arg.front() == '<') {
    // Find the closing '>' outside a quoted string.
    bool quoted = false;
    size_t i = 1;
    for (; i < arg.size(); ++i) {
      char c = arg[i];
      if (quoted) {
        if (c == '\\') {
          ++i;
        } else if (c == '"') {
          quoted = false;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == '>') {
        break;
      }
    }
    if (i >= arg.size()) return syntax(usage);
    cmd.path = std::string(arg.substr(0, i + 1));
    rest = arg.substr(i + 1);
    if (!rest.empty() && !is_wsp(rest.front())) return syntax(usage);
  } else {
    size_t end = 0;
    while (end < arg.size() && !is_wsp(arg[end])) ++end;
    // Appended piecewise: `"<" + std::string(...)` trips GCC 12's -Wrestrict at -O3 (PR 105329).
    cmd.path.reserve(end + 2);
    cmd.path.append(1, '<').append(arg.substr(0, end)).append(1, '>');
    rest = arg.substr(end);
  }
  rest = trim_wsp(rest);
  while (!rest.empty()) {
    size_t end = 0;
    while (end < rest.size() && !is_wsp(rest[end])) ++end;
    std::string_view word = rest.substr(0, end);
    rest = trim_wsp(rest.substr(end));
    EsmtpParam p;
    size_t eq = word.find('=');
    std::string_view keyword = word.substr(0, eq);
    if (!valid_keyword(keyword)) return syntax(usage);
    p.keyword = ascii::upper(keyword);
    if (eq != std::string_view::npos) {
      std::string_view value = word.substr(eq + 1);
      if (!valid_value(value)) {
        return make_error("501 5.5.4 Bad " + p.keyword + " parameter syntax");
      }
      p.value = std::string(value);
      p.has_value = true;
    }
    cmd.params.push_back(std::move(p));
  }
  return cmd;
}

Result<Command> parse_bdat(Command cmd) {
  std::string_view arg = cmd.argument;
  size_t digits = 0;
  uint64_t n = 0;
  while (digits < arg.size() && ascii::is_digit(arg[digits])) {
    if (n > (UINT64_MAX - 9) / 10) return syntax("BDAT count [LAST]");
    n = n * 10 + uint64_t(arg[digits] - '0');
    ++digits;
  }
  if (digits == 0) return syntax("BDAT count [LAST]");
  std::string_view rest = trim_wsp(arg.substr(digits));
  if (digits < arg.size() && !is_wsp(arg[digits])) return syntax("BDAT count [LAST]");
  if (!rest.empty()) {
    if (!ascii::iequals(rest, "LAST")) return syntax("BDAT count [LAST]");
    cmd.last = true;
  }
  cmd.chunk_size = n;
  return cmd;
}

Verb lookup(std::string_view upper_name) {
  for (const VerbName& v : kVerbs) {
    if (v.name == upper_name) return v.verb;
  }
  return Verb::Unknown;
}

}  // namespace

Verb classify_verb(std::string_view line) {
  std::string_view trimmed = trim_wsp(line);
  size_t end = 0;
  while (end < trimmed.size() && end < 16 && !is_wsp(trimmed[end])) ++end;
  return lookup(ascii::upper(trimmed.substr(0, end)));
}

Result<Command> parse_command(std::string_view line) {
  std::string_view trimmed = trim_wsp(line);
  if (trimmed.empty()) return make_error("500 5.5.2 Error: bad syntax");
  size_t end = 0;
  while (end < trimmed.size() && !is_wsp(trimmed[end])) ++end;
  Command cmd;
  cmd.name = ascii::upper(trimmed.substr(0, end));
  cmd.argument = std::string(trim_wsp(trimmed.substr(end)));
  cmd.verb = lookup(cmd.name);
  const bool has_arg = !cmd.argument.empty();
  switch (cmd.verb) {
    case Verb::Helo:
      if (!has_arg) return syntax("HELO hostname");
      return cmd;
    case Verb::Ehlo:
      if (!has_arg) return syntax("EHLO hostname");
      return cmd;
    case Verb::Mail:
      return parse_mail_rcpt(std::move(cmd), "FROM:", "MAIL FROM:<address>");
    case Verb::Rcpt:
      return parse_mail_rcpt(std::move(cmd), "TO:", "RCPT TO:<address>");
    case Verb::Bdat:
      return parse_bdat(std::move(cmd));
    case Verb::Data:
      if (has_arg) return syntax("DATA");
      return cmd;
    case Verb::Rset:
      if (has_arg) return syntax("RSET");
      return cmd;
    case Verb::Quit:
      if (has_arg) return syntax("QUIT");
      return cmd;
    case Verb::StartTls:
      if (has_arg) return syntax("STARTTLS");
      return cmd;
    case Verb::Vrfy:
      if (!has_arg) return syntax("VRFY address");
      return cmd;
    default:
      return cmd;
  }
}

std::string_view stats_name(Verb verb) {
  switch (verb) {
    case Verb::Helo: return "helo";
    case Verb::Ehlo: return "ehlo";
    case Verb::StartTls: return "starttls";
    case Verb::Auth: return "auth";
    case Verb::Mail: return "mail";
    case Verb::Rcpt: return "rcpt";
    case Verb::Data: return "data";
    case Verb::Bdat: return "bdat";
    case Verb::Rset: return "rset";
    case Verb::Noop: return "noop";
    case Verb::Vrfy: return "vrfy";
    case Verb::Expn: return "expn";
    case Verb::Etrn: return "etrn";
    case Verb::Help: return "help";
    case Verb::Quit: return "quit";
    case Verb::NonSmtp: return "unknown";
    case Verb::Unknown: return "unknown";
  }
  return "unknown";
}

}  // namespace estafeta::smtp
