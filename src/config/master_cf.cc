// master.cf parsing and the mapping of inet services to listen addresses; see master_cf.h.
#include "config/master_cf.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "base/ascii.h"
#include "base/assert.h"
#include "config/main_cf.h"
#include "config/main_cf_lexer.h"
#include "config/parameters.h"

namespace estafeta::config {
namespace {

constexpr size_t kColumns = 8;
constexpr std::array<std::string_view, 5> kTypes = {"inet", "unix", "unix-dgram", "fifo", "pass"};

struct NamedPort {
  std::string_view name;
  uint16_t port;
};
// The service names we accept without /etc/services (pure: no getservbyname).
constexpr std::array<NamedPort, 4> kNamed = {
    {{"smtp", 25}, {"submission", 587}, {"smtps", 465}, {"submissions", 465}}};

struct Token {
  std::string text;
  bool braced = false;  // Postfix 3 "{ text with spaces }"
};

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/// Splits a logical line into whitespace-separated tokens and { ... } groups.
Result<std::vector<Token>> tokenize(std::string_view line) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (true) {
    while (i < line.size() && is_blank(line[i])) {
      ++i;
    }
    if (i >= line.size()) {
      return tokens;
    }
    if (line[i] == '{') {
      int level = 0;
      size_t j = i;
      for (; j < line.size(); ++j) {
        if (line[j] == '{') {
          ++level;
        } else if (line[j] == '}' && --level == 0) {
          break;
        }
      }
      if (j >= line.size()) {
        return make_error("missing '}'");
      }
      if (j + 1 < line.size() && !is_blank(line[j + 1])) {
        return make_error(fmt::format("text after '}}': \"{}\"", line.substr(j + 1)));
      }
      tokens.push_back({std::string(ascii::trim(line.substr(i + 1, j - i - 1))), true});
      i = j + 1;
    } else {
      size_t j = i;
      while (j < line.size() && !is_blank(line[j])) {
        ++j;
      }
      tokens.push_back({std::string(line.substr(i, j - i)), false});
      i = j;
    }
  }
}

/// y / n / - (= `dflt`).
std::optional<bool> parse_flag(std::string_view v, bool dflt) {
  if (v == "-") {
    return dflt;
  }
  if (v == "y") {
    return true;
  }
  if (v == "n") {
    return false;
  }
  return std::nullopt;
}

bool all_digits(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), ascii::is_digit);
}

Result<Service> parse_service(const LogicalLine& l, const std::string& filename) {
  Result<std::vector<Token>> tokens = tokenize(l.text);
  if (!tokens.ok()) {
    return tokens.error();
  }
  std::vector<Token>& t = tokens.value();
  if (t.size() < kColumns) {
    return make_error(
        fmt::format("bad field count: {} (need at least {}: service type "
                    "private unpriv chroot wakeup maxproc command)",
                    t.size(), kColumns));
  }
  for (size_t i = 0; i < kColumns; ++i) {
    if (t[i].braced) {
      return make_error(fmt::format("column {} cannot be a {{ }} group", i + 1));
    }
  }
  Service s;
  s.file = filename;
  s.line = l.line;
  s.endpoint = t[0].text;
  s.type = t[1].text;
  if (std::find(kTypes.begin(), kTypes.end(), s.type) == kTypes.end()) {
    return make_error(fmt::format("{}: unknown service type: {}", s.endpoint, s.type));
  }
  std::optional<bool> priv = parse_flag(t[2].text, true);
  std::optional<bool> unpriv = parse_flag(t[3].text, true);
  std::optional<bool> chroot = parse_flag(t[4].text, false);
  if (!priv || !unpriv || !chroot) {
    return make_error(fmt::format("{}: private, unpriv and chroot must be y, n or -", s.endpoint));
  }
  s.is_private = *priv;
  s.unprivileged = *unpriv;
  s.chroot = *chroot;
  if (s.type == "inet" && s.is_private) {
    return make_error(fmt::format(
        "{}: an inet service cannot be private (the private column must be n)", s.endpoint));
  }
  s.wakeup = t[5].text;
  std::string_view wakeup = s.wakeup;
  if (!wakeup.empty() && wakeup.back() == '?') {
    wakeup.remove_suffix(1);
  }
  if (s.wakeup != "-" && !all_digits(wakeup)) {
    return make_error(fmt::format("{}: bad wakeup time: {}", s.endpoint, s.wakeup));
  }
  s.max_process = t[6].text;
  if (s.max_process != "-" && !(all_digits(s.max_process) && parse_integer(s.max_process).ok())) {
    return make_error(fmt::format("{}: bad process limit: {}", s.endpoint, s.max_process));
  }
  s.command = t[7].text;
  for (size_t i = 0; i < kColumns; ++i) {
    s.columns.push_back(t[i].text);
  }
  for (size_t i = kColumns; i < t.size(); ++i) {
    if (t[i].braced || t[i].text != "-o") {
      s.args.push_back(t[i].text);
      s.arguments.push_back(t[i].braced ? "{" + t[i].text + "}" : t[i].text);
      continue;
    }
    if (i + 1 >= t.size()) {
      return make_error(fmt::format("{}: -o without name=value", s.endpoint));
    }
    const std::string& nv = t[++i].text;
    size_t eq = nv.find('=');
    std::string_view name =
        ascii::trim(std::string_view(nv).substr(0, eq == std::string::npos ? nv.size() : eq));
    if (eq == std::string::npos || !is_parameter_name(name)) {
      return make_error(
          fmt::format("{}: bad -o argument: \"{}\" (need name=value)", s.endpoint, nv));
    }
    std::string_view value = std::string_view(nv).substr(eq + 1);
    if (t[i].braced) {
      value = ascii::trim(value);
    }
    s.overrides.emplace_back(std::string(name), std::string(value));
    s.arguments.emplace_back("-o");
    s.arguments.push_back(t[i].braced ? fmt::format("{{{}={}}}", name, value) : nv);
  }
  return s;
}

bool is_ipv6(const std::string& host) {
  std::array<unsigned char, 16> buf{};
  return inet_pton(AF_INET6, host.c_str(), buf.data()) == 1;
}

bool is_ipv4(const std::string& host) {
  std::array<unsigned char, 4> buf{};
  return inet_pton(AF_INET, host.c_str(), buf.data()) == 1;
}

Result<uint16_t> parse_port(std::string_view p) {
  for (const NamedPort& n : kNamed) {
    if (p == n.name) {
      return n.port;
    }
  }
  if (!all_digits(p) || p.size() > 5) {
    return make_error(fmt::format("unknown service or bad port: \"{}\"", p));
  }
  Result<long long> v = parse_integer(p);
  if (!v.ok() || v.value() < 1 || v.value() > 65535) {
    return make_error(fmt::format("port out of range: {}", p));
  }
  return static_cast<uint16_t>(v.value());
}

// Postfix commands that Estafeta accepts in master.cf and does not run: those whose work is
// built into another Estafeta program (cleanup into smtpd, trivial-rewrite into qmgr, showq
// into `estafeta queue`, ...) or has no use here, and those of services Estafeta will have
// (docs/master-cf.md names the issues that bring them).
constexpr std::array<std::string_view, 11> kBuiltInCommands = {
    "cleanup", "trivial-rewrite", "tlsmgr", "verify", "flush", "proxymap",
    "anvil",   "scache",          "postlogd", "error", "discard"};
constexpr std::array<std::string_view, 7> kLaterCommands = {
    "lmtp", "pipe",
    "postscreen", "dnsblog", "tlsproxy", "spawn",  "qmqpd"};

bool contains(const auto& list, std::string_view command) {
  return std::find(list.begin(), list.end(), command) != list.end();
}

// The role of one row, or Ignored with the reason in `why`. `have_qmgr`: an earlier row
// already runs the queue manager.
ServiceRole classify(const Service& s, bool have_qmgr, bool have_pickup, std::string* why) {
  if (s.command == "showq") {
    if (s.type == "unix") return ServiceRole::Showq;
    *why = fmt::format("type {} not supported (showq serves unix), ignored", s.type);
    return ServiceRole::Ignored;
  }
  if (s.command == "pickup") {
    if (s.type != "unix" && s.type != "fifo") {
      *why = fmt::format("type {} not supported (pickup is unix or fifo), ignored", s.type);
      return ServiceRole::Ignored;
    }
    if (!have_pickup) return ServiceRole::Pickup;
    *why = "a second pickup, ignored (one per queue)";
    return ServiceRole::Ignored;
  }
  if (s.command == "smtpd") {
    if (s.type == "inet") {
      return ServiceRole::Smtpd;
    }
    *why = fmt::format("type {} not implemented yet, ignored", s.type);
    return ServiceRole::Ignored;
  }
  if (s.command == "qmgr" || s.command == "oqmgr") {
    if (!have_qmgr) {
      return ServiceRole::Qmgr;
    }
    *why = "a second queue manager, ignored (one per queue)";
    return ServiceRole::Ignored;
  }
  if (s.command == "local") {
    if (s.type == "unix") {
      return ServiceRole::Local;
    }
    *why = fmt::format("type {} not supported (local serves unix), ignored", s.type);
    return ServiceRole::Ignored;
  }
  if (s.command == "virtual") {
    if (s.type == "unix") {
      return ServiceRole::Virtual;
    }
    *why = fmt::format("type {} not supported (virtual serves unix), ignored", s.type);
    return ServiceRole::Ignored;
  }
  if (s.command == "smtp") {
    if (s.type == "unix") {
      return ServiceRole::Smtp;
    }
    *why = fmt::format("type {} not supported (smtp serves unix), ignored", s.type);
    return ServiceRole::Ignored;
  }
  if (s.command == "bounce") {
    // Postfix runs three rows of this command: bounce, defer and trace. One Estafeta bounce
    // service serves every kind of notice (the queue manager asks it on private/bounce).
    if (s.type == "unix" && s.endpoint == "bounce") {
      return ServiceRole::Bounce;
    }
    *why = s.type == "unix" ? "built into the bounce service, ignored"
                            : fmt::format("type {} not supported (bounce serves unix), ignored",
                                          s.type);
    return ServiceRole::Ignored;
  }
  if (contains(kBuiltInCommands, s.command)) {
    *why = "built into Estafeta or not needed, ignored";
  } else if (contains(kLaterCommands, s.command)) {
    *why = "not implemented yet, ignored";
  } else {
    *why = "unknown command, ignored";
  }
  return ServiceRole::Ignored;
}

Service default_row(std::string_view row, const std::string& file) {
  MasterCf parsed = parse_master_cf(std::string(row) + "\n", file);
  ESTAFETA_CHECK(parsed.ok && parsed.services.size() == 1);
  Service s = std::move(parsed.services[0]);
  s.line = 0;
  return s;
}

}  // namespace

ServiceTable plan_services(const MasterCf& m, const std::string& file) {
  ServiceTable table;
  bool have_qmgr = false;
  bool have_local = false;
  bool have_virtual = false;
  bool have_pickup = false;
  bool have_bounce = false;
  for (const Service& s : m.services) {
    std::string why;
    ServiceRole role = classify(s, have_qmgr, have_pickup, &why);
    auto note = [&](std::string text) {
      table.notices.push_back(
          {s.file, s.line, false, fmt::format("service {} ({}): {}", s.endpoint, s.command, text)});
    };
    if (role == ServiceRole::Ignored) {
      note(why);
    } else {
      have_qmgr = have_qmgr || role == ServiceRole::Qmgr;
      have_pickup = have_pickup || role == ServiceRole::Pickup;
      have_local = have_local || (role == ServiceRole::Local && s.endpoint == "local");
      have_virtual =
          have_virtual || (role == ServiceRole::Virtual && s.endpoint == "virtual");
      have_bounce = have_bounce || role == ServiceRole::Bounce;
      if (s.chroot) {
        note("chroot not implemented yet, runs without chroot");
      }
      if (!s.args.empty()) {
        std::string joined;
        for (const std::string& a : s.args) {
          joined += (joined.empty() ? "" : " ") + a;
        }
        note(fmt::format("argument{} {} ignored (only -o name=value is used)",
                         s.args.size() > 1 ? "s" : "", joined));
      }
      if ((role == ServiceRole::Qmgr || role == ServiceRole::Pickup) && s.max_process != "-" &&
          s.max_process != "1") {
        note(fmt::format("process limit {} ignored: one {} per queue", s.max_process,
                         role == ServiceRole::Qmgr ? "queue manager" : "pickup"));
      }
    }
    table.services.push_back({s, role, false});
  }
  if (!have_pickup) {
    // As in Postfix: without pickup, mail submitted with sendmail waits in maildrop/.
    table.notices.push_back({file, 0, false,
                             "no pickup service: mail submitted with sendmail stays in "
                             "maildrop/ until one runs (Postfix's row: \"pickup unix n - y 60 1 "
                             "pickup\")"});
  }
  std::vector<std::string_view> missing;
  if (!have_qmgr) {
    missing.push_back(kDefaultQmgrRow);
  }
  if (!have_local) {
    missing.push_back(kDefaultLocalRow);
  }
  if (!have_virtual) {
    missing.push_back(kDefaultVirtualRow);
  }
  if (!have_bounce) {
    missing.push_back(kDefaultBounceRow);
  }
  std::vector<std::string> rows;
  std::vector<std::string> names;
  for (std::string_view row : missing) {
    Service s = default_row(row, file);
    bool taken = std::any_of(m.services.begin(), m.services.end(), [&](const Service& o) {
      return o.endpoint == s.endpoint && o.type == s.type;
    });
    if (taken) {  // e.g. "local unix ... pipe": the name is used by a row we ignore
      table.notices.push_back(
          {file, 0, false,
           fmt::format("no {} service runs the {} command and the name is taken: {}", s.endpoint,
                       s.command,
                       s.command == "bounce"
                           ? "no notice is ever sent, undeliverable mail stays deferred"
                           : "mail for it is never delivered")});
      continue;
    }
    rows.push_back(fmt::format("\"{}\"", row));
    names.push_back(s.command);
    ServiceRole role = s.command == "qmgr"      ? ServiceRole::Qmgr
                       : s.command == "bounce"  ? ServiceRole::Bounce
                       : s.command == "virtual" ? ServiceRole::Virtual
                                                : ServiceRole::Local;
    table.services.push_back({std::move(s), role, true});
  }
  // "a", "a and b", "a, b and c".
  auto joined = [](const std::vector<std::string>& items) {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      out += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + items[i];
    }
    return out;
  };
  if (!rows.empty()) {
    table.notices.push_back(
        {file, 0, false,
         fmt::format("no {} service: added {} (without {} mail is never delivered)",
                     joined(names), joined(rows), names.size() == 1 ? "it" : "them")});
  }
  return table;
}

bool is_delivery_agent(ServiceRole role) {
  return role == ServiceRole::Local || role == ServiceRole::Virtual || role == ServiceRole::Smtp;
}

std::set<std::string, std::less<>> agent_transports(const ServiceTable& table) {
  std::set<std::string, std::less<>> out;
  for (const PlannedService& p : table.services) {
    if (is_delivery_agent(p.role)) out.insert(p.service.endpoint);
  }
  return out;
}

std::string notice_text(const Diagnostic& d) {
  if (d.line > 0) {
    return fmt::format("{}:{}: {}", d.file, d.line, d.message);
  }
  return fmt::format("{}: {}", d.file, d.message);
}

std::string postconf_m_line(const Service& s) {
  // Postfix's postconf -M: each column starts at its position unless the text before it is
  // longer; then one space separates them.
  constexpr std::array<size_t, kColumns> kPositions = {0, 11, 17, 25, 33, 41, 49, 57};
  std::vector<std::string> columns = s.columns;
  if (columns.size() != kColumns) {  // a Service built by hand
    columns = {s.endpoint,
               s.type,
               s.is_private ? "y" : "n",
               s.unprivileged ? "y" : "n",
               s.chroot ? "y" : "n",
               s.wakeup.empty() ? "-" : s.wakeup,
               s.max_process.empty() ? "-" : s.max_process,
               s.command};
  }
  std::string line;
  for (size_t i = 0; i < kColumns; ++i) {
    if (i > 0) {
      line.append(line.size() < kPositions[i] ? kPositions[i] - line.size() : 1, ' ');
    }
    line += columns[i];
  }
  for (const std::string& a : s.arguments) {
    line += " " + a;
  }
  return line;
}

MasterCf parse_master_cf(std::string_view text, std::string filename) {
  MasterCf out;
  LexedText lexed = split_logical_lines(text);
  for (const LexWarning& w : lexed.warnings) {
    out.diagnostics.push_back({filename, w.line, false, w.message});
  }
  for (const LogicalLine& l : lexed.lines) {
    Result<Service> s = parse_service(l, filename);
    if (!s.ok()) {
      out.diagnostics.push_back({filename, l.line, true, s.error().message});
      out.ok = false;
      continue;
    }
    auto dup = std::find_if(out.services.begin(), out.services.end(), [&](const Service& o) {
      return o.endpoint == s->endpoint && o.type == s->type;
    });
    if (dup != out.services.end()) {
      out.diagnostics.push_back({filename, l.line, true,
                                 fmt::format("duplicate service: {} {} (first at line {})",
                                             s->endpoint, s->type, dup->line)});
      out.ok = false;
      continue;
    }
    out.services.push_back(std::move(s.value()));
  }
  return out;
}

MasterCf load_master_cf(const std::string& config_dir) {
  std::string path = config_dir + "/master.cf";
  Result<std::string> text = read_config_file(path);
  if (!text.ok()) {
    if (text.error().code == ENOENT) {
      return parse_master_cf(kDefaultMasterCf, std::string(kDefaultMasterCfName));
    }
    MasterCf out;
    out.ok = false;
    out.diagnostics.push_back({path, 0, true, text.error().message});
    return out;
  }
  return parse_master_cf(*text, path);
}

Result<std::vector<ListenAddress>> listen_addresses(const Service& s, const Config& c) {
  if (s.type != "inet") {
    return make_error(fmt::format("{}: not an inet service ({})", s.endpoint, s.type));
  }
  std::string_view ep = s.endpoint;
  std::optional<std::string> host;
  std::string_view port_text = ep;
  if (!ep.empty() && ep.front() == '[') {
    size_t close = ep.find(']');
    if (close == std::string_view::npos || close + 1 >= ep.size() || ep[close + 1] != ':') {
      return make_error(fmt::format("{}: expected [address]:port", s.endpoint));
    }
    host = std::string(ep.substr(1, close - 1));
    port_text = ep.substr(close + 2);
  } else if (size_t colon = ep.rfind(':'); colon != std::string_view::npos) {
    host = std::string(ep.substr(0, colon));
    port_text = ep.substr(colon + 1);
  }
  Result<uint16_t> port = parse_port(port_text);
  if (!port.ok()) {
    return make_error(fmt::format("{}: {}", s.endpoint, port.error().message));
  }

  bool v4 = false;
  bool v6 = false;
  for (const std::string& p : c.get_list("inet_protocols")) {
    v4 = v4 || p == "all" || p == "ipv4";
    v6 = v6 || p == "all" || p == "ipv6";
  }
  std::vector<std::string> hosts;
  auto add_loopback = [&] {
    if (v4) {
      hosts.emplace_back("127.0.0.1");
    }
    if (v6) {
      hosts.emplace_back("::1");
    }
  };
  std::vector<std::string> items =
      host ? std::vector<std::string>{*host} : c.get_list("inet_interfaces");
  for (std::string item : items) {
    if (item.size() >= 2 && item.front() == '[' && item.back() == ']') {
      item = item.substr(1, item.size() - 2);
    }
    if (item == "all" && !host) {
      if (v4) {
        hosts.emplace_back("0.0.0.0");
      }
      if (v6) {
        hosts.emplace_back("::");
      }
    } else if ((item == "loopback-only" && !host) || item == "localhost") {
      add_loopback();
    } else if (is_ipv4(item) || is_ipv6(item)) {
      hosts.push_back(item);
    } else {
      return make_error(fmt::format("{}: \"{}\" is not a numeric IP address", s.endpoint, item));
    }
  }
  std::vector<ListenAddress> out;
  for (std::string& h : hosts) {
    bool seen =
        std::any_of(out.begin(), out.end(), [&](const ListenAddress& a) { return a.host == h; });
    if (!seen) {
      out.push_back({std::move(h), port.value()});
    }
  }
  if (out.empty()) {
    return make_error(fmt::format("{}: no address to listen on", s.endpoint));
  }
  return out;
}

long long max_sessions(const Service& s, const Config& c) {
  if (s.max_process == "-" || s.max_process.empty()) {
    return c.get_int("default_process_limit");
  }
  Result<long long> v = parse_integer(s.max_process);
  return v.ok() ? v.value() : c.get_int("default_process_limit");
}

}  // namespace estafeta::config
