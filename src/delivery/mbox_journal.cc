// The mbox dot-lock journal's line format and recovery rule. See mbox_journal.h.
#include "delivery/mbox_journal.h"

#include <fmt/format.h>

#include <charconv>
#include <vector>

namespace estafeta::delivery {
namespace {

constexpr std::string_view kMagic = "estafeta-mbox-journal";
constexpr std::string_view kVersion = "1";

std::optional<uint64_t> number(std::string_view s) {
  uint64_t v = 0;
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

bool valid_boot_id(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-')) return false;
  }
  return true;
}

}  // namespace

std::string encode_mbox_journal(const MboxJournal& journal) {
  return fmt::format("{} {} {} {} {} {}\n", kMagic, kVersion, journal.boot_id, journal.pid,
                     journal.offset ? fmt::format("{}", *journal.offset) : "-",
                     journal.offset ? journal.length : 0);
}

std::optional<MboxJournal> parse_mbox_journal(std::string_view content) {
  const size_t end = content.find('\n');  // the first line; after it, an old line's tail
  if (end == std::string_view::npos) return std::nullopt;
  content = content.substr(0, end);
  std::vector<std::string_view> words;  // split at every space: an empty word is an error
  for (;;) {
    const size_t space = content.find(' ');
    words.push_back(content.substr(0, space));
    if (space == std::string_view::npos) break;
    content.remove_prefix(space + 1);
  }
  if (words.size() != 6 || words[0] != kMagic || words[1] != kVersion) return std::nullopt;
  MboxJournal j;
  if (!valid_boot_id(words[2])) return std::nullopt;
  j.boot_id = std::string(words[2]);
  auto pid = number(words[3]);
  if (!pid || *pid == 0 || *pid > 0x7fffffff) return std::nullopt;
  j.pid = static_cast<pid_t>(*pid);
  auto length = number(words[5]);
  if (!length) return std::nullopt;
  if (words[4] == "-") {
    if (*length != 0) return std::nullopt;
  } else {
    j.offset = number(words[4]);
    if (!j.offset) return std::nullopt;
    j.length = *length;
  }
  return j;
}

std::optional<uint64_t> mbox_cut_back_size(const MboxJournal& journal, uint64_t size,
                                           bool starts_message, bool same_boot) {
  if (!journal.offset || size <= *journal.offset || !starts_message) return std::nullopt;
  const bool complete = size >= *journal.offset + journal.length;
  if (!same_boot && complete) return std::nullopt;
  return *journal.offset;
}

}  // namespace estafeta::delivery
