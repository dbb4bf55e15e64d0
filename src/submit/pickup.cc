// The pickup service (see pickup.h).
#include "submit/pickup.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <vector>

#include "base/clock.h"
#include "bounce/notice_writer.h"
#include "message/dsn.h"
#include "net/signal_fd.h"
#include "submit/drop_file.h"
#include "submit/local_message.h"
#include "submit/maildrop.h"

namespace estafeta::submit {
namespace {

// The submitting user as the password file knows it.
Submitter submitter_of(uid_t uid, const PickupOptions& options) {
  Submitter who;
  who.uid = uid;
  who.myorigin = options.myorigin;
  who.myhostname = options.myhostname;
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    who.login = entry.pw_name;
    std::string_view gecos = entry.pw_gecos != nullptr ? entry.pw_gecos : "";
    who.gecos_name = std::string(gecos.substr(0, gecos.find(',')));
  } else {
    who.login = fmt::format("uid:{}", uid);  // Postfix's key for a user without a name
  }
  return who;
}

// Names in maildrop/ in order (they start with the time of writing).
Result<std::vector<std::string>> list_names(int dir_fd) {
  const int copy = ::dup(dir_fd);
  if (copy < 0) return make_error(fmt::format("dup: {}", std::strerror(errno)), errno);
  DIR* dir = ::fdopendir(copy);
  if (dir == nullptr) {
    const int code = errno;
    ::close(copy);
    return make_error(fmt::format("opendir maildrop: {}", std::strerror(code)), code);
  }
  ::rewinddir(dir);
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') names.emplace_back(entry->d_name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

// The envelope of a prepared local message, before the cleanup stage rewrites it.
message::Envelope envelope_of(const LocalMessage& prepared) {
  message::Envelope envelope;
  envelope.sender = prepared.sender;
  envelope.recipients = prepared.recipients;
  envelope.body_type = prepared.body_type;
  envelope.dsn_ret = prepared.ret;
  envelope.dsn_envid = prepared.envid;
  envelope.protocol = "LOCAL";
  return envelope;
}

// The bounce service's request for the non-delivery notice of a message refused with
// `reply` ("550 5.7.1 text"): every recipient whose NOTIFY asks for failures, with the
// reply's enhanced status code (5.0.0 when it has none) and text.
qmgr::BounceRequest refusal_notice_request(const std::string& id, const message::Envelope& envelope,
                                           std::string_view reply, int64_t now_us) {
  std::string_view text = reply;
  if (text.size() > 3 && text[3] == ' ') text.remove_prefix(4);  // the SMTP code
  std::string status = "5.0.0";
  const size_t space = text.find(' ');
  if (space != std::string_view::npos && space >= 5 && text[0] == '5' && text[1] == '.') {
    status = std::string(text.substr(0, space));
    text.remove_prefix(space + 1);
  }
  qmgr::BounceRequest request;
  request.queue_id = id;
  request.kind = qmgr::NoticeRequestKind::kFailure;
  for (size_t i = 0; i < envelope.recipients.size(); ++i) {
    const message::Recipient& r = envelope.recipients[i];
    if (!message::wants_notice(r.notify, "FAILURE")) continue;
    request.recipients.push_back(
        {static_cast<uint32_t>(i), r.address, status, std::string(text), "", "", now_us});
  }
  return request;
}

}  // namespace

Pickup::Pickup(PickupOptions options, SubmitPolicy policy, queue::Spool& spool,
               const log::Logger& log)
    : options_(std::move(options)), policy_(std::move(policy)), spool_(spool), log_(log) {}

Result<int> Pickup::scan() {
  const std::string dir = options_.queue_directory + "/" + kMaildrop;
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return make_error(fmt::format("open {}: {}", dir, std::strerror(errno)), errno);
  auto names = list_names(dir_fd);
  int queued = 0;
  if (names.ok()) {
    // Forget the deferred files that are gone; skip those whose time has not come.
    std::erase_if(retry_at_, [&](const auto& entry) {
      return !std::binary_search(names->begin(), names->end(), entry.first);
    });
    const auto now = std::chrono::steady_clock::now();
    for (const auto& name : *names) {
      if (auto wait = retry_at_.find(name); wait != retry_at_.end() && wait->second > now) continue;
      const Outcome outcome = take(dir_fd, name);
      if (outcome == Outcome::Deferred) {
        retry_at_[name] = std::chrono::steady_clock::now() + options_.scan_interval;
      } else {
        retry_at_.erase(name);
      }
      if (outcome == Outcome::Queued) ++queued;
    }
  }
  ::close(dir_fd);
  if (!names.ok()) return names.error();
  return queued;
}

Pickup::Outcome Pickup::take(int dir_fd, const std::string& name) {
  // The file may be as large as the largest message, plus its framing and the arguments.
  const uint64_t limit =
      options_.message_size_limit == 0
          ? UINT64_MAX
          : options_.message_size_limit + options_.message_size_limit / 8 + (1 << 20);
  auto read = read_drop_file(dir_fd, name, options_.maildrop_group, limit);
  if (!read.ok()) {
    log_.warning("{}", read.error().message);
    return Outcome::Deferred;
  }
  switch (read->kind) {
    case DropFileRead::Kind::Gone:
      return Outcome::Gone;
    case DropFileRead::Kind::NotReady:
      if (std::chrono::system_clock::now() - read->modified > options_.abandoned_after) {
        move_aside(dir_fd, name, fmt::format("uid={}: abandoned while being written", read->owner));
        return Outcome::MovedAside;
      }
      return Outcome::Left;
    case DropFileRead::Kind::Refused:
      move_aside(dir_fd, name, fmt::format("uid={}: {}", read->owner, read->why));
      return Outcome::MovedAside;
    case DropFileRead::Kind::Ready:
      break;
  }
  return submit(dir_fd, name, read->owner, read->bytes, read->modified);
}

Pickup::Outcome Pickup::submit(int dir_fd, const std::string& name, uid_t owner,
                               const std::string& bytes,
                               std::chrono::system_clock::time_point written) {
  const Submitter who = submitter_of(owner, options_);
  auto refuse = [&](const std::string& why) {
    move_aside(dir_fd, name, fmt::format("uid={} ({}): {}", owner, who.login, why));
    return Outcome::MovedAside;
  };
  auto request = parse_drop_file(bytes);
  if (!request.ok()) return refuse("malformed: " + request.error().message);
  if (options_.message_size_limit != 0 && request->content.size() > options_.message_size_limit) {
    return refuse(fmt::format("message of {} bytes is larger than message_size_limit {}",
                              request->content.size(), options_.message_size_limit));
  }
  // Files of the trusted user (mail_owner: the local delivery agent forwarding mail) may
  // use any sender, as Postfix trusts its own user.
  const bool trusted = options_.trusted_uid && owner == *options_.trusted_uid;
  switch (trusted ? policy::Match::Yes : policy_.may_submit(who.login)) {
    case policy::Match::Yes:
      break;
    case policy::Match::No:
      return refuse("not allowed to submit mail (authorized_submit_users)");
    case policy::Match::TempFail:
      log_.warning("maildrop/{}: authorized_submit_users: table lookup failed; will retry", name);
      return Outcome::Deferred;
  }
  std::string sender = qualify(who.login, options_.myorigin);
  if (request->sender) {
    std::string wanted = qualify(*request->sender, options_.myorigin);
    switch (trusted ? policy::Match::Yes : policy_.may_use_sender(who.login, wanted)) {
      case policy::Match::Yes:
        sender = wanted;
        break;
      case policy::Match::No:
        return refuse(
            fmt::format("not allowed to use sender <{}> (local_login_sender_maps)", wanted));
      case policy::Match::TempFail:
        log_.warning("maildrop/{}: local_login_sender_maps: table lookup failed; will retry", name);
        return Outcome::Deferred;
    }
  }
  auto prepared = prepare_local_message(*request, sender, who);
  if (!prepared.ok()) return refuse(prepared.error().message);

  const int64_t now_us = system_now_us();
  message::Envelope envelope = envelope_of(*prepared);
  if (options_.cleanup) {
    route::EnvelopeCleanup::Outcome cleaned = options_.cleanup->rewrite(envelope);
    for (const auto& line : cleaned.log) log_.warning("maildrop/{}: {}", name, line);
    if (cleaned.refusal) {
      // Not queued, so no queue id yet: one of the same form, for the notice and the log.
      const std::string id = queue::Spool::make_queue_id(now_us, ::getpid());
      message::Envelope submitted = envelope_of(*prepared);
      submitted.arrival_us = now_us;
      return refused(dir_fd, name, owner, *cleaned.refusal, submitted,
                     render_local_message(*prepared, who, id, now_us), id, written);
    }
  }
  // smtputf8_autodetect_classes, on the rewritten envelope; the headers as submitted (the
  // Received, Date and Message-Id added here are ASCII; a From we add carries from_name).
  const message::MailOrigin origin =
      trusted ? message::MailOrigin::kForward : message::MailOrigin::kSendmail;
  envelope.smtputf8 = options_.smtputf8_autodetect.requests_smtputf8(
      origin, envelope, prepared->headers + prepared->from_name + "\r\n\r\n");
  auto begun = spool_.begin(std::move(envelope));
  if (!begun.ok()) {
    log_.warning("maildrop/{}: queue file create: {}", name, begun.error().message);
    return Outcome::Deferred;
  }
  std::unique_ptr<queue::IncomingMessage> message = std::move(*begun);
  const std::string id = message->queue_id();
  checks::CheckContext context;
  context.queue_id = id;
  context.sender = prepared->sender;
  context.recipient = prepared->recipients.empty() ? "" : prepared->recipients.front().address;
  cleanup::ContentCleanup content(
      options_.content, context,
      options_.cleanup ? options_.cleanup->header_rewriter("") : nullptr);
  const std::string rendered = render_local_message(*prepared, who, id, now_us);
  std::string stored = content.feed(rendered);
  stored += content.finish();
  for (const std::string& line : content.take_log_lines()) {
    if (line.starts_with("warning: ")) {
      log_.warning("{}", std::string_view(line).substr(9));
    } else {
      log_.info("{}", line);
    }
  }
  if (auto reply = content.refusal()) {
    message.reset();  // the incoming queue file goes
    message::Envelope submitted = envelope_of(*prepared);
    submitted.arrival_us = now_us;
    return refused(dir_fd, name, owner, *reply, submitted, rendered, id, written);
  }
  if (content.discard()) {
    log_.info("{}: discard: local submission of uid={}", id, owner);
    remove_drop_file(dir_fd, name, id);
    return Outcome::Gone;
  }
  message->set_content_actions(content.actions());
  if (auto appended = message->append(stored); !appended.ok()) {
    log_.warning("{}: queue file write: {}", id, appended.error().message);
    return Outcome::Deferred;  // the incoming file goes with `message`
  }
  std::promise<Result<std::string>> committed;
  auto done = committed.get_future();
  spool_.commit(std::move(message),
                [&committed](Result<std::string> r) { committed.set_value(std::move(r)); });
  auto result = done.get();
  if (!result.ok()) {
    log_.warning("{}: queue file commit: {}", id, result.error().message);
    return Outcome::Deferred;
  }
  log_.info("{}: uid={} from=<{}>", id, owner, prepared->sender);
  // The message is queued: only now does its drop file go (a crash before this line
  // queues it a second time at the next scan; never loses it).
  remove_drop_file(dir_fd, name, id);
  return Outcome::Queued;
}

// Postfix's cleanup bounces a local submission that it refuses permanently (its submitter
// has no session to read an error in), and leaves one refused temporarily for later.
//
// How the sender is told: pickup plans the notices with the bounce service's own decisions
// (bounce::plan_notices: the sender, the postmaster's copy per notify_classes, nothing for
// a notice about a postmaster notice) and queues them through its Spool (bounce::
// queue_notices, the bounce service's writer). Asking the bounce service over
// private/bounce would not fit: it reads the original from active/ or deferred/, where the
// queue manager would also deliver it; and queueing the message with its recipients marked
// bounced would need a new queue file record (the status log has one writer, the queue
// manager, and its `b` entry means "notice already sent"). The drop file is removed only
// after the notice is committed: a crash in between sends a second notice, never none.
Pickup::Outcome Pickup::refused(int dir_fd, const std::string& name, uid_t owner,
                                std::string reply, const message::Envelope& envelope,
                                std::string_view original, const std::string& id,
                                std::chrono::system_clock::time_point written) {
  const auto age = std::chrono::system_clock::now() - written;
  if (!reply.starts_with('5') && age > options_.maximal_lifetime) {
    // Refused temporarily for as long as a queued message may wait: for good now.
    reply = fmt::format("554 5.4.7 not queued in {} days: {}",
                        std::chrono::duration_cast<std::chrono::hours>(age).count() / 24, reply);
  }
  if (!reply.starts_with('5')) {
    log_.warning("maildrop/{}: uid={}: not queued: {}; will try again in {}s", name, owner, reply,
                 options_.scan_interval.count());
    return Outcome::Deferred;
  }
  log_.info("{}: reject: local submission of uid={} from=<{}>: {}", id, owner, envelope.sender,
            reply);
  const qmgr::BounceRequest request =
      refusal_notice_request(id, envelope, reply, envelope.arrival_us);
  if (!request.recipients.empty()) {
    auto written = bounce::queue_notices(
        spool_, bounce::plan_notices(request, envelope, options_.notices), original, id, log_);
    if (!written.ok()) {
      log_.warning("maildrop/{}: cannot queue the non-delivery notice: {}; will try again in {}s",
                   name, written.error().message, options_.scan_interval.count());
      return Outcome::Deferred;
    }
  } else {
    log_.info("{}: no non-delivery notice: no recipient asks for one (NOTIFY)", id);
  }
  remove_drop_file(dir_fd, name, id);
  return Outcome::Gone;
}

void Pickup::remove_drop_file(int dir_fd, const std::string& name, const std::string& id) {
  if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
    log_.warning("{}: remove maildrop/{}: {}", id, name, std::strerror(errno));
  } else if (::fsync(dir_fd) != 0) {
    log_.warning("{}: fsync maildrop: {}", id, std::strerror(errno));
  }
}

void Pickup::move_aside(int dir_fd, const std::string& name, const std::string& why) {
  const std::string corrupt = options_.queue_directory + "/corrupt";
  (void)::mkdir(corrupt.c_str(), 0700);
  const int corrupt_fd = ::open(corrupt.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const std::string target = "maildrop-" + name;
  if (corrupt_fd >= 0 && ::renameat(dir_fd, name.c_str(), corrupt_fd, target.c_str()) == 0) {
    log_.warning("maildrop/{}: {}: moved to corrupt/{}", name, why, target);
    (void)::fsync(corrupt_fd);
    (void)::fsync(dir_fd);
  } else {
    // Removing it is the only way not to take it again and again.
    log_.warning("maildrop/{}: {}: cannot move it to corrupt/ ({}); removed", name, why,
                 std::strerror(errno));
    (void)::unlinkat(dir_fd, name.c_str(), 0);
  }
  if (corrupt_fd >= 0) ::close(corrupt_fd);
}

int Pickup::serve(int wakeup_fd) {
  auto signals = net::block_into_signalfd({SIGTERM, SIGINT, SIGHUP}, SFD_NONBLOCK);
  if (!signals.ok()) {
    log_.fatal(signals.error().message);
    return 1;
  }
  const int signal_fd = *signals;
  const int timeout_ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.scan_interval).count());
  for (;;) {
    // Drain the wake-ups first: one scan answers all of them.
    char buffer[64];
    while (::recv(wakeup_fd, buffer, sizeof buffer, MSG_DONTWAIT) > 0) {
    }
    if (auto scanned = scan(); !scanned.ok()) log_.warning("{}", scanned.error().message);
    pollfd fds[2] = {{signal_fd, POLLIN, 0}, {wakeup_fd, POLLIN, 0}};
    const int n = ::poll(fds, 2, timeout_ms > 0 ? timeout_ms : -1);
    if (n < 0 && errno != EINTR) {
      log_.fatal(fmt::format("poll: {}", std::strerror(errno)));
      return 1;
    }
    if (n > 0 && (fds[0].revents & POLLIN) != 0) {
      signalfd_siginfo info{};
      (void)::read(signal_fd, &info, sizeof info);
      if (info.ssi_signo != SIGHUP) break;
    }
  }
  ::close(signal_fd);
  return 0;
}

}  // namespace estafeta::submit
