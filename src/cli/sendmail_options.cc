// Sendmail command-line parsing (see sendmail_options.h).
#include "cli/sendmail_options.h"

#include <fmt/format.h>

namespace estafeta::cli {
namespace {

using Mode = SendmailOptions::Mode;

// "15m", "1h30m", "90" (seconds) -> seconds; 0 when malformed.
long long interval_seconds(std::string_view text) {
  long long total = 0;
  long long number = -1;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      number = (number < 0 ? 0 : number) * 10 + (c - '0');
      if (number > 100000000) return 0;
      continue;
    }
    long long unit = 0;
    switch (c) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 604800; break;
      default: return 0;
    }
    if (number < 0) return 0;
    total += number * unit;
    number = -1;
  }
  if (number >= 0) total += number;
  return total;
}

Result<Mode> daemon_mode(std::string_view flag) {
  if (flag == "-bm") return Mode::Submit;
  if (flag == "-bs") return Mode::Smtp;
  if (flag == "-bd") return Mode::Daemon;
  if (flag == "-bD") return Mode::DaemonForeground;
  if (flag == "-bp") return Mode::Print;
  if (flag == "-bi") return Mode::Aliases;
  return make_error(fmt::format("{}: mode not supported (Estafeta has -bm -bs -bd -bD -bp -bi)",
                                flag));
}

}  // namespace

Result<SendmailOptions> parse_sendmail_options(const std::vector<std::string>& args) {
  SendmailOptions o;
  bool queue_run = false;
  size_t i = 0;
  // The value of an option that takes one: attached ("-fuser") or the next argument.
  auto value = [&](const std::string& arg, size_t letters) -> Result<std::string> {
    if (arg.size() > letters) return arg.substr(letters);
    if (i + 1 >= args.size()) return make_error(fmt::format("{} needs a value", arg));
    return args[++i];
  };
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;  // the recipients start here
    const char letter = arg[1];
    if (letter == 'b') {
      auto mode = daemon_mode(arg);
      if (!mode.ok()) return mode.error();
      o.mode = *mode;
    } else if (letter == 'q') {
      queue_run = true;
      if (arg == "-q" || arg == "-qf") continue;
      if (arg.starts_with("-qR")) {
        auto site = value(arg, 3);
        if (!site.ok()) return site.error();
        o.queue_site = *site;
      } else if (arg.starts_with("-qI")) {
        auto id = value(arg, 3);
        if (!id.ok()) return id.error();
        o.queue_id = *id;
      } else {
        o.queue_interval = arg.substr(2);
        o.queue_interval_seconds = interval_seconds(o.queue_interval);
        if (o.queue_interval_seconds <= 0) {
          return make_error(fmt::format("{}: want -q, -qINTERVAL (-q15m), -qR SITE or -qI ID",
                                        arg));
        }
      }
    } else if (letter == 'C' || letter == 'f' || letter == 'r' || letter == 'F' ||
               letter == 'N' || letter == 'R' || letter == 'V' || letter == 'B' ||
               letter == 'O' || letter == 'L' || letter == 'h' || letter == 'p') {
      auto v = value(arg, 2);
      if (!v.ok()) return v.error();
      switch (letter) {
        case 'C': o.config_dir = *v; break;
        case 'f':
        case 'r': o.request.sender = *v; break;
        case 'F': o.request.full_name = *v; break;
        case 'N': o.request.notify = *v; break;
        case 'R': o.request.ret = *v; break;
        case 'V': o.request.envid = *v; break;
        case 'B': o.request.body_type = *v; break;
        default: break;  // -O -L -h -p: accepted, no effect (as in Postfix)
      }
    } else if (letter == 't') {
      o.request.extract_recipients = true;
    } else if (letter == 'I' && arg.size() == 2) {
      o.mode = Mode::Aliases;  // Sendmail's old spelling of -bi
    } else if (letter == 'i' && arg.size() == 2) {
      o.dot_ends_input = false;
    } else if (letter == 'o') {
      if (arg == "-oi") o.dot_ends_input = false;
      // -oem, -odb, -oQ...: Sendmail options that change nothing here.
    } else if ((letter == 'v' || letter == 'n' || letter == 'm' || letter == 'U' ||
                letter == 'G') && arg.size() == 2) {
    } else if (letter == 'A' && (arg == "-Am" || arg == "-Ac")) {
    } else {
      return make_error(fmt::format("illegal option {}", arg));
    }
  }
  for (; i < args.size(); ++i) o.request.recipients.push_back(args[i]);
  if (queue_run) {
    if (o.mode == Mode::Submit) {
      o.mode = Mode::QueueRun;
    } else if (o.mode != Mode::Daemon && o.mode != Mode::DaemonForeground) {
      return make_error("-q goes alone or with -bd / -bD");
    }
    if (o.mode != Mode::QueueRun && o.queue_interval.empty()) {
      return make_error("-bd -q needs an interval (-bd -q15m)");
    }
    if (!o.request.recipients.empty()) return make_error("-q takes no recipients");
  }
  return o;
}

}  // namespace estafeta::cli
