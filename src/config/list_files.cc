// "/file/name" items of list parameters; see list_files.h.
#include "config/list_files.h"

#include <algorithm>
#include <array>

namespace estafeta::config {
namespace {

constexpr int kMaxDepth = 8;

// Postfix's match-list parameters (sorted), whether or not Estafeta implements each yet.
constexpr std::array<std::string_view, 17> kMatchLists = {
    "authorized_flush_users",
    "authorized_mailq_users",
    "authorized_submit_users",
    "debug_peer_list",
    "fast_flush_domains",
    "local_header_rewrite_clients",
    "mydestination",
    "mynetworks",
    "permit_mx_backup_networks",
    "qmqpd_authorized_clients",
    "relay_domains",
    "smtp_connection_cache_destinations",
    "smtpd_client_event_limit_exceptions",
    "smtpd_forbid_bare_newline_exclusions",
    "smtpd_sasl_exceptions_networks",
    "virtual_alias_domains",
    "virtual_mailbox_domains",
};
static_assert(std::is_sorted(kMatchLists.begin(), kMatchLists.end()));

size_t bang_count(std::string_view item) {
  size_t n = 0;
  while (n < item.size() && item[n] == '!') ++n;
  return n;
}

bool is_file_item(std::string_view item) {
  size_t bangs = bang_count(item);
  return bangs < item.size() && item[bangs] == '/';
}

bool is_separator(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == '\v' || c == '\f';
}

Status expand_into(const std::vector<std::string>& items, const ListFileReader& read, int depth,
                   bool negate, std::vector<std::string>& out) {
  for (const std::string& item : items) {
    size_t bangs = bang_count(item);
    bool negated = ((bangs % 2) == 1) != negate;
    if (!is_file_item(item)) {
      std::string plain = item.substr(bangs);
      out.push_back(negated ? "!" + plain : plain);
      continue;
    }
    std::string path = item.substr(bangs);
    if (depth >= kMaxDepth) {
      return make_error(path + ": list files nested more than " + std::to_string(kMaxDepth) +
                        " deep");
    }
    Result<std::string> text = read(path);
    if (!text.ok()) return make_error(path + ": " + text.error().message, text.error().code);
    Status nested = expand_into(parse_list_file(*text), read, depth + 1, negated, out);
    if (!nested.ok()) return nested;
  }
  return {};
}

}  // namespace

bool expands_list_files(std::string_view parameter) {
  return std::binary_search(kMatchLists.begin(), kMatchLists.end(), parameter);
}

bool has_list_file(const std::vector<std::string>& items) {
  return std::any_of(items.begin(), items.end(),
                     [](const std::string& item) { return is_file_item(item); });
}

std::vector<std::string> parse_list_file(std::string_view text) {
  std::vector<std::string> items;
  std::string current;
  bool comment = false;
  for (char c : text) {
    if (comment) {
      comment = c != '\n';
      continue;
    }
    if (c == '#') {
      comment = true;
    } else if (!is_separator(c)) {
      current.push_back(c);
      continue;
    }
    if (!current.empty()) items.push_back(std::move(current));
    current.clear();
  }
  if (!current.empty()) items.push_back(std::move(current));
  return items;
}

Result<std::vector<std::string>> expand_list_files(const std::vector<std::string>& items,
                                                   const ListFileReader& read) {
  std::vector<std::string> out;
  Status st = expand_into(items, read, 0, false, out);
  if (!st.ok()) return st.error();
  return out;
}

}  // namespace estafeta::config
