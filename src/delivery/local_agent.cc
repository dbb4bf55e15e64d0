// The local delivery agent: requests in, planned deliveries run as the recipient, replies
// out. See local_agent.h; the crash-safety argument is in docs/queue-format.md ("Delivering").
#include "delivery/local_agent.h"

#include <fmt/format.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "base/clock.h"
#include "delivery/agent_common.h"
#include "delivery/fd_passing.h"
#include "delivery/agent_server.h"
#include "delivery/maildir.h"
#include "delivery/mbox_format.h"
#include "log/delivery_line.h"
#include "message/write_failure.h"
#include "submit/drop_file.h"
#include "submit/maildrop.h"

namespace estafeta::delivery {
namespace {

UserLookup from_passwd(int rc, const passwd* found, std::string_view what) {
  UserLookup out;
  if (rc != 0) {
    out.status = maps::LookupStatus::TempFail;
    out.user.name = fmt::format("{}: {}", what, std::strerror(rc));
    return out;
  }
  if (found == nullptr) return out;
  out.status = maps::LookupStatus::Found;
  out.user.name = found->pw_name;
  out.user.uid = found->pw_uid;
  out.user.gid = found->pw_gid;
  out.user.home = found->pw_dir != nullptr ? found->pw_dir : "";
  out.user.shell = found->pw_shell != nullptr ? found->pw_shell : "";
  return out;
}

// The user's supplementary groups (getgrouplist); just the primary group when it fails;
// the first kMaxTaskGroups of them (with a warning) when there are more.
std::vector<gid_t> groups_of(const PlanUser& user, const log::Logger& log) {
  std::vector<gid_t> groups(64);
  for (int attempt = 0; attempt < 4; ++attempt) {
    int n = static_cast<int>(groups.size());
    if (::getgrouplist(user.name.c_str(), user.gid, groups.data(), &n) >= 0) {
      groups.resize(size_t(n));
      groups.erase(std::remove(groups.begin(), groups.end(), gid_t(0)), groups.end());
      if (groups.size() > kMaxTaskGroups) {
        log.warning("user {} is in {} groups: delivering with the first {}", user.name,
                    groups.size(), kMaxTaskGroups);
        groups.resize(kMaxTaskGroups);
      }
      return groups;
    }
    groups.resize(size_t(n) > groups.size() ? size_t(n) : groups.size() * 2);
  }
  return {user.gid};
}

Credentials credentials_of(const PlanUser& user, const log::Logger& log) {
  Credentials c;
  c.uid = user.uid;
  c.gid = user.gid;
  c.groups = groups_of(user, log);
  c.user = user.name;
  c.home = user.home;
  return c;
}

// The address for Delivered-To: fully qualified (a bare name gets @`domain`), as Postfix.
std::string qualified(const std::string& address, const std::string& domain) {
  if (address.find('@') != std::string::npos || domain.empty()) return address;
  return address + "@" + domain;
}

// A short stable hash of an expansion's target, for its Maildir file name (FNV-1a).
std::string target_hash(const std::string& key) {
  uint32_t h = 2166136261u;
  for (unsigned char c : key) {
    h ^= c;
    h *= 16777619u;
  }
  return fmt::format("{:08x}", h);
}

// A delivered recipient's Action in a NOTIFY=SUCCESS report (RFC 3464 2.3.3): "expanded"
// when an alias or .forward gave it several targets, "relayed" when its one target was a
// forward (the copy goes on without DSN), else "" (delivered).
std::string success_action(const std::vector<LocalAction>& actions) {
  const auto targets = std::count_if(actions.begin(), actions.end(), [](const LocalAction& a) {
    return a.kind != ActionKind::Bounce && a.kind != ActionKind::Defer;
  });
  if (targets > 1) return "expanded";
  if (targets == 1 && actions.size() == 1 && actions[0].kind == ActionKind::Forward) {
    return "relayed";
  }
  return "";
}

// The name under which a final delivery made is recorded while its recipient stays
// deferred (qmgr/protocol.h done_actions): 64-bit FNV-1a of the action's key.
std::string done_key(const LocalAction& a) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : a.key()) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

}  // namespace

UserLookup system_user_by_name(const std::string& name) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  const int rc = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
  return from_passwd(rc == ENOENT || rc == ESRCH ? 0 : rc, found, "getpwnam");
}

UserLookup system_user_by_uid(uid_t uid) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  const int rc = ::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found);
  return from_passwd(rc == ENOENT || rc == ESRCH ? 0 : rc, found, "getpwuid");
}

LocalAgent::LocalAgent(LocalAgentOptions options, LocalAgentTables tables,
                       PrivilegedDelivery& spawner, log::Logger log)
    : options_(std::move(options)),
      log_(std::move(log)),
      tables_(std::move(tables)),
      spawner_(spawner) {
  if (options_.threads < 1) options_.threads = 1;
  store_ = open_queue_for_agent(options_.queue_directory, log_);
}

LocalAgent::~LocalAgent() = default;

qmgr::AgentReply LocalAgent::deliver(const qmgr::AgentRequest& request) {
  const int64_t start_us = system_now_us();
  RequestMessage read = read_request_message(store_.get(), request, "local", log_);
  if (read.deferred) return *read.deferred;
  qmgr::AgentReply reply;
  reply.id = request.id;
  const message::Envelope& env = read.read.value->file.envelope;
  const std::string& content = read.read.value->file.content;
  const std::vector<std::string> delivered_to = delivered_to_headers(content);

  auto log_line = [&](const std::string& to, const std::string& orig, int64_t began_us,
                      qmgr::RecipientOutcome outcome, const std::string& dsn,
                      const std::string& text) {
    const int64_t end_us = system_now_us();
    log::DeliveryLine line;
    line.queue_id = request.queue_id;
    line.to = to;
    line.orig_to = orig;
    line.relay = "local";
    line.delay = static_cast<double>(std::max<int64_t>(0, end_us - env.arrival_us)) / 1e6;
    line.a = static_cast<double>(std::max<int64_t>(0, start_us - env.arrival_us)) / 1e6;
    line.d = static_cast<double>(end_us - began_us) / 1e6;
    line.dsn = dsn;
    line.status = std::string(status_word(outcome));
    line.reason = text;
    log_.info(log::delivery_line(line));
  };

  for (const qmgr::AgentRecipient& r : request.recipients) {
    const int64_t began_us = system_now_us();
    if (r.index >= env.recipients.size() || env.recipients[r.index].address != r.address) {
      reply.recipients.push_back(recipient_reply(r, qmgr::RecipientOutcome::kDeferred, "4.3.0",
                                                 "recipient not in the queue file", "local"));
      log_line(r.address, "", began_us, qmgr::RecipientOutcome::kDeferred, "4.3.0",
               "recipient not in the queue file");
      continue;
    }
    reply.recipients.push_back(
        deliver_recipient(request, r, env, content, delivered_to, began_us, log_line));
  }
  return reply;
}

qmgr::RecipientReply LocalAgent::deliver_recipient(const qmgr::AgentRequest& request,
                                                   const qmgr::AgentRecipient& r,
                                                   const message::Envelope& env,
                                                   const std::string& content,
                                                   const std::vector<std::string>& delivered_to,
                                                   int64_t began_us, const LogLine& log_line) {
  LocalPlanLookups lookups;
  lookups.alias = tables_.alias;
  lookups.user_by_name = tables_.user_by_name;
  lookups.user_by_uid = tables_.user_by_uid;
  lookups.is_local_domain = tables_.is_local_domain;
  lookups.read_file = [this](const PlanUser& as, const std::string& path) {
    return read_file_as(as, path);
  };
  const std::vector<LocalAction> actions =
      plan_local_delivery(r.address, delivered_to, options_.plan, lookups);

  // The copy every task of this recipient reads, in a sealed memfd made on first use; a
  // command's copy also starts with the "From sender date" line, as local(8) gives it.
  const std::string copy =
      maildir_message(env.sender, qualified(r.address, options_.plan.myorigin), content, r.orcpt);
  struct Copy {
    int fd = -1;
    std::string error;
  };
  Copy plain, with_from;
  auto message_fd = [&](bool from_line) -> int {
    Copy& c = from_line ? with_from : plain;
    if (c.fd < 0 && c.error.empty()) {
      std::string bytes;
      if (from_line) {
        const std::time_t when = static_cast<std::time_t>(env.arrival_us / 1000000);
        std::tm tm{};
        ::localtime_r(&when, &tm);
        bytes = mbox_from_line(env.sender, tm) + copy;
      }
      auto made = sealed_message_fd(from_line ? bytes : copy);
      if (made) {
        c.fd = *made;
      } else {
        c.error = made.error().message;
      }
    }
    return c.fd;
  };

  // The worst outcome decides: deferred, then bounced, then delivered.
  qmgr::RecipientOutcome worst = qmgr::RecipientOutcome::kDelivered;
  std::string worst_dsn = "2.0.0";
  std::string worst_text;
  auto note = [&](qmgr::RecipientOutcome o, const std::string& dsn, const std::string& text) {
    auto rank = [](qmgr::RecipientOutcome x) {
      return x == qmgr::RecipientOutcome::kDeferred  ? 2
             : x == qmgr::RecipientOutcome::kBounced ? 1
                                                     : 0;
    };
    if (worst_text.empty() || rank(o) > rank(worst)) {
      worst = o;
      worst_dsn = dsn;
      worst_text = text;
    }
  };
  std::vector<std::string> done_now;  // final deliveries made in this attempt
  for (const LocalAction& a : actions) {
    const bool side_effect = a.kind != ActionKind::Bounce && a.kind != ActionKind::Defer;
    const std::string key = side_effect ? done_key(a) : std::string();
    if (side_effect &&
        std::find(r.done_actions.begin(), r.done_actions.end(), key) != r.done_actions.end()) {
      // Made in an earlier attempt that was deferred for another target: not again.
      note(qmgr::RecipientOutcome::kDelivered, "2.0.0", "delivered to " + a.what);
      continue;
    }
    const int64_t action_began = system_now_us();
    qmgr::RecipientOutcome outcome = qmgr::RecipientOutcome::kDeferred;
    std::string dsn;
    std::string text;
    switch (a.kind) {
      case ActionKind::Bounce:
        outcome = qmgr::RecipientOutcome::kBounced;
        dsn = a.dsn;
        text = a.text;
        break;
      case ActionKind::Defer:
        dsn = a.dsn;
        text = a.text;
        break;
      case ActionKind::Forward: {
        auto forwarded = forward(a, env, r.address, content);
        if (forwarded.ok()) {
          outcome = qmgr::RecipientOutcome::kDelivered;
          dsn = "2.0.0";
          text = "forwarded as maildrop/" + *forwarded;
        } else {
          dsn = "4.3.0";
          text = "cannot forward: " + forwarded.error().message;
        }
        break;
      }
      case ActionKind::Maildir:
      case ActionKind::Mbox:
      case ActionKind::Command: {
        const bool command = a.kind == ActionKind::Command;
        const int fd = message_fd(command);
        if (fd < 0) {
          dsn = "4.3.0";
          text = (command ? with_from : plain).error;
          break;
        }
        TaskResult result = spawner_.run(task_for(a, request, r, env), fd);
        outcome = outcome_of(result.status);
        dsn = result.dsn;
        text = result.text;
        if (result.status == TaskStatus::Delivered ||
            result.status == TaskStatus::AlreadyDelivered) {
          text = "delivered to " + a.what;
        }
        break;
      }
    }
    log_line(a.to, r.address, action_began, outcome, dsn, text);
    note(outcome, dsn, text);
    if (side_effect && outcome == qmgr::RecipientOutcome::kDelivered) done_now.push_back(key);
  }
  for (const Copy* c : {&plain, &with_from}) {
    if (c->fd >= 0) ::close(c->fd);
  }
  if (actions.empty()) {
    worst = qmgr::RecipientOutcome::kDeferred;
    worst_dsn = "4.3.0";
    worst_text = "nothing to deliver to";
    log_line(r.address, "", began_us, worst, worst_dsn, worst_text);
  }
  qmgr::RecipientReply reply = recipient_reply(r, worst, worst_dsn, worst_text, "local");
  if (worst == qmgr::RecipientOutcome::kDeferred) reply.done_actions = std::move(done_now);
  if (worst == qmgr::RecipientOutcome::kDelivered) reply.action = success_action(actions);
  return reply;
}

DeliveryTask LocalAgent::task_for(const LocalAction& a, const qmgr::AgentRequest& request,
                                  const qmgr::AgentRecipient& r,
                                  const message::Envelope& env) const {
  DeliveryTask t;
  t.as = credentials_of(a.as, log_);
  t.file_size_limit = options_.mailbox_size_limit;
  switch (a.kind) {
    case ActionKind::Maildir: {
      t.kind = TaskKind::Maildir;
      t.path = a.path;
      const std::string qid =
          a.expanded ? request.queue_id + "H" + target_hash(a.key()) : request.queue_id;
      t.maildir_name =
          maildir_file_name(env.arrival_us / 1000000, qid, r.index, options_.myhostname);
      break;
    }
    case ActionKind::Mbox:
      t.kind = TaskKind::Mbox;
      t.path = a.path;
      t.sender = env.sender.empty() ? "MAILER-DAEMON" : env.sender;
      t.arrival_sec = env.arrival_us / 1000000;
      t.mbox_locks = options_.mbox_locks;
      t.create_with_spool_privileges = a.spool;
      t.check_already_delivered = request.after_restart;
      t.lock_attempts = options_.lock_attempts;
      t.lock_delay_seconds = options_.lock_delay_seconds;
      t.stale_lock_seconds = options_.stale_lock_seconds;
      break;
    case ActionKind::Command:
      t.kind = TaskKind::Command;
      t.command = a.command;
      // The home when it is a directory (default_privs' often is not), else "/".
      t.working_directory = "/";
      if (struct stat st{}; !a.as.home.empty() && a.as.home.front() == '/' &&
                            ::stat(a.as.home.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        t.working_directory = a.as.home;
      }
      t.time_limit_seconds = options_.command_time_limit;
      t.environment = {
          "HOME=" + a.as.home,
          "USER=" + a.as.name,
          "LOGNAME=" + a.as.name,
          "SHELL=" + (a.as.shell.empty() ? std::string("/bin/sh") : a.as.shell),
          "PATH=/usr/local/bin:/usr/bin:/bin",
          "SENDER=" + env.sender,
          "RECIPIENT=" + a.to,
          "EXTENSION=" + a.extension,
          "DOMAIN=" + a.domain,
          "LOCAL=" + a.local,
          "ORIGINAL_RECIPIENT=" + r.address,
      };
      break;
    default:
      break;
  }
  return t;
}

FileLookup LocalAgent::read_file_as(const PlanUser& as, const std::string& path) {
  // The owner and mode come from the descriptor the child read, never from a separate
  // stat of the path (which a user could swap between the two).
  FileLookup out;
  DeliveryTask t;
  t.kind = TaskKind::ReadFile;
  t.as = credentials_of(as, log_);
  t.path = path;
  TaskResult result = spawner_.run(t, -1);
  switch (result.status) {
    case TaskStatus::Delivered:
    case TaskStatus::AlreadyDelivered:
      out.status = maps::LookupStatus::Found;
      out.content = std::move(result.content);
      out.owner = result.file_owner;
      out.mode = result.file_mode;
      return out;
    case TaskStatus::Bounced:
      out.status = maps::LookupStatus::NotFound;
      return out;
    case TaskStatus::Deferred:
      break;
  }
  out.status = maps::LookupStatus::TempFail;
  out.content = result.text;
  out.error_code = result.error_code;
  return out;
}

Result<std::string> LocalAgent::forward(const LocalAction& a, const message::Envelope& env,
                                        const std::string& recipient,
                                        const std::string& content) const {
  submit::DropRequest drop;
  drop.sender = a.sender.empty() ? (env.sender.empty() ? "<>" : env.sender) : a.sender;
  drop.recipients = {a.address};
  drop.content = "Delivered-To: " + qualified(recipient, options_.plan.myorigin) + "\r\n" + content;
  return submit::write_drop_file(options_.queue_directory, submit::encode_drop_file(drop));
}

int LocalAgent::serve(int listen_fd) {
  if (!store_) return 1;  // the constructor logged why
  return serve_agent_requests(
      listen_fd, options_.threads, [this](const qmgr::AgentRequest& r) { return deliver(r); }, log_,
      spawner_.exit_fd());
}

}  // namespace estafeta::delivery
