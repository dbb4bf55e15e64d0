// Sendmail command line (see sendmail_command.h).
#include "cli/sendmail_command.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "cli/alias_command.h"
#include "cli/queue_command.h"
#include "cli/sendmail_options.h"
#include "config/config.h"
#include "daemon/control.h"
#include "daemon/inetd.h"
#include "daemon/runtime.h"
#include "submit/drop_file.h"
#include "submit/local_message.h"
#include "submit/maildrop.h"
#include "submit/policy_tables.h"

namespace estafeta::cli {
namespace {

// sysexits.h
constexpr int kUsage = 64;
constexpr int kDataError = 65;
constexpr int kUnavailable = 69;
constexpr int kTempFail = 75;
constexpr int kNoPermission = 77;

int complain(int code, const std::string& text) {
  std::fprintf(stderr, "sendmail: %s\n", text.c_str());
  return code;
}

// Standard input up to its end, or up to a line "." alone when `dot_ends`; false when it
// grows beyond `limit` bytes (0: no limit).
bool read_message(bool dot_ends, uint64_t limit, std::string& out) {
  char* line = nullptr;
  size_t capacity = 0;
  ssize_t n;
  bool fits = true;
  while ((n = ::getline(&line, &capacity, stdin)) > 0) {
    std::string_view text(line, size_t(n));
    if (dot_ends && (text == ".\n" || text == ".\r\n" || text == ".")) break;
    out.append(text);
    if (limit != 0 && out.size() > limit) {
      fits = false;
      break;
    }
  }
  std::free(line);
  return fits;
}

submit::Submitter current_user(const config::Config& config) {
  submit::Submitter who;
  who.uid = ::getuid();
  who.myorigin = config.get("myorigin");
  who.myhostname = config.get("myhostname");
  if (const passwd* pw = ::getpwuid(who.uid)) {
    who.login = pw->pw_name;
  } else {
    who.login = fmt::format("uid:{}", who.uid);
  }
  return who;
}

int submit_message(const std::string& config_dir, SendmailOptions options) {
  auto loaded = config::Config::load(config_dir);
  for (const auto& d : loaded.diagnostics) {
    if (d.is_error) std::fprintf(stderr, "%s\n", d.to_string().c_str());
  }
  if (!loaded.config) return complain(kTempFail, "fatal: " + config_dir + ": configuration error");
  const config::Config& config = *loaded.config;
  const auto limit = static_cast<uint64_t>(config.get_int("message_size_limit"));
  if (!read_message(options.dot_ends_input, limit, options.request.content)) {
    return complain(kDataError, fmt::format("fatal: message larger than message_size_limit ({} "
                                            "bytes); nothing was sent",
                                            limit));
  }
  // The same checks pickup makes, so that the user hears of a refusal now.
  const submit::Submitter who = current_user(config);
  std::string sender = submit::qualify(who.login, who.myorigin);
  auto policy = submit::open_submit_policy(config);
  if (policy.ok()) {
    if (policy.policy.may_submit(who.login) == policy::Match::No) {
      return complain(kNoPermission, fmt::format("fatal: User {}({}) is not allowed to submit "
                                                 "mail (authorized_submit_users)",
                                                 who.login, who.uid));
    }
  }
  if (options.request.sender) {
    sender = submit::qualify(*options.request.sender, who.myorigin);
    if (policy.ok() && policy.policy.may_use_sender(who.login, sender) == policy::Match::No) {
      return complain(kNoPermission,
                      fmt::format("fatal: User {}({}) is not allowed to use sender <{}> "
                                  "(local_login_sender_maps)",
                                  who.login, who.uid, sender));
    }
  }
  auto prepared = submit::prepare_local_message(options.request, sender, who);
  if (!prepared.ok()) return complain(kUsage, "fatal: " + prepared.error().message);
  const std::string queue_directory = daemon::absolute_path(config.get("queue_directory"));
  auto written =
      submit::write_drop_file(queue_directory, submit::encode_drop_file(options.request));
  if (!written.ok()) {
    return complain(kTempFail, fmt::format("fatal: {}; the message was not sent",
                                           written.error().message));
  }
  return 0;
}

// sendmail -q15m and -bd -q15m: queue runs every `seconds` (Sendmail's meaning: every queued
// message is tried at each run, so the backoff never exceeds the interval).
daemon::RunMode periodic_mode(const SendmailOptions& o, bool queue_only) {
  daemon::RunMode mode;
  mode.queue_only = queue_only;
  const std::string interval = std::to_string(o.queue_interval_seconds) + "s";
  mode.overrides = {{"queue_run_delay", interval},
                    {"minimal_backoff_time", interval},
                    {"maximal_backoff_time", interval}};
  return mode;
}

}  // namespace

int run_sendmail_command(const std::string& name, std::string config_dir,
                         const std::vector<std::string>& args) {
  if (name == "mailq") {
    // As in Postfix, mailq ignores Sendmail's other options; -C chooses the configuration and
    // -j (postqueue -j) passes through.
    std::vector<std::string> list{"list"};
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i] == "-C" && i + 1 < args.size()) {
        config_dir = args[++i];
      } else if (args[i].rfind("-C", 0) == 0 && args[i].size() > 2) {
        config_dir = args[i].substr(2);
      } else if (args[i] == "-j") {
        list.push_back(args[i]);
      }
    }
    return run_queue_command(config_dir, list);
  }
  auto parsed = parse_sendmail_options(args);
  if (!parsed.ok()) return complain(kUsage, "fatal: " + parsed.error().message);
  SendmailOptions& o = *parsed;
  if (!o.config_dir.empty()) config_dir = o.config_dir;
  using Mode = SendmailOptions::Mode;
  if (name == "newaliases" || o.mode == Mode::Aliases) return run_newaliases(name, config_dir);
  switch (o.mode) {
    case Mode::Submit: return submit_message(config_dir, std::move(o));
    case Mode::Smtp: return daemon::run_inetd_session(config_dir);
    case Mode::Print: return run_queue_command(config_dir, {"list"});
    case Mode::Daemon:
      return o.queue_interval.empty() ? daemon::command_start(config_dir)
                                      : daemon::command_start(config_dir, periodic_mode(o, false));
    case Mode::DaemonForeground:
      return o.queue_interval.empty()
                 ? daemon::command_start_foreground(config_dir)
                 : daemon::command_start_foreground(config_dir, periodic_mode(o, false));
    case Mode::QueueRun:
      if (!o.queue_interval.empty()) {
        return daemon::command_start(config_dir, periodic_mode(o, true));
      }
      if (!o.queue_site.empty()) return run_queue_command(config_dir, {"flush", "-s", o.queue_site});
      if (!o.queue_id.empty()) return run_queue_command(config_dir, {"flush", "-i", o.queue_id});
      return run_queue_command(config_dir, {"flush"});
    case Mode::Aliases: break;
  }
  return kUnavailable;
}

}  // namespace estafeta::cli
