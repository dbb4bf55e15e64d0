// The delivery task codec and validation. See delivery_task.h.
#include "delivery/delivery_task.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "queue/record.h"

namespace estafeta::delivery {
namespace {

using queue::next_record;
using queue::parse_decimal;
using queue::put_record;
using queue::Record;

constexpr std::string_view kVersion = "1";
constexpr char kRequest = 'T';
constexpr char kReply = 'P';
constexpr char kResultVersion = 'r';  // a result's first record (delivery_task.h)

// Fields. Requests:
constexpr char kFieldVersion = 'v';
constexpr char kFieldId = 'n';
constexpr char kFieldKind = 'k';
constexpr char kFieldUid = 'u';
constexpr char kFieldGid = 'g';
constexpr char kFieldGroup = 'G';  // repeated
constexpr char kFieldUser = 'U';
constexpr char kFieldHome = 'H';
constexpr char kFieldPath = 'p';
constexpr char kFieldMaildirName = 'm';
constexpr char kFieldSender = 's';
constexpr char kFieldArrival = 'a';
constexpr char kFieldLocks = 'l';
constexpr char kFieldSpoolPrivileges = 'P';
constexpr char kFieldCheckDelivered = 'K';
constexpr char kFieldCommand = 'c';
constexpr char kFieldEnvironment = 'E';  // repeated
constexpr char kFieldWorkingDirectory = 'w';
constexpr char kFieldTimeLimit = 't';
constexpr char kFieldReadLimit = 'R';
constexpr char kFieldLockAttempts = 'A';
constexpr char kFieldLockDelay = 'D';
constexpr char kFieldStaleLock = 'S';
constexpr char kFieldFileSizeLimit = 'z';
constexpr char kFieldCopy = 'Y';  // repeated; payload: the copy's fields below
constexpr char kCopyPath = 'p';
constexpr char kCopyName = 'm';
constexpr char kCopyOffset = 'o';
constexpr char kCopyLength = 'n';
// Replies and results:
constexpr char kFieldInFd = 'f';
constexpr char kFieldPublished = 'q';  // reply: TaskReply::published; request: report_published
constexpr char kFieldResult = 'x';
constexpr char kFieldStatus = 'o';
constexpr char kFieldDsn = 'd';
constexpr char kFieldText = 'T';
constexpr char kFieldContent = 'C';
constexpr char kFieldErrno = 'e';
constexpr char kFieldFileOwner = 'W';
constexpr char kFieldFileMode = 'X';
constexpr char kFieldPart = 'B';  // repeated; payload: a result's fields (not nested further)

constexpr size_t kContentChunk = 512 * 1024;
constexpr size_t kMaxEnvironment = 256;
constexpr size_t kMaxPath = 4096;
constexpr int kMaxTimeLimit = 7 * 24 * 3600;
constexpr int kMaxLockAttempts = 1000;

char kind_code(TaskKind k) {
  switch (k) {
    case TaskKind::Maildir:
      return 'M';
    case TaskKind::Mbox:
      return 'B';
    case TaskKind::Command:
      return 'X';
    case TaskKind::ReadFile:
      return 'F';
    case TaskKind::MaildirBatch:
      return 'm';
    case TaskKind::OpenMaildirWorker:
      return 'W';
  }
  return '?';
}

std::optional<TaskKind> kind_of(std::string_view s) {
  if (s.size() != 1) return std::nullopt;
  for (TaskKind k : {TaskKind::Maildir, TaskKind::Mbox, TaskKind::Command, TaskKind::ReadFile,
                     TaskKind::MaildirBatch, TaskKind::OpenMaildirWorker}) {
    if (kind_code(k) == s[0]) return k;
  }
  return std::nullopt;
}

char status_code(TaskStatus s) {
  switch (s) {
    case TaskStatus::Delivered:
      return 'd';
    case TaskStatus::AlreadyDelivered:
      return 'a';
    case TaskStatus::Deferred:
      return 'f';
    case TaskStatus::Bounced:
      return 'b';
  }
  return '?';
}

std::optional<TaskStatus> status_of(std::string_view s) {
  if (s.size() != 1) return std::nullopt;
  for (TaskStatus t : {TaskStatus::Delivered, TaskStatus::AlreadyDelivered, TaskStatus::Deferred,
                       TaskStatus::Bounced}) {
    if (status_code(t) == s[0]) return t;
  }
  return std::nullopt;
}

void put_number(std::string& out, char type, uint64_t v) {
  put_record(out, type, fmt::format("{}", v));
}

void put_text(std::string& out, char type, std::string_view v) {
  if (!v.empty()) put_record(out, type, v);
}

// Every scalar field at most once; `seen` is indexed by the field's byte.
class FieldSet {
 public:
  Status first(char type) {
    auto& bit = seen_[static_cast<unsigned char>(type)];
    if (bit) return make_error(fmt::format("duplicate field '{}'", type));
    bit = true;
    return {};
  }

 private:
  bool seen_[256] = {};
};

Result<uint64_t> number(std::string_view s, uint64_t max, std::string_view what) {
  auto v = parse_decimal(s);
  if (!v || static_cast<uint64_t>(*v) > max) return make_error(fmt::format("bad {}", what));
  return static_cast<uint64_t>(*v);
}

// Walks the fields of a payload; the first must be the version.
template <class F>
Status for_each_field(std::string_view payload, F&& field) {
  size_t pos = 0;
  bool first = true;
  while (pos < payload.size()) {
    auto rec = next_record(payload, pos);
    if (!rec) return rec.error();
    if (first) {
      if (rec->type != kFieldVersion || rec->payload != kVersion) {
        return make_error("missing or unsupported version");
      }
      first = false;
      continue;
    }
    if (Status s = field(*rec); !s.ok()) return s;
  }
  if (first) return make_error("empty message");
  return {};
}

// The single record of type `type` that makes up `bytes`.
Result<std::string_view> whole_message(std::string_view bytes, char type) {
  if (bytes.empty() || bytes[0] != type) return make_error("unexpected message type");
  size_t pos = 0;
  auto rec = next_record(bytes, pos);
  if (!rec) return rec.error();
  if (pos != bytes.size()) return make_error("trailing bytes after the message");
  return rec->payload;
}

void put_result_fields(std::string& out, const TaskResult& r) {
  put_record(out, kFieldStatus, std::string(1, status_code(r.status)));
  put_text(out, kFieldDsn, r.dsn);
  put_text(out, kFieldText, r.text);
  // Content may be longer than one record: consecutive chunks, concatenated on decoding.
  for (size_t i = 0; i < r.content.size(); i += kContentChunk) {
    put_record(out, kFieldContent, std::string_view(r.content).substr(i, kContentChunk));
  }
  if (r.error_code != 0) put_number(out, kFieldErrno, static_cast<uint64_t>(r.error_code));
  if (r.file_owner != 0) put_number(out, kFieldFileOwner, r.file_owner);
  if (r.file_mode != 0) put_number(out, kFieldFileMode, r.file_mode);
  for (const TaskResult& part : r.parts) {
    std::string fields;
    put_result_fields(fields, part);
    put_record(out, kFieldPart, fields);
  }
}

// One result field into `r`; false when `f` is not a result field.
Result<bool> take_result_field(const Record& f, TaskResult& r, FieldSet& seen) {
  switch (f.type) {
    case kFieldStatus: {
      if (Status s = seen.first(f.type); !s.ok()) return s.error();
      auto st = status_of(f.payload);
      if (!st) return make_error("bad status");
      r.status = *st;
      return true;
    }
    case kFieldDsn:
    case kFieldText: {
      if (Status s = seen.first(f.type); !s.ok()) return s.error();
      (f.type == kFieldDsn ? r.dsn : r.text) = std::string(f.payload);
      return true;
    }
    case kFieldContent:
      if (f.payload.empty() || r.content.size() + f.payload.size() > kMaxReadLimit) {
        return make_error("bad content chunk");
      }
      r.content.append(f.payload);
      return true;
    case kFieldErrno: {
      if (Status s = seen.first(f.type); !s.ok()) return s.error();
      auto v = number(f.payload, 4095, "errno");
      if (!v) return v.error();
      r.error_code = static_cast<int>(*v);
      return true;
    }
    case kFieldFileOwner:
    case kFieldFileMode: {
      if (Status s = seen.first(f.type); !s.ok()) return s.error();
      auto v = number(f.payload, UINT32_MAX, "file owner or mode");
      if (!v) return v.error();
      (f.type == kFieldFileOwner ? r.file_owner : r.file_mode) = static_cast<uint32_t>(*v);
      return true;
    }
    default:
      return false;
  }
}

Status take_string(const Record& f, std::string& dst, FieldSet& seen) {
  if (Status s = seen.first(f.type); !s.ok()) return s;
  dst = std::string(f.payload);
  return {};
}

template <class T>
Status take_number(const Record& f, T& dst, uint64_t max, FieldSet& seen) {
  if (Status s = seen.first(f.type); !s.ok()) return s;
  auto v = number(f.payload, max, "number");
  if (!v) return v.error();
  dst = static_cast<T>(*v);
  return {};
}

// A limit: a value over `max` becomes `max` (a request from a newer or misconfigured agent
// still runs, within our bounds).
template <class T>
Status take_limit(const Record& f, T& dst, uint64_t max, FieldSet& seen) {
  if (Status s = seen.first(f.type); !s.ok()) return s;
  auto v = number(f.payload, INT64_MAX, "limit");
  if (!v) return v.error();
  dst = static_cast<T>(std::min<uint64_t>(*v, max));
  return {};
}

Status take_request_field(const Record& f, TaskRequest& r, FieldSet& seen) {
  DeliveryTask& t = r.task;
  constexpr uint64_t kMaxId = UINT32_MAX - 1;  // uid_t/gid_t: (uid_t)-1 means "unchanged"
  switch (f.type) {
    case kFieldId:
      return take_number(f, r.id, INT64_MAX, seen);
    case kFieldKind: {
      if (Status s = seen.first(f.type); !s.ok()) return s;
      auto k = kind_of(f.payload);
      if (!k) return make_error("bad task kind");
      t.kind = *k;
      return {};
    }
    case kFieldUid:
      return take_number(f, t.as.uid, kMaxId, seen);
    case kFieldGid:
      return take_number(f, t.as.gid, kMaxId, seen);
    case kFieldGroup: {
      auto v = number(f.payload, kMaxId, "group");
      if (!v) return v.error();
      // Groups beyond the maximum are dropped: fewer rights, never more.
      if (t.as.groups.size() < kMaxTaskGroups) t.as.groups.push_back(static_cast<gid_t>(*v));
      return {};
    }
    case kFieldUser:
      return take_string(f, t.as.user, seen);
    case kFieldHome:
      return take_string(f, t.as.home, seen);
    case kFieldPath:
      return take_string(f, t.path, seen);
    case kFieldMaildirName:
      return take_string(f, t.maildir_name, seen);
    case kFieldSender:
      return take_string(f, t.sender, seen);
    case kFieldArrival:
      return take_number(f, t.arrival_sec, INT64_MAX, seen);
    case kFieldLocks:
      return take_number(f, t.mbox_locks, 7, seen);
    case kFieldSpoolPrivileges: {
      if (Status s = seen.first(f.type); !s.ok()) return s;
      if (f.payload != "1") return make_error("bad spool privileges flag");
      t.create_with_spool_privileges = true;
      return {};
    }
    case kFieldCheckDelivered: {
      if (Status s = seen.first(f.type); !s.ok()) return s;
      if (f.payload != "1") return make_error("bad check-delivered flag");
      t.check_already_delivered = true;
      return {};
    }
    case kFieldPublished: {
      if (Status s = seen.first(f.type); !s.ok()) return s;
      if (f.payload != "1") return make_error("bad report-published flag");
      t.report_published = true;
      return {};
    }
    case kFieldCommand:
      return take_string(f, t.command, seen);
    case kFieldEnvironment:
      if (t.environment.size() >= kMaxEnvironment) return make_error("environment too large");
      t.environment.emplace_back(f.payload);
      return {};
    case kFieldWorkingDirectory:
      return take_string(f, t.working_directory, seen);
    case kFieldTimeLimit:
      return take_limit(f, t.time_limit_seconds, kMaxTimeLimit, seen);
    case kFieldReadLimit:
      return take_limit(f, t.read_limit, kMaxReadLimit, seen);
    case kFieldLockAttempts:
      return take_limit(f, t.lock_attempts, kMaxLockAttempts, seen);
    case kFieldLockDelay:
      return take_limit(f, t.lock_delay_seconds, 3600, seen);
    case kFieldStaleLock:
      return take_limit(f, t.stale_lock_seconds, kMaxTimeLimit, seen);
    case kFieldFileSizeLimit:
      return take_number(f, t.file_size_limit, INT64_MAX, seen);
    case kFieldCopy: {
      if (t.copies.size() >= kMaxBatchCopies) return make_error("too many copies");
      MaildirCopy copy;
      FieldSet copy_seen;
      size_t pos = 0;
      while (pos < f.payload.size()) {
        auto rec = next_record(f.payload, pos);
        if (!rec) return rec.error();
        Status st;
        switch (rec->type) {
          case kCopyPath:
            st = take_string(*rec, copy.path, copy_seen);
            break;
          case kCopyName:
            st = take_string(*rec, copy.maildir_name, copy_seen);
            break;
          case kCopyOffset:
            st = take_number(*rec, copy.offset, INT64_MAX, copy_seen);
            break;
          case kCopyLength:
            st = take_number(*rec, copy.length, INT64_MAX, copy_seen);
            break;
          default:
            return make_error(fmt::format("unknown copy field '{}'", rec->type));
        }
        if (!st.ok()) return st;
      }
      t.copies.push_back(std::move(copy));
      return {};
    }
    default:
      return make_error(fmt::format("unknown request field '{}'", f.type));
  }
}

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// Why a Maildir directory (already a clean absolute path) and file name are refused.
std::optional<std::string> maildir_target_problem(std::string_view path, std::string_view name) {
  if (path.back() != '/') return "a Maildir path ends with '/'";
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      has_nul(name) || name.size() > 255) {
    return "bad Maildir file name";
  }
  return std::nullopt;
}

// Whether `path` (a clean absolute path) names a file directly in `directory` (absolute;
// a trailing '/' ignored; empty: nothing is in it).
bool directly_in(std::string_view path, std::string_view directory) {
  while (directory.size() > 1 && directory.back() == '/') directory.remove_suffix(1);
  if (directory.empty() || directory == "/" || directory.front() != '/') return false;
  if (path.size() <= directory.size() + 1 || path.substr(0, directory.size()) != directory ||
      path[directory.size()] != '/') {
    return false;
  }
  return path.find('/', directory.size() + 1) == std::string_view::npos;
}

}  // namespace

TaskResult deferred(std::string dsn, std::string text, int error_code) {
  return TaskResult{TaskStatus::Deferred, std::move(dsn), std::move(text), {}, error_code, {}};
}

TaskResult bounced(std::string dsn, std::string text, int error_code) {
  return TaskResult{TaskStatus::Bounced, std::move(dsn), std::move(text), {}, error_code, {}};
}

bool is_clean_absolute_path(std::string_view p) {
  if (p.empty() || p[0] != '/' || p.size() > kMaxPath || has_nul(p)) return false;
  size_t i = 1;
  while (i < p.size()) {
    size_t slash = p.find('/', i);
    if (slash == std::string_view::npos) slash = p.size();
    std::string_view part = p.substr(i, slash - i);
    if (part == "." || part == ".." || (part.empty() && slash != p.size())) return false;
    i = slash + 1;
  }
  return true;
}

std::optional<std::string> validate_task(const DeliveryTask& t, const TaskPolicy& policy) {
  if (t.as.uid == 0 || t.as.gid == 0) return "refusing to run a task as root (uid or gid 0)";
  if (policy.forbidden_uids.count(t.as.uid) != 0) {
    return fmt::format("refusing to run a task as uid {} (the mail system's own)", t.as.uid);
  }
  if (t.as.uid < policy.minimum_uid) {
    return fmt::format("refusing to run a task as uid {} (below the minimum uid {})", t.as.uid,
                       policy.minimum_uid);
  }
  if (t.as.uid == static_cast<uid_t>(-1) || t.as.gid == static_cast<gid_t>(-1)) {
    return "invalid uid or gid";
  }
  if (t.as.groups.size() > kMaxTaskGroups) return "too many supplementary groups";
  for (gid_t g : t.as.groups) {
    if (g == 0 || g == static_cast<gid_t>(-1)) return "refusing supplementary group 0";
  }
  if (has_nul(t.as.user) || has_nul(t.as.home)) return "NUL in user or home";
  if (!is_clean_absolute_path(t.path) && t.kind != TaskKind::Command &&
      t.kind != TaskKind::MaildirBatch && t.kind != TaskKind::OpenMaildirWorker) {
    return "the path must be absolute, without '.', '..' or empty components";
  }
  switch (t.kind) {
    case TaskKind::Maildir:
      if (auto why = maildir_target_problem(t.path, t.maildir_name)) return why;
      break;
    case TaskKind::MaildirBatch:
      if (t.copies.empty() || t.copies.size() > kMaxBatchCopies) return "bad number of copies";
      for (const MaildirCopy& c : t.copies) {
        if (!is_clean_absolute_path(c.path)) {
          return "the path must be absolute, without '.', '..' or empty components";
        }
        if (auto why = maildir_target_problem(c.path, c.maildir_name)) return why;
        if (c.offset > INT64_MAX - c.length) return "bad copy range";
      }
      break;
    case TaskKind::Mbox:
      if (t.path.back() == '/') return "an mbox path names a file";
      if (t.create_with_spool_privileges && !directly_in(t.path, policy.spool_directory)) {
        return "spool privileges outside mail_spool_directory";
      }
      if (has_nul(t.sender) || t.sender.find('\n') != std::string::npos) return "bad sender";
      if (t.mbox_locks > 7) return "bad lock set";
      if (t.lock_attempts < 1 || t.lock_attempts > kMaxLockAttempts) return "bad lock attempts";
      if (t.lock_delay_seconds < 0 || t.lock_delay_seconds > 3600) return "bad lock delay";
      if (t.stale_lock_seconds < 1) return "bad stale lock time";
      if (t.arrival_sec < 0) return "bad arrival time";
      break;
    case TaskKind::Command:
      if (t.command.empty() || has_nul(t.command)) return "empty command or NUL in it";
      if (t.time_limit_seconds < 1 || t.time_limit_seconds > kMaxTimeLimit) {
        return "bad command time limit";
      }
      if (t.environment.size() > kMaxEnvironment) return "environment too large";
      for (const auto& e : t.environment) {
        size_t eq = e.find('=');
        if (eq == 0 || eq == std::string::npos || has_nul(e)) return "bad environment entry";
      }
      if (!t.working_directory.empty() && !is_clean_absolute_path(t.working_directory)) {
        return "bad working directory";
      }
      break;
    case TaskKind::ReadFile:
      if (t.read_limit < 1 || t.read_limit > kMaxReadLimit) return "bad read limit";
      break;
    case TaskKind::OpenMaildirWorker:
      break;  // only the identity above
  }
  return std::nullopt;
}

std::string encode_request(const TaskRequest& r) {
  const DeliveryTask& t = r.task;
  std::string p;
  put_record(p, kFieldVersion, kVersion);
  put_number(p, kFieldId, r.id);
  put_record(p, kFieldKind, std::string(1, kind_code(t.kind)));
  put_number(p, kFieldUid, t.as.uid);
  put_number(p, kFieldGid, t.as.gid);
  for (gid_t g : t.as.groups) put_number(p, kFieldGroup, g);
  put_text(p, kFieldUser, t.as.user);
  put_text(p, kFieldHome, t.as.home);
  put_text(p, kFieldPath, t.path);
  put_text(p, kFieldMaildirName, t.maildir_name);
  put_text(p, kFieldSender, t.sender);
  put_number(p, kFieldArrival, static_cast<uint64_t>(t.arrival_sec < 0 ? 0 : t.arrival_sec));
  put_number(p, kFieldLocks, t.mbox_locks);
  if (t.create_with_spool_privileges) put_record(p, kFieldSpoolPrivileges, "1");
  if (t.check_already_delivered) put_record(p, kFieldCheckDelivered, "1");
  if (t.report_published) put_record(p, kFieldPublished, "1");
  put_text(p, kFieldCommand, t.command);
  for (const auto& e : t.environment) put_record(p, kFieldEnvironment, e);
  put_text(p, kFieldWorkingDirectory, t.working_directory);
  put_number(p, kFieldTimeLimit, static_cast<uint64_t>(std::max(t.time_limit_seconds, 0)));
  put_number(p, kFieldReadLimit, t.read_limit);
  put_number(p, kFieldLockAttempts, static_cast<uint64_t>(std::max(t.lock_attempts, 0)));
  put_number(p, kFieldLockDelay, static_cast<uint64_t>(std::max(t.lock_delay_seconds, 0)));
  put_number(p, kFieldStaleLock, static_cast<uint64_t>(std::max(t.stale_lock_seconds, 0)));
  put_number(p, kFieldFileSizeLimit, t.file_size_limit);
  for (const MaildirCopy& c : t.copies) {
    std::string fields;
    put_text(fields, kCopyPath, c.path);
    put_text(fields, kCopyName, c.maildir_name);
    put_number(fields, kCopyOffset, c.offset);
    put_number(fields, kCopyLength, c.length);
    put_record(p, kFieldCopy, fields);
  }
  std::string out;
  put_record(out, kRequest, p);
  return out;
}

Result<TaskRequest> decode_request(std::string_view bytes) {
  auto payload = whole_message(bytes, kRequest);
  if (!payload) return payload.error();
  TaskRequest r;
  FieldSet seen;
  Status s =
      for_each_field(*payload, [&](const Record& f) { return take_request_field(f, r, seen); });
  if (!s.ok()) return s.error();
  if (Status id = seen.first(kFieldId); id.ok()) return make_error("request without id");
  if (Status kind = seen.first(kFieldKind); kind.ok()) return make_error("request without kind");
  return r;
}

std::optional<uint64_t> request_id_of(std::string_view bytes) {
  auto payload = whole_message(bytes, kRequest);
  if (!payload) return std::nullopt;
  size_t pos = 0;
  while (pos < payload->size()) {
    auto rec = next_record(*payload, pos);
    if (!rec) return std::nullopt;
    if (rec->type != kFieldId) continue;
    auto id = number(rec->payload, INT64_MAX, "id");
    if (!id) return std::nullopt;
    return *id;
  }
  return std::nullopt;
}

std::string encode_reply(const TaskReply& r) {
  std::string p;
  put_record(p, kFieldVersion, kVersion);
  put_number(p, kFieldId, r.id);
  if (r.published) {
    put_record(p, kFieldPublished, "1");
  } else if (r.result_in_fd) {
    put_record(p, kFieldInFd, "1");
  } else {
    std::string result;
    put_result_fields(result, r.result);
    put_record(p, kFieldResult, result);
  }
  std::string out;
  put_record(out, kReply, p);
  return out;
}

namespace {

Result<TaskResult> decode_result_fields(std::string_view payload, bool allow_parts = true) {
  TaskResult r;
  FieldSet seen;
  size_t pos = 0;
  while (pos < payload.size()) {
    auto rec = next_record(payload, pos);
    if (!rec) return rec.error();
    if (rec->type == kFieldPart) {
      if (!allow_parts || r.parts.size() >= kMaxBatchCopies) return make_error("bad result part");
      auto part = decode_result_fields(rec->payload, false);
      if (!part) return part.error();
      r.parts.push_back(std::move(*part));
      continue;
    }
    auto known = take_result_field(*rec, r, seen);
    if (!known) return known.error();
    if (!*known) return make_error(fmt::format("unknown result field '{}'", rec->type));
  }
  if (Status st = seen.first(kFieldStatus); st.ok()) return make_error("result without status");
  return r;
}

}  // namespace

Result<TaskReply> decode_reply(std::string_view bytes) {
  auto payload = whole_message(bytes, kReply);
  if (!payload) return payload.error();
  TaskReply r;
  FieldSet seen;
  Status s = for_each_field(*payload, [&](const Record& f) -> Status {
    switch (f.type) {
      case kFieldId:
        return take_number(f, r.id, INT64_MAX, seen);
      case kFieldInFd:
        if (Status d = seen.first(f.type); !d.ok()) return d;
        if (f.payload != "1") return make_error("bad fd flag");
        r.result_in_fd = true;
        return {};
      case kFieldPublished:
        if (Status d = seen.first(f.type); !d.ok()) return d;
        if (f.payload != "1") return make_error("bad published flag");
        r.published = true;
        return {};
      case kFieldResult: {
        if (Status d = seen.first(f.type); !d.ok()) return d;
        auto result = decode_result_fields(f.payload);
        if (!result) return result.error();
        r.result = std::move(*result);
        return {};
      }
      default:
        return make_error(fmt::format("unknown reply field '{}'", f.type));
    }
  });
  if (!s.ok()) return s.error();
  if (Status id = seen.first(kFieldId); id.ok()) return make_error("reply without id");
  const bool inline_result = !seen.first(kFieldResult).ok();
  if (r.published) {
    if (inline_result || r.result_in_fd) return make_error("a published reply carries no result");
    return r;
  }
  if (inline_result == r.result_in_fd) return make_error("reply needs exactly one result");
  return r;
}

std::string encode_result(const TaskResult& r) {
  // Not one record: the content may exceed a record's payload. The fields follow a
  // version record; the memfd's size delimits the whole.
  std::string out;
  put_record(out, kResultVersion, kVersion);
  put_result_fields(out, r);
  return out;
}

Result<TaskResult> decode_result(std::string_view bytes) {
  size_t pos = 0;
  if (bytes.empty()) return make_error("empty result");
  auto version = next_record(bytes, pos);
  if (!version) return version.error();
  if (version->type != kResultVersion || version->payload != kVersion) {
    return make_error("missing or unsupported result version");
  }
  return decode_result_fields(bytes.substr(pos));
}

}  // namespace estafeta::delivery
