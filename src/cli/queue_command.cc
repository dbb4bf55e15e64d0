// `estafeta queue` (see queue_command.h and docs/queue-tools.md). Every state change goes
// through queue::QueueStore (move: rename without replacing, both directories synced; remove:
// the queue file, then its status log); this file decides only which files to act on.
//
// Races with the delivery agent are those of postsuper: a file may leave the queue it was
// found in between the look-up and the change (delivered, deferred). A move that finds no
// file (ENOENT) and a removal after which the id shows up in another queue are retried once,
// where the message went, as postsuper's "maybe lost a race" loop does.
#include "cli/queue_command.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cli/mailq_format.h"
#include "cli/showq_service.h"
#include "config/config.h"
#include "daemon/privileges.h"
#include "daemon/runtime.h"
#include "net/unix_socket.h"
#include "qmgr/flush_request.h"
#include "queue/queue_store.h"
#include "queue/spool.h"

namespace estafeta::cli {
namespace {

using queue::QueueName;
using queue::QueueStore;

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage =
    "usage: estafeta [-c config_dir] queue list [-j]\n"
    "       estafeta [-c config_dir] queue show [-h] [-b] queue_id...\n"
    "       estafeta [-c config_dir] queue hold|release|delete|requeue queue_id...|ALL|-\n"
    "       estafeta [-c config_dir] queue flush [-s site] [-i queue_id] [-r route]\n";

// The queues mailq lists, in showq's order (incoming/ is the Spool's and never listed;
// corrupt/ is not listed, as Postfix does not list it either).
constexpr QueueName kListed[] = {QueueName::kActive, QueueName::kDeferred, QueueName::kHold};
// Where a queue id is looked for.
constexpr QueueName kAllQueues[] = {QueueName::kActive, QueueName::kDeferred, QueueName::kHold,
                                    QueueName::kCorrupt};

void say(std::string_view program, std::string_view text) {
  std::fprintf(stderr, "%.*s: %.*s\n", static_cast<int>(program.size()), program.data(),
               static_cast<int>(text.size()), text.data());
}
void warn(std::string_view program, std::string_view text) {
  say(program, fmt::format("warning: {}", text));
}
int fatal(std::string_view program, std::string_view text) {
  say(program, fmt::format("fatal: {}", text));
  return kExitError;
}
void put(std::string_view text) { std::fwrite(text.data(), 1, text.size(), stdout); }

std::tm local_time(int64_t seconds) {
  std::tm out{};
  const std::time_t t = static_cast<std::time_t>(seconds);
  ::localtime_r(&t, &out);
  return out;
}

// ---- the configuration, access rules and the store ----

struct Settings {
  std::string queue_directory;  // absolute
  std::string mail_owner;
  std::vector<std::string> flush_routes;  // "name=nexthop"
};

std::optional<Settings> load_settings(std::string_view program, const std::string& config_dir) {
  config::LoadResult loaded = config::Config::load(config_dir);
  for (const config::Diagnostic& d : loaded.diagnostics) say(program, d.to_string());
  if (!loaded.config) {
    fatal(program, fmt::format("{}/main.cf: configuration error", config_dir));
    return std::nullopt;
  }
  return Settings{daemon::absolute_path(loaded.config->get("queue_directory")),
                  loaded.config->get("mail_owner"), loaded.config->get_list("flush_routes")};
}

// Root, the mail_owner user, or the owner of the queue directory (a daemon run by a plain
// user, whose queue is its own) may change the queue. The real uid decides, as postsuper's
// getuid() check does.
bool may_change_queue(const Settings& s) {
  const uid_t uid = ::getuid();
  if (uid == 0) return true;
  if (auto owner = daemon::lookup_user(s.mail_owner); owner.ok() && owner->uid == uid) {
    return true;
  }
  struct stat st {};
  return ::stat(s.queue_directory.c_str(), &st) == 0 && st.st_uid == uid;
}

// Run as root, become mail_owner before touching the queue (postsuper's set_ugid): a
// directory the store creates (hold/, status/) must belong to the daemon, not to root.
std::unique_ptr<QueueStore> open_store(std::string_view program, const Settings& s) {
  if (::geteuid() == 0) {
    if (Status dropped = daemon::drop_privileges(s.mail_owner); !dropped.ok()) {
      fatal(program, dropped.error().message);
      return nullptr;
    }
  }
  struct stat st {};
  if (::stat(s.queue_directory.c_str(), &st) != 0) {
    fatal(program, fmt::format("queue directory {}: {} (has the mail system been started?)",
                               s.queue_directory, std::strerror(errno)));
    return nullptr;
  }
  auto store = QueueStore::open({.queue_directory = s.queue_directory});
  if (!store.ok()) {
    std::string text = store.error().message;
    if (store.error().code == EACCES) {
      text += "; the queue is readable only by root and the mail_owner user (" + s.mail_owner + ")";
    }
    fatal(program, text);
    return nullptr;
  }
  return std::move(*store);
}

std::string queue_path(const Settings& s, QueueName queue, const std::string& id) {
  return fmt::format("{}/{}/{}", s.queue_directory, queue::queue_dir_name(queue), id);
}

// The queue that holds `id` now (active, deferred, hold, corrupt: the first that has it).
std::optional<QueueName> locate(const Settings& s, const std::string& id) {
  for (QueueName queue : kAllQueues) {
    struct stat st {};
    if (::lstat(queue_path(s, queue, id).c_str(), &st) == 0) return queue;
  }
  return std::nullopt;
}

// An empty datagram on public/qmgr: "rescan". Nobody listening is not an error (the queue
// manager scans at start-up anyway).
void wake_queue_manager(const Settings& s) {
  (void)net::DatagramSender(s.queue_directory + "/public/qmgr").send("");
}

// The queue ids of messages just moved into active/, one datagram each, as smtpd announces
// new mail: the queue manager takes them at once instead of listing active/ per batch. Stops
// at the first datagram that does not go (nobody listening, or its buffer full): the "rescan"
// that follows every change finds the rest.
void announce_new(const Settings& s, const std::vector<std::string>& ids) {
  const net::DatagramSender qmgr(s.queue_directory + "/public/qmgr");
  for (const std::string& id : ids) {
    if (!qmgr.send(id)) break;
  }
}

// ---- list ----

int command_list(const Settings& s, const std::vector<std::string>& args) {
  constexpr std::string_view kProgram = "postqueue";
  bool json = false;
  for (const std::string& a : args) {
    if (a == "-j") {
      json = true;
    } else {
      std::fputs(kUsage, stderr);
      return kExitUsage;
    }
  }
  // A user who cannot read the queue asks the showq service (as Postfix's mailq does).
  const std::string active = s.queue_directory + "/active";
  if (::geteuid() != 0 && ::access(active.c_str(), R_OK | X_OK) != 0 && errno == EACCES) {
    if (list_through_showq(s.queue_directory, json ? "list -j" : "list")) return kExitOk;
    return fatal(kProgram, fmt::format("the queue is readable only by root and the mail_owner "
                                       "user ({}), and the showq service does not answer on "
                                       "{}/{}: {} (is the mail system running?)",
                                       s.mail_owner, s.queue_directory, kShowqSocket,
                                       std::strerror(errno)));
  }
  auto store = open_store(kProgram, s);
  if (!store) return kExitError;
  int status = kExitOk;
  MailqListing listing;
  for (QueueName queue : kListed) {
    const std::string name(queue::queue_dir_name(queue));
    auto ids = store->list(queue);
    if (!ids.ok()) {
      warn(kProgram, fmt::format("{}: {}", name, ids.error().message));
      status = kExitError;
      continue;
    }
    for (const std::string& id : *ids) {
      auto read = store->read_envelope(queue, id);
      if (!read.ok()) {
        // Gone: delivered or moved since the listing; no message, as showq.
        if (read.failure != queue::ReadFailure::kGone) {
          warn(kProgram, fmt::format("{}/{}: {}; skipped", name, id, read.reason));
        }
        continue;
      }
      const queue::StoredEnvelope& stored = *read.value;
      ListedMessage m;
      m.queue_name = name;
      m.queue_id = id;
      m.arrival_time = stored.envelope.arrival_us / 1000000;
      m.arrival_local = local_time(m.arrival_time);
      m.size = stored.content_size;
      m.sender = stored.envelope.sender;
      m.recipients = listed_recipients(stored.envelope.recipients, stored.recipients);
      put(json ? mailq_json(m) : listing.add(m));
    }
  }
  if (!json) put(listing.finish());
  std::fflush(stdout);
  return status;
}

// ---- show ----

void show_envelope(const queue::StoredMessage& m, std::string_view queue, const std::string& id) {
  const message::Envelope& e = m.file.envelope;
  std::string out = fmt::format("*** ENVELOPE RECORDS {}/{} ***\n", queue, id);
  auto field = [&](std::string_view name, std::string_view value) {
    out += fmt::format("{}: {}\n", name, printable(value));
  };
  field("queue_name", queue);
  field("queue_id", e.queue_id);
  field("format_version", std::to_string(m.file.version));
  field("message_size", std::to_string(m.file.content.size()));
  field("message_arrival_time", asctime_text(local_time(e.arrival_us / 1000000)));
  field("sender", e.sender);
  if (!e.client_hostname.empty()) field("client_name", e.client_hostname);
  if (!e.client_address.empty()) field("client_address", e.client_address);
  if (!e.helo.empty()) field("helo_name", e.helo);
  if (!e.protocol.empty()) field("protocol_name", e.protocol);
  if (!e.body_type.empty()) field("body_type", e.body_type);
  if (e.smtputf8) field("smtputf8", "yes");
  if (!e.dsn_ret.empty()) field("dsn_ret", e.dsn_ret);
  if (!e.dsn_envid.empty()) field("dsn_envid", e.dsn_envid);
  for (size_t i = 0; i < e.recipients.size(); ++i) {
    const message::Recipient& r = e.recipients[i];
    if (!r.orcpt.empty()) field("dsn_orig_rcpt", r.orcpt);
    if (!r.notify.empty()) field("dsn_notify", r.notify);
    field("recipient", r.address);
    const queue::RecipientState state =
        i < m.recipients.size() ? m.recipients[i] : queue::RecipientState{};
    out += fmt::format("recipient_status: {}\n",
                       recipient_status_text(state, local_time(state.last.time_us / 1000000)));
  }
  put(out);
}

int command_show(const Settings& s, const std::vector<std::string>& args) {
  constexpr std::string_view kProgram = "postcat";
  bool headers = false;
  bool body = false;
  std::vector<std::string> ids;
  for (const std::string& a : args) {
    if (a == "-h") {
      headers = true;
    } else if (a == "-b") {
      body = true;
    } else if (a == "-hb" || a == "-bh") {
      headers = body = true;
    } else if (!a.empty() && a[0] != '-') {
      ids.push_back(a);
    } else {
      std::fputs(kUsage, stderr);
      return kExitUsage;
    }
  }
  if (ids.empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  const bool everything = !headers && !body;
  auto store = open_store(kProgram, s);
  if (!store) return kExitError;
  int status = kExitOk;
  for (const std::string& id : ids) {
    if (queue::Spool::queue_id_pid(id) < 0) {
      say(kProgram, fmt::format("{}: invalid queue id", id));
      status = kExitError;
      continue;
    }
    std::optional<queue::StoredMessage> found;
    QueueName where = QueueName::kActive;
    bool failed = false;
    for (int attempt = 0; attempt < 2 && !found && !failed; ++attempt) {
      for (QueueName queue : kAllQueues) {
        auto read = store->read_message(queue, id);
        if (read.ok()) {
          found = std::move(read.value);
          where = queue;
          break;
        }
        if (read.failure != queue::ReadFailure::kGone) {
          say(kProgram, fmt::format("{}/{}: {}", queue::queue_dir_name(queue), id, read.reason));
          failed = true;
          break;
        }
      }
    }
    if (failed) {
      status = kExitError;
      continue;
    }
    if (!found) {
      say(kProgram, fmt::format("{}: no such message", id));
      status = kExitError;
      continue;
    }
    const std::string_view queue = queue::queue_dir_name(where);
    const ContentParts parts = split_content(found->file.content);
    if (everything) {
      show_envelope(*found, queue, id);
      put(fmt::format("*** MESSAGE CONTENTS {}/{} ***\n", queue, id));
    }
    std::string text;
    if (everything || headers) text += crlf_to_lf(parts.header);
    if (everything || (headers && body)) text += "\n";
    if (everything || body) text += crlf_to_lf(parts.body);
    if (everything && !text.empty() && text.back() != '\n') text += '\n';
    put(text);
    if (everything) put(fmt::format("*** MESSAGE FILE END {}/{} ***\n", queue, id));
  }
  std::fflush(stdout);
  return status;
}

// ---- hold, release, delete, requeue ----

enum class Change { kHold, kRelease, kDelete, kRequeue };

struct ChangeSpec {
  Change change;
  const char* done;     // per message, Postfix's words: "ID: placed on hold"
  const char* summary;  // "Placed on hold: N messages"
};

constexpr ChangeSpec kChanges[] = {
    {Change::kHold, "placed on hold", "Placed on hold"},
    {Change::kRelease, "released from hold", "Released from hold"},
    {Change::kDelete, "removed", "Deleted"},
    {Change::kRequeue, "requeued", "Requeued"},
};

// The queues a change takes messages from (and that ALL means).
std::vector<QueueName> sources(Change change) {
  switch (change) {
    case Change::kHold:
      return {QueueName::kActive, QueueName::kDeferred};
    case Change::kRelease:
      return {QueueName::kHold};
    case Change::kDelete:
      return {QueueName::kActive, QueueName::kDeferred, QueueName::kHold};
    case Change::kRequeue:
      return {QueueName::kDeferred, QueueName::kHold};
  }
  return {};
}

enum class Outcome { kDone, kNoSuchMessage, kNotApplicable, kError };

class Changer {
 public:
  Changer(const Settings& s, QueueStore& store, const ChangeSpec& spec)
      : s_(s), store_(store), spec_(spec) {}

  void apply(const std::string& id) {
    static constexpr std::string_view kProgram = "postsuper";
    if (queue::Spool::queue_id_pid(id) < 0) {
      warn(kProgram, fmt::format("invalid mail queue id: {}", id));
      return;
    }
    std::optional<QueueName> where;
    std::string error;
    Outcome outcome = Outcome::kNoSuchMessage;
    for (int attempt = 0; attempt < 2; ++attempt) {  // a second look after a lost race
      where = locate(s_, id);
      if (!where) {
        outcome = Outcome::kNoSuchMessage;
        break;
      }
      outcome = change_one(id, *where, error);
      if (outcome != Outcome::kNoSuchMessage) break;
    }
    switch (outcome) {
      case Outcome::kDone:
        ++count_;
        say(kProgram, fmt::format("{}: {}", id, spec_.done));
        break;
      case Outcome::kNoSuchMessage:
        say(kProgram, fmt::format("{}: no such message", id));
        break;
      case Outcome::kNotApplicable:
        say(kProgram, fmt::format("{}: is in the {} queue: not {}", id,
                                  queue::queue_dir_name(*where), spec_.done));
        break;
      case Outcome::kError:
        warn(kProgram, fmt::format("{}: {}", id, error));
        failed_ = true;
        break;
    }
  }

  /// Makes removals durable (moves are when they return).
  void finish() {
    for (QueueName queue : removed_from_) {
      if (Status s = store_.sync(queue); !s.ok()) {
        warn("postsuper", s.error().message);
        failed_ = true;
      }
    }
  }

  int count() const { return count_; }
  bool failed() const { return failed_; }

 private:
  // kNoSuchMessage means "not where it was a moment ago": look again.
  Outcome change_one(const std::string& id, QueueName from, std::string& error) {
    const std::vector<QueueName> allowed = sources(spec_.change);
    const bool applicable = spec_.change == Change::kDelete ||
                            std::find(allowed.begin(), allowed.end(), from) != allowed.end();
    if (!applicable) return Outcome::kNotApplicable;
    if (spec_.change == Change::kDelete) {
      if (Status st = store_.remove(from, id); !st.ok()) {
        error = st.error().message;
        return Outcome::kError;
      }
      removed_from_.insert(from);
      // The unlink succeeds on a missing file too: if the message moved away just before it,
      // it is now elsewhere.
      return locate(s_, id) ? Outcome::kNoSuchMessage : Outcome::kDone;
    }
    QueueName to = QueueName::kHold;
    if (spec_.change == Change::kRelease) to = QueueName::kDeferred;
    if (spec_.change == Change::kRequeue) to = QueueName::kActive;
    if (Status st = store_.move(id, from, to); !st.ok()) {
      if (st.error().code == ENOENT) return Outcome::kNoSuchMessage;
      error = st.error().message;
      return Outcome::kError;
    }
    if (spec_.change == Change::kRelease) {
      // Due now: the deferred queue's next attempt is the file's modification time (as in
      // Postfix), and a released message should not wait out a backoff. A failure only
      // delays it, so it is not an error.
      const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
      (void)store_.set_next_attempt(to, id, now_us);
    }
    return Outcome::kDone;
  }

  const Settings& s_;
  QueueStore& store_;
  const ChangeSpec& spec_;
  std::set<QueueName> removed_from_;
  int count_ = 0;
  bool failed_ = false;
};

int command_change(const Settings& s, const ChangeSpec& spec,
                   const std::vector<std::string>& args) {
  constexpr std::string_view kProgram = "postsuper";
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  if (!may_change_queue(s)) {
    return fatal(kProgram,
                 fmt::format("only root, the mail_owner user ({}) and the owner of the queue "
                             "directory may change the queue",
                             s.mail_owner));
  }
  bool all = false;
  for (const std::string& a : args) all = all || a == "ALL";
  if (all && args.size() > 1) {
    warn(kProgram, "ALL ignores the other queue ids on the command line");
  }
  auto store = open_store(kProgram, s);
  if (!store) return kExitError;
  Changer changer(s, *store, spec);
  if (all) {
    for (QueueName queue : sources(spec.change)) {
      auto ids = store->list(queue);
      if (!ids.ok()) return fatal(kProgram, ids.error().message);
      for (const std::string& id : *ids) changer.apply(id);
    }
  } else {
    for (const std::string& a : args) {
      if (a != "-") {
        changer.apply(a);
        continue;
      }
      std::string line;
      while (std::getline(std::cin, line)) {
        const size_t begin = line.find_first_not_of(" \t\r");
        if (begin == std::string::npos) continue;
        const size_t end = line.find_last_not_of(" \t\r");
        changer.apply(line.substr(begin, end - begin + 1));
      }
    }
  }
  changer.finish();
  if (changer.count() > 0) {
    say(kProgram, fmt::format("{}: {} message{}", spec.summary, changer.count(),
                              changer.count() > 1 ? "s" : ""));
    wake_queue_manager(s);
  }
  return changer.failed() ? kExitError : kExitOk;
}

// ---- flush ----

// The queue manager takes the request (qmgr/flush_request.h): it scans deferred/ at once and
// tries what the request matches, defer_transports included. When it does not listen, the
// matching deferred messages are moved to active/ for its next start (without a route).
int command_flush(const Settings& s, const std::vector<std::string>& args) {
  constexpr std::string_view kProgram = "postqueue";
  std::optional<std::string> site;
  std::optional<std::string> id_part;
  std::optional<std::string> route;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-s" && i + 1 < args.size()) {
      site = address_domain("@" + args[++i]);
    } else if (args[i] == "-i" && i + 1 < args.size() && !args[i + 1].empty()) {
      id_part = args[++i];
    } else if (args[i] == "-r" && i + 1 < args.size() && !args[i + 1].empty()) {
      route = args[++i];
    } else {
      std::fputs(kUsage, stderr);
      return kExitUsage;
    }
  }
  if (site && site->empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  if (!may_change_queue(s)) {
    return fatal(kProgram,
                 fmt::format("flushing moves queue files: only root, the mail_owner user ({}) "
                             "and the owner of the queue directory may do it",
                             s.mail_owner));
  }
  qmgr::FlushRequest request{site.value_or(""), id_part.value_or(""), ""};
  if (route) {
    auto next_hop = qmgr::find_flush_route(s.flush_routes, *route);
    if (!next_hop) return fatal(kProgram, fmt::format("no route {} in flush_routes", *route));
    request.next_hop = std::move(*next_hop);
  }
  auto wire = qmgr::encode_flush_request(request);
  if (!wire) return fatal(kProgram, "flush request too long or with control characters");
  if (net::DatagramSender(s.queue_directory + "/public/qmgr").send(*wire)) return kExitOk;
  if (route) {
    warn(kProgram, fmt::format("the queue manager does not answer ({}): the messages wait in "
                               "active/ for its start, without route {}",
                               std::strerror(errno), *route));
  }
  auto store = open_store(kProgram, s);
  if (!store) return kExitError;
  auto ids = store->list(QueueName::kDeferred);
  if (!ids.ok()) return fatal(kProgram, ids.error().message);
  int status = kExitOk;
  // In batches: each batch is renamed, then both directories are synced once (not twice per
  // message), and its ids are announced, so the queue manager starts on the first batch
  // while the next ones move.
  constexpr size_t kBatch = 1024;
  std::vector<std::string> batch;
  auto move_batch = [&] {
    if (batch.empty()) return;
    auto failed = store->move_many(batch, QueueName::kDeferred, QueueName::kActive);
    if (!failed.ok()) {
      warn(kProgram, failed.error().message);
      status = kExitError;
    } else {
      for (const auto& f : *failed) {
        warn(kProgram, fmt::format("{}: {}", f.queue_id, f.error.message));
        status = kExitError;
      }
      announce_new(s, batch);
    }
    batch.clear();
  };
  for (const std::string& id : *ids) {
    if (id_part && id.find(*id_part) == std::string::npos) continue;
    if (site) {
      auto read = store->read_envelope(QueueName::kDeferred, id);
      if (!read.ok()) {
        if (read.failure != queue::ReadFailure::kGone) {
          warn(kProgram, fmt::format("deferred/{}: {}; skipped", id, read.reason));
        }
        continue;
      }
      bool wanted = false;
      const auto& recipients = read.value->envelope.recipients;
      for (size_t i = 0; i < recipients.size() && !wanted; ++i) {
        const bool done = i < read.value->recipients.size() && read.value->recipients[i].done;
        wanted = !done && address_domain(recipients[i].address) == *site;
      }
      if (!wanted) continue;
    }
    batch.push_back(id);
    if (batch.size() == kBatch) move_batch();
  }
  move_batch();
  wake_queue_manager(s);
  return status;
}

}  // namespace

int run_queue_command(const std::string& config_dir, const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? kExitUsage : kExitOk;
  }
  const std::string& sub = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  const ChangeSpec* change = nullptr;
  if (sub == "hold") change = &kChanges[0];
  if (sub == "release") change = &kChanges[1];
  if (sub == "delete") change = &kChanges[2];
  if (sub == "requeue") change = &kChanges[3];
  if (change == nullptr && sub != "list" && sub != "show" && sub != "flush") {
    std::fprintf(stderr, "estafeta: queue: unknown subcommand: %s\n%s", sub.c_str(), kUsage);
    return kExitUsage;
  }
  const std::string_view program = sub == "show"                     ? "postcat"
                                   : sub == "list" || sub == "flush" ? "postqueue"
                                                                     : "postsuper";
  auto settings = load_settings(program, config_dir);
  if (!settings) return kExitError;
  if (sub == "list") return command_list(*settings, rest);
  if (sub == "show") return command_show(*settings, rest);
  if (sub == "flush") return command_flush(*settings, rest);
  return command_change(*settings, *change, rest);
}

}  // namespace estafeta::cli
