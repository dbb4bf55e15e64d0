// Config: main.cf settings over parameters.def defaults, expanded and validated once at
// build time so every accessor is a map lookup; see config.h.
#include "config/config.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>

#include "base/assert.h"
#include "config/expand.h"
#include "config/main_cf.h"
#include "config/parameters.h"
#include "config/transport_parameters.h"

namespace estafeta::config {
namespace {

constexpr std::string_view kDefaultConfigDir = "/etc/estafeta";

/// myhostname minus its first label; "localdomain" for a single label (Postfix).
std::string domain_of(std::string_view host) {
  size_t dot = host.find('.');
  if (dot == std::string_view::npos || dot + 1 >= host.size()) {
    return "localdomain";
  }
  return std::string(host.substr(dot + 1));
}

std::string format_line(std::string_view name, std::string_view value) {
  if (value.empty()) {
    return fmt::format("{} =\n", name);
  }
  return fmt::format("{} = {}\n", name, value);
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

Result<std::string> read_config_file(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) {
    const int code = errno;
    return make_error(fmt::format("cannot open: {}", std::strerror(code)), code);
  }
  std::string text;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f.get())) > 0) {
    text.append(buf, n);
  }
  if (std::ferror(f.get())) {
    return make_error("read error", EIO);
  }
  return text;
}

std::string system_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') {
    return "localhost";
  }
  return buf;
}

std::string embedded_main_cf(unsigned uid, unsigned gid) {
  if (uid == 0) uid = kEmbeddedRootOwner;
  if (gid == 0) gid = kEmbeddedRootOwner;
  std::string text = fmt::format(
      "# The embedded default main.cf (no main.cf in the configuration directory).\n"
      "# The local domains are virtual mailbox domains: mail to any local part that is a safe\n"
      "# directory name goes to var/mail/<localpart>/Maildir/ (no system account needed).\n"
      "mydestination =\n"
      "local_recipient_maps =\n"
      "virtual_mailbox_domains = $myhostname, localhost.$mydomain, localhost\n"
      "virtual_mailbox_base = var/mail\n"
      "virtual_mailbox_maps = pcre:{{{{/^([^.\\/[:cntrl:] @][^\\/[:cntrl:] @]{{0,63}})@[^@]+$$/ "
      "$${{1}}/Maildir/}}}}\n"
      "virtual_uid_maps = static:{}\n"
      "virtual_gid_maps = static:{}\n",
      uid, gid);
  // A demo run by a system account below Postfix's minimum still delivers.
  if (uid < 100) text += fmt::format("virtual_minimum_uid = {}\n", uid);
  return text;
}

Config Config::defaults() {
  LoadResult r = parse("", std::string(kDefaultConfigDir) + "/main.cf",
                       std::string(kDefaultConfigDir), system_hostname());
  // Invariant: the embedded defaults are valid (parameters_test checks every default).
  ESTAFETA_CHECK(r.config.has_value());
  return std::move(*r.config);
}

LoadResult Config::parse(std::string_view main_cf_text, std::string filename,
                         std::string config_dir, std::string hostname,
                         ListFileReader read_list_file) {
  MainCfText text = parse_main_cf(main_cf_text, filename);
  Config draft;
  draft.read_list_file_ = std::move(read_list_file);
  draft.config_dir_ = std::move(config_dir);
  draft.main_cf_file_ = filename;
  if (hostname.empty()) {
    hostname = "localhost";
  }
  if (hostname.find('.') == std::string::npos) {
    hostname += ".localdomain";
  }
  draft.machine_hostname_ = std::move(hostname);
  for (Assignment& a : text.assignments) {
    auto it = draft.settings_.find(a.name);
    if (it != draft.settings_.end()) {
      text.diagnostics.push_back({filename, a.line, false,
                                  fmt::format("overriding earlier entry: {} = {} (line {})", a.name,
                                              it->second.value, it->second.line)});
      it->second = Setting{std::move(a.value), filename, a.line, false};
    } else {
      draft.settings_.emplace(a.name, Setting{std::move(a.value), filename, a.line, false});
    }
  }
  return build(std::move(draft), std::move(text.diagnostics), false);
}

LoadResult Config::load(const std::string& config_dir) {
  std::string path = config_dir + "/main.cf";
  Result<std::string> text = read_config_file(path);
  if (!text.ok()) {
    if (text.error().code == ENOENT) {
      return parse(embedded_main_cf(::geteuid(), ::getegid()), "(embedded default main.cf)",
                   config_dir, system_hostname(), read_config_file);
    }
    return LoadResult{std::nullopt, {{path, 0, true, text.error().message}}};
  }
  return parse(*text, path, config_dir, system_hostname(), read_config_file);
}

LoadResult Config::with_overrides(const std::vector<std::pair<std::string, std::string>>& o) const {
  Config draft = *this;
  draft.expanded_.clear();
  std::vector<Diagnostic> diagnostics;
  std::string file = config_dir_ + "/master.cf";
  for (const auto& [name, value] : o) {
    if (!is_parameter_name(name)) {
      diagnostics.push_back({file, 0, true, fmt::format("-o: bad parameter name: \"{}\"", name)});
      continue;
    }
    draft.settings_[name] = Setting{value, file, 0, true};
  }
  return build(std::move(draft), std::move(diagnostics), true);
}

std::optional<std::string> Config::default_raw(std::string_view name) const {
  const ParamSpec* spec = find_parameter(name);
  if (spec == nullptr) {
    return std::nullopt;
  }
  if (!spec->computed) {
    return std::string(spec->default_value);
  }
  if (name == "myhostname") {
    return machine_hostname_;
  }
  if (name == "mydomain") {
    return mydomain_default_;
  }
  if (name == "config_directory") {
    return config_dir_;
  }
  ESTAFETA_CHECK(false && "computed parameter without a computation");
  return std::nullopt;
}

std::optional<std::string> Config::raw_value(std::string_view name) const {
  if (auto it = settings_.find(name); it != settings_.end()) {
    return it->second.value;
  }
  return default_raw(name);
}

LoadResult Config::build(Config draft, std::vector<Diagnostic> diagnostics, bool overrides_only) {
  auto lookup = [&draft](std::string_view name) { return draft.raw_value(name); };

  // Postfix derives mydomain from the final myhostname; while myhostname itself is being
  // expanded, $mydomain means the machine's domain (as in mail_params.c).
  draft.mydomain_default_ = domain_of(draft.machine_hostname_);
  if (draft.settings_.count("myhostname") != 0 && draft.settings_.count("mydomain") == 0) {
    Expander bootstrap(lookup);
    Result<std::string> host = bootstrap.expand_parameter("myhostname");
    if (host.ok()) {
      draft.mydomain_default_ = domain_of(host.value());
    }
  }

  // Postfix does not warn about a user-defined parameter that another value references.
  std::set<std::string, std::less<>> referenced;
  for (const auto& [name, setting] : draft.settings_) {
    for (std::string& r : referenced_names(setting.value)) {
      referenced.insert(std::move(r));
    }
  }
  for (const ParamSpec& p : all_parameters()) {
    for (std::string& r : referenced_names(p.default_value)) {
      referenced.insert(std::move(r));
    }
  }
  // Nor about a restriction class: smtpd_restriction_classes names it.
  if (std::optional<std::string> classes = draft.raw_value("smtpd_restriction_classes")) {
    std::string_view rest = *classes;
    while (!rest.empty()) {
      size_t start = rest.find_first_not_of(", \t\r\n");
      if (start == std::string_view::npos) break;
      rest.remove_prefix(start);
      size_t end = rest.find_first_of(", \t\r\n");
      referenced.emplace(rest.substr(0, end));
      rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    }
  }

  Expander expander(lookup);
  std::vector<Diagnostic> found;
  for (const auto& [name, setting] : draft.settings_) {
    const ParamSpec* spec = find_parameter(name);
    // <transport>_destination_concurrency_limit and the like: validated as their default_
    // counterpart (config/transport_parameters.h).
    std::optional<TransportParameter> per_transport;
    if (spec == nullptr) per_transport = split_transport_parameter(name);
    const ParamSpec* validate_as = per_transport ? per_transport->like : spec;
    if (spec == nullptr && !per_transport && referenced.count(name) == 0 &&
        (!overrides_only || setting.from_override)) {
      std::string message = fmt::format("unknown parameter: {}", name);
      if (std::optional<std::string_view> s = suggest_parameter(name)) {
        message += fmt::format(" (did you mean {}?)", *s);
      }
      found.push_back({setting.file, setting.line, false, std::move(message)});
    }
    // A known parameter nothing acts on yet: say so rather than ignore it silently. (Unless
    // another value uses it as $name: then the setting does have an effect.)
    if (spec != nullptr && !spec->implemented && referenced.count(name) == 0 &&
        (!overrides_only || setting.from_override)) {
      found.push_back({setting.file, setting.line, false,
                       fmt::format("parameter {} is not implemented yet and is ignored", name)});
    }
    Result<std::string> value = expander.expand_parameter(name);
    if (!value.ok()) {
      found.push_back(
          {setting.file, setting.line, true, fmt::format("{}: {}", name, value.error().message)});
      continue;
    }
    if (validate_as != nullptr) {
      Status valid = validate_value(*validate_as, value.value());
      if (!valid.ok()) {
        found.push_back({setting.file, setting.line, true,
                         fmt::format("bad value for {}: \"{}\": {}", name, value.value(),
                                     valid.error().message)});
        continue;
      }
    }
    if (spec != nullptr && (!overrides_only || setting.from_override)) {
      for (const std::string& item : unimplemented_items(*spec, value.value())) {
        found.push_back({setting.file, setting.line, false,
                         fmt::format("{}: {} is not implemented yet and is ignored", name, item)});
      }
    }
    draft.expanded_.emplace(name, std::move(value.value()));
  }
  bool error =
      std::any_of(diagnostics.begin(), diagnostics.end(),
                  [](const Diagnostic& d) { return d.is_error; }) ||
      std::any_of(found.begin(), found.end(), [](const Diagnostic& d) { return d.is_error; });

  // Defaults can only fail through a setting they reference; report that only when no
  // setting already explains the failure.
  for (const ParamSpec& p : all_parameters()) {
    if (draft.settings_.count(p.name) != 0) {
      continue;
    }
    Result<std::string> value = expander.expand_parameter(p.name);
    Status valid = value.ok() ? validate_value(p, value.value()) : Status(value.error());
    if (!valid.ok()) {
      if (!error) {
        found.push_back({draft.main_cf_file_, 0, true,
                         fmt::format("default value of {}: {}", p.name, valid.error().message)});
      }
      error = true;
      continue;
    }
    draft.expanded_.emplace(std::string(p.name), std::move(value.value()));
  }

  // Match lists that name files ("mydestination = /etc/mail/local-host-names"): read them
  // now, so that an unreadable file stops the start (or the reload) like any bad value.
  draft.list_items_.clear();
  std::set<std::string, std::less<>> reported;  // a file shared by several lists: once
  for (const auto& [name, value] : draft.expanded_) {
    if (!expands_list_files(name)) continue;
    std::vector<std::string> items = split_list(value);
    if (!has_list_file(items)) continue;
    Result<std::vector<std::string>> expanded =
        draft.read_list_file_ ? expand_list_files(items, draft.read_list_file_)
                              : Result<std::vector<std::string>>(
                                    make_error("list files are read only by Config::load"));
    if (expanded.ok()) {
      draft.list_items_.emplace(name, std::move(*expanded));
      continue;
    }
    error = true;
    if (!reported.insert(expanded.error().message).second) continue;
    auto setting = draft.settings_.find(name);
    bool located = setting != draft.settings_.end();
    found.push_back({located ? setting->second.file : draft.main_cf_file_,
                     located ? setting->second.line : 0, true,
                     fmt::format("{}: {}", name, expanded.error().message)});
  }

  diagnostics.insert(diagnostics.end(), std::make_move_iterator(found.begin()),
                     std::make_move_iterator(found.end()));
  // File order for the reader; diagnostics without a line stay last.
  std::stable_sort(diagnostics.begin(), diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return a.line != 0 && (b.line == 0 || a.line < b.line);
                   });
  LoadResult result;
  result.diagnostics = std::move(diagnostics);
  if (!error) {
    result.config = std::move(draft);
  }
  return result;
}

std::string Config::get(std::string_view name) const {
  auto it = expanded_.find(name);
  return it == expanded_.end() ? std::string() : it->second;
}

long long Config::get_int(std::string_view name) const {
  Result<long long> v = parse_integer(get(name));
  return v.ok() ? v.value() : 0;
}

bool Config::get_bool(std::string_view name) const {
  Result<bool> v = parse_bool(get(name));
  return v.ok() && v.value();
}

long long Config::get_seconds(std::string_view name) const {
  Result<long long> v = parse_seconds(get(name));
  return v.ok() ? v.value() : 0;
}

std::vector<std::string> Config::get_list(std::string_view name) const {
  if (auto it = list_items_.find(name); it != list_items_.end()) return it->second;
  return split_list(get(name));
}

bool Config::is_known(std::string_view name) const { return find_parameter(name) != nullptr; }

bool Config::is_set(std::string_view name) const { return settings_.count(name) != 0; }

std::vector<std::string> Config::set_names() const {
  std::vector<std::string> names;
  for (const auto& [name, setting] : settings_) {
    names.push_back(name);
  }
  return names;
}

std::string Config::postconf_n() const {
  std::string out;
  for (const auto& [name, setting] : settings_) {
    out += format_line(name, setting.value);
  }
  return out;
}

std::string Config::postconf_d() const {
  std::string out;
  for (const ParamSpec& p : all_parameters()) {
    std::string value;
    if (p.name == "mydomain") {
      value = domain_of(machine_hostname_);  // independent of main.cf, like postconf -d
    } else {
      value = default_raw(p.name).value_or("");
    }
    out += format_line(p.name, value);
  }
  return out;
}

std::string Config::postconf_line(std::string_view name, bool expand) const {
  if (!is_known(name) && !is_set(name)) {
    return "";
  }
  return format_line(name, expand ? get(name) : raw_value(name).value_or(""));
}

}  // namespace estafeta::config
