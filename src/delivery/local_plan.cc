// The local(8) expansion rules as a pure function; see local_plan.h.
#include "delivery/local_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <set>

#include "maps/alias_source.h"
#include "maps/search_keys.h"

namespace estafeta::delivery {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A home directory to put paths in, without its trailing '/'; "" when it is "/" or not
// absolute (a mailbox or .forward there would be the root directory's or nowhere).
std::string usable_home(std::string_view home) {
  while (!home.empty() && home.back() == '/') home.remove_suffix(1);
  if (home.empty() || home.front() != '/') return "";
  return std::string(home);
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}

// A target written in double quotes ("|cmd a,b") without them, backslash escapes undone.
std::string unquote(std::string_view t) {
  if (t.size() < 2 || t.front() != '"' || t.back() != '"') return std::string(t);
  std::string out;
  for (size_t i = 1; i + 1 < t.size(); ++i) {
    if (t[i] == '\\' && i + 2 < t.size()) ++i;
    out += t[i];
  }
  return out;
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Who the targets of an alias, .forward or :include: file run as, and where they came from.
struct Context {
  std::string cls;                // "" (the recipient itself), "alias", "forward", "include"
  PlanUser privs;                 // rights for |command and /file targets
  std::string sender;             // owner-NAME@myorigin for forwarded copies, "" keeps it
  std::string self;               // the name whose alias or .forward this is
  std::vector<std::string> path;  // local names expanded so far (loop detection)
  int depth = 0;
};

class Planner {
 public:
  Planner(const std::vector<std::string>& delivered_to, const LocalPlanSettings& settings,
          const LocalPlanLookups& lookups)
      : delivered_to_(delivered_to), settings_(settings), lookups_(lookups) {}

  void recipient(const std::string& address, const Context& ctx) {
    const maps::AddressParts parts = maps::split_address(address);
    const std::string local = lower(parts.local);
    const std::string domain =
        parts.has_at && !parts.domain.empty() ? lower(parts.domain) : lower(settings_.myorigin);
    const std::string full = local + "@" + domain;
    if (contains(delivered_to_, full) || contains(ctx.path, local) ||
        ctx.depth > settings_.max_depth) {
      return finish(ActionKind::Bounce, full, ctx, "5.4.6",
                    fmt::format("mail forwarding loop for {}", full));
    }
    std::string user = local;
    std::string extension;
    if (auto split = maps::split_localpart(local, settings_.recipient_delimiter)) {
      user = split->user;
      extension = split->extension;
    }
    // alias_maps: the full local part, then without the extension.
    std::vector<std::string> keys{local};
    if (user != local) keys.push_back(user);
    for (const std::string& key : keys) {
      maps::LookupResult found = lookups_.alias(key);
      if (found.is_temp_fail()) {
        return finish(ActionKind::Defer, full, ctx, "4.3.0",
                      fmt::format("alias database unavailable: {}", found.value));
      }
      if (found.is_found()) return alias(key, found.value, local, domain, ctx);
    }
    UserLookup pw = lookups_.user_by_name(user);
    if (pw.status == maps::LookupStatus::TempFail) {
      return finish(ActionKind::Defer, full, ctx, "4.3.0",
                    fmt::format("password file lookup failed: {}", pw.user.name));
    }
    if (pw.status == maps::LookupStatus::NotFound) {
      return unknown(local, user, extension, domain, ctx);
    }
    Context next = ctx;
    next.path.push_back(local);
    deliver_user(pw.user, local, extension, domain, next);
  }

  std::vector<LocalAction> take() {
    std::vector<LocalAction> out;
    std::set<std::string> seen;
    for (LocalAction& a : actions_) {
      if (seen.insert(a.key()).second) out.push_back(std::move(a));
    }
    return out;
  }

 private:
  void alias(const std::string& key, const std::string& value, const std::string& local,
             const std::string& domain, const Context& ctx) {
    Context next;
    next.cls = "alias";
    next.privs = settings_.default_privs;
    next.sender = ctx.sender;
    next.self = key;
    next.path = ctx.path;
    next.path.push_back(local);
    next.depth = ctx.depth + 1;
    maps::LookupResult owner = lookups_.alias("owner-" + key);
    if (owner.is_temp_fail()) {
      return finish(ActionKind::Defer, local + "@" + domain, ctx, "4.3.0",
                    fmt::format("alias database unavailable: {}", owner.value));
    }
    if (owner.is_found()) next.sender = fmt::format("owner-{}@{}", key, settings_.myorigin);
    for (const std::string& t : maps::split_alias_targets(value)) {
      target(t, local, domain, next);
    }
  }

  // One target of an alias, .forward or :include: file for `local`@`domain`.
  void target(std::string_view raw, const std::string& local, const std::string& domain,
              const Context& ctx) {
    const std::string t = unquote(trim(raw));
    const std::string to = local + "@" + domain;
    if (t.empty()) return;
    if (t.front() == '|') {
      if (!contains(settings_.allow_mail_to_commands, ctx.cls)) {
        return finish(ActionKind::Bounce, to, ctx, "5.7.1", "mail to command is restricted");
      }
      LocalAction a = base(ActionKind::Command, to, ctx);
      a.as = ctx.privs;
      a.command = std::string(trim(std::string_view(t).substr(1)));
      a.what = "command: " + a.command;
      return add(std::move(a));
    }
    if (t.front() == '/') {
      if (!contains(settings_.allow_mail_to_files, ctx.cls)) {
        return finish(ActionKind::Bounce, to, ctx, "5.7.1", "mail to file is restricted");
      }
      LocalAction a = base(t.back() == '/' ? ActionKind::Maildir : ActionKind::Mbox, to, ctx);
      a.as = ctx.privs;
      a.path = t;
      a.what = "file: " + t;
      return add(std::move(a));
    }
    if (starts_with_nocase(t, ":include:")) return include(trim(t.substr(9)), local, domain, ctx);
    if (starts_with_nocase(t, "error:")) {
      std::string_view text = trim(std::string_view(t).substr(6));
      std::string dsn = "5.0.0";
      if (text.size() >= 5 && (text[0] == '4' || text[0] == '5') && text[1] == '.') {
        const size_t sp = text.find(' ');
        dsn = std::string(text.substr(0, sp));
        text = sp == std::string_view::npos ? "" : trim(text.substr(sp));
      }
      return finish(dsn[0] == '4' ? ActionKind::Defer : ActionKind::Bounce, to, ctx, dsn,
                    std::string(text.empty() ? "delivery refused" : text));
    }
    if (t.front() == '\\') return own_mailbox(lower(t.substr(1)), domain, ctx);
    address(t, to, domain, ctx);
  }

  // Mail for `to` goes on to the address `t`: forwarded when its domain is not ours, else
  // delivered here (a bare name in `domain`).
  void address(const std::string& t, const std::string& to, const std::string& domain,
               const Context& ctx) {
    const maps::AddressParts parts = maps::split_address(t);
    if (parts.has_at) {
      std::optional<bool> ours = lookups_.is_local_domain(lower(parts.domain));
      if (!ours) {
        return finish(ActionKind::Defer, to, ctx, "4.3.0",
                      fmt::format("cannot resolve {}: table lookup failed", t));
      }
      if (!*ours) {
        LocalAction a = base(ActionKind::Forward, to, ctx);
        a.address = t;
        a.sender = ctx.sender;
        a.what = "forward: " + t;
        return add(std::move(a));
      }
    }
    const std::string name = lower(parts.local);
    if (name.empty()) {
      return finish(ActionKind::Bounce, to, ctx, "5.1.3", fmt::format("bad address: {}", t));
    }
    if (name == ctx.self) return own_mailbox(name, domain, ctx);
    recipient(name + "@" + (parts.has_at ? lower(parts.domain) : domain), ctx);
  }

  void include(std::string_view path, const std::string& local, const std::string& domain,
               const Context& ctx) {
    const std::string to = local + "@" + domain;
    if (path.empty() || path.front() != '/') {
      return finish(ActionKind::Bounce, to, ctx, "5.3.5",
                    fmt::format(":include: {}: not an absolute path", path));
    }
    if (ctx.depth > settings_.max_depth) {
      return finish(ActionKind::Bounce, to, ctx, "5.4.6",
                    fmt::format("mail forwarding loop for {}", to));
    }
    FileLookup file = lookups_.read_file(ctx.privs, std::string(path));
    if (file.status == maps::LookupStatus::TempFail) {
      return finish(ActionKind::Defer, to, ctx, "4.3.0",
                    fmt::format("cannot read :include: file {}: {}", path, file.content));
    }
    if (file.status == maps::LookupStatus::NotFound) {
      return finish(ActionKind::Bounce, to, ctx, "5.3.0",
                    fmt::format("cannot open :include: file {}: no such file", path));
    }
    Context next = ctx;
    next.cls = "include";
    next.depth = ctx.depth + 1;
    if (file.owner == 0 || file.owner == settings_.mail_owner_uid) {
      next.privs = settings_.default_privs;
    } else {
      UserLookup owner = lookups_.user_by_uid(file.owner);
      if (owner.status != maps::LookupStatus::Found) {
        return finish(ActionKind::Defer, to, ctx, "4.3.0",
                      fmt::format(":include: file {}: owner uid {} unknown", path, file.owner));
      }
      next.privs = owner.user;
    }
    for (const std::string& t : split_file_targets(file.content)) target(t, local, domain, next);
  }

  // `\name` or a self-reference: the mailbox of `name`, no alias or .forward.
  void own_mailbox(const std::string& name, const std::string& domain, const Context& ctx) {
    std::string user = name;
    std::string extension;
    if (auto split = maps::split_localpart(name, settings_.recipient_delimiter)) {
      user = split->user;
      extension = split->extension;
    }
    UserLookup pw = lookups_.user_by_name(user);
    if (pw.status == maps::LookupStatus::TempFail) {
      return finish(ActionKind::Defer, name + "@" + domain, ctx, "4.3.0",
                    fmt::format("password file lookup failed: {}", pw.user.name));
    }
    if (pw.status == maps::LookupStatus::NotFound) {
      return finish(ActionKind::Bounce, name + "@" + domain, ctx, "5.1.1",
                    fmt::format("unknown user: \"{}\"", name));
    }
    mailbox(pw.user, name, extension, domain, ctx);
  }

  void unknown(const std::string& local, const std::string& user, const std::string& extension,
               const std::string& domain, const Context& ctx) {
    const std::string full = local + "@" + domain;
    if (settings_.luser_relay.empty()) {
      return finish(ActionKind::Bounce, full, ctx, "5.1.1",
                    fmt::format("unknown user: \"{}\"", local));
    }
    auto relay = expand_local_template(settings_.luser_relay,
                                       {{"user", user},
                                        {"local", local},
                                        {"extension", extension},
                                        {"domain", domain},
                                        {"recipient", full},
                                        {"recipient_delimiter", settings_.recipient_delimiter}});
    if (!relay || relay->empty()) {
      return finish(ActionKind::Bounce, full, ctx, "5.1.1",
                    fmt::format("unknown user: \"{}\"", local));
    }
    // An address, as Postfix's luser_relay: never a |command, /file or :include:.
    Context next = ctx;
    next.path.push_back(local);
    next.depth = ctx.depth + 1;
    next.cls = "";
    next.self = "";
    address(std::string(trim(*relay)), full, domain, next);
  }

  // The rights a user's deliveries run with: default_privs for root and mail_owner.
  PlanUser rights_of(const PlanUser& pw) const {
    return pw.uid == 0 || pw.uid == settings_.mail_owner_uid ? settings_.default_privs : pw;
  }

  void deliver_user(const PlanUser& pw, const std::string& local, const std::string& extension,
                    const std::string& domain, const Context& ctx) {
    const PlanUser as = rights_of(pw);
    const std::string full = local + "@" + domain;
    const std::vector<std::pair<std::string, std::string>> values{
        {"home", usable_home(pw.home)},
        {"user", pw.name},
        {"local", local},
        {"domain", domain},
        {"recipient", full},
        {"shell", pw.shell},
        {"extension", extension},
        {"recipient_delimiter", extension.empty() ? "" : settings_.recipient_delimiter}};
    for (const std::string& element : settings_.forward_path) {
      auto path = expand_local_template(element, values);
      if (!path || path->empty() || path->front() != '/') continue;
      FileLookup file = lookups_.read_file(as, *path);
      // Read for root or mail_owner as default_privs, which a root-only home keeps out:
      // as if there were none (Postfix reads it as root, which the spawner never does).
      if (file.status == maps::LookupStatus::TempFail && as.uid != pw.uid &&
          file.error_code == EACCES) {
        continue;
      }
      if (file.status == maps::LookupStatus::TempFail) {
        return finish(ActionKind::Defer, full, ctx, "4.3.0",
                      fmt::format("cannot read {}: {}", *path, file.content));
      }
      if (file.status == maps::LookupStatus::NotFound) continue;
      // Postfix's test: a .forward owned by someone else than the user (or root), or
      // writable by anyone, is ignored (its commands would run as the user).
      if ((file.owner != pw.uid && file.owner != 0) || (file.mode & 0002) != 0) continue;
      const std::vector<std::string> targets = split_file_targets(file.content);
      if (targets.empty()) continue;
      Context next = ctx;
      next.cls = "forward";
      next.privs = as;
      next.self = pw.name;
      next.depth = ctx.depth + 1;
      for (const std::string& t : targets) target(t, local, domain, next);
      return;
    }
    mailbox(pw, local, extension, domain, ctx);
  }

  void mailbox(const PlanUser& pw, const std::string& local, const std::string& extension,
               const std::string& domain, const Context& ctx) {
    const std::string full = local + "@" + domain;
    LocalAction a = base(ActionKind::Mbox, full, ctx);
    a.as = rights_of(pw);
    a.extension = extension;
    if (!settings_.mailbox_command.empty()) {
      a.kind = ActionKind::Command;
      a.command = settings_.mailbox_command;
      a.what = "command: " + a.command;
    } else if (!settings_.home_mailbox.empty()) {
      const std::string home = usable_home(pw.home);
      if (home.empty()) {
        return finish(ActionKind::Defer, full, ctx, "4.3.0",
                      fmt::format("user {} has no usable home directory for home_mailbox: "
                                  "\"{}\"",
                                  pw.name, pw.home));
      }
      a.path = home + "/" + settings_.home_mailbox;
      a.kind = a.path.back() == '/' ? ActionKind::Maildir : ActionKind::Mbox;
      a.what = a.kind == ActionKind::Maildir ? "maildir" : "mailbox";
    } else if (!settings_.mail_spool_directory.empty() &&
               settings_.mail_spool_directory.back() == '/') {
      a.kind = ActionKind::Maildir;
      a.path = settings_.mail_spool_directory + pw.name + "/";
      a.what = "maildir";
    } else {
      a.path = settings_.mail_spool_directory + "/" + pw.name;
      a.spool = true;
      a.what = "mailbox";
    }
    add(std::move(a));
  }

  LocalAction base(ActionKind kind, const std::string& to, const Context& ctx) const {
    LocalAction a;
    a.kind = kind;
    a.to = to;
    const maps::AddressParts parts = maps::split_address(to);
    a.local = std::string(parts.local);
    a.domain = std::string(parts.domain);
    if (auto split = maps::split_localpart(a.local, settings_.recipient_delimiter)) {
      a.extension = split->extension;
    }
    a.expanded = !ctx.cls.empty() || ctx.depth > 0;
    return a;
  }

  void finish(ActionKind kind, const std::string& to, const Context& ctx, std::string dsn,
              std::string text) {
    LocalAction a = base(kind, to, ctx);
    a.dsn = std::move(dsn);
    a.text = std::move(text);
    add(std::move(a));
  }

  void add(LocalAction a) { actions_.push_back(std::move(a)); }

  const std::vector<std::string>& delivered_to_;
  const LocalPlanSettings& settings_;
  const LocalPlanLookups& lookups_;
  std::vector<LocalAction> actions_;
};

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

std::string LocalAction::key() const {
  switch (kind) {
    case ActionKind::Maildir:
      return "maildir:" + path;
    case ActionKind::Mbox:
      return "mbox:" + path;
    case ActionKind::Command:
      return fmt::format("command:{}:{}:{}", as.uid, to, command);
    case ActionKind::Forward:
      return "forward:" + lower(address);
    case ActionKind::Bounce:
      return fmt::format("bounce:{}:{}", to, text);
    case ActionKind::Defer:
      return fmt::format("defer:{}:{}", to, text);
  }
  return "";
}

std::vector<LocalAction> plan_local_delivery(const std::string& recipient,
                                             const std::vector<std::string>& delivered_to,
                                             const LocalPlanSettings& settings,
                                             const LocalPlanLookups& lookups) {
  Planner planner(delivered_to, settings, lookups);
  planner.recipient(recipient, Context{});
  return planner.take();
}

std::vector<std::string> delivered_to_headers(std::string_view content) {
  std::vector<std::string> out;
  std::string current;  // the header being unfolded
  auto flush = [&] {
    if (starts_with_nocase(current, "delivered-to:")) {
      std::string_view v = trim(std::string_view(current).substr(13));
      if (v.size() >= 2 && v.front() == '<' && v.back() == '>') v = v.substr(1, v.size() - 2);
      out.push_back(lower(v));
    }
    current.clear();
  };
  while (!content.empty()) {
    size_t nl = content.find('\n');
    std::string_view line = content.substr(0, nl);
    content = nl == std::string_view::npos ? std::string_view() : content.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') {
      current += line;
      continue;
    }
    flush();
    current = std::string(line);
  }
  flush();
  return out;
}

std::optional<std::string> expand_local_template(
    std::string_view text, const std::vector<std::pair<std::string, std::string>>& values) {
  auto value_of = [&](std::string_view name) -> std::string {
    for (const auto& [n, v] : values) {
      if (n == name) return v;
    }
    return "";
  };
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i++];
      continue;
    }
    if (text[i + 1] == '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (text[i + 1] == '{') {
      const size_t close = text.find('}', i + 2);
      if (close == std::string_view::npos) return std::nullopt;
      std::string_view inner = text.substr(i + 2, close - i - 2);
      i = close + 1;
      const size_t op = inner.find_first_of("?:");
      const std::string value = value_of(inner.substr(0, op));
      if (op == std::string_view::npos) {
        if (value.empty()) return std::nullopt;
        out += value;
        continue;
      }
      const bool want = inner[op] == '?' ? !value.empty() : value.empty();
      if (want) {
        auto sub = expand_local_template(inner.substr(op + 1), values);
        if (!sub) return std::nullopt;
        out += *sub;
      }
      continue;
    }
    size_t end = i + 1;
    while (end < text.size() && name_char(text[end])) ++end;
    if (end == i + 1) {
      out += text[i++];
      continue;
    }
    const std::string value = value_of(text.substr(i + 1, end - i - 1));
    if (value.empty()) return std::nullopt;
    out += value;
    i = end;
  }
  return out;
}

std::vector<std::string> split_file_targets(std::string_view content) {
  std::vector<std::string> out;
  while (!content.empty()) {
    size_t nl = content.find('\n');
    std::string_view line = trim(content.substr(0, nl));
    content = nl == std::string_view::npos ? std::string_view() : content.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    for (std::string& t : maps::split_alias_targets(line)) out.push_back(std::move(t));
  }
  return out;
}

}  // namespace estafeta::delivery
