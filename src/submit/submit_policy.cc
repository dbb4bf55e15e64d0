// Local submission policy (see submit_policy.h).
#include "submit/submit_policy.h"

#include "base/ascii.h"

namespace estafeta::submit {
namespace {

// Does the pattern from local_login_sender_maps allow `sender`?
bool sender_matches(std::string_view pattern, const std::string& sender) {
  if (pattern == "*") return true;
  if (pattern == "<>") return sender.empty();
  if (sender.empty()) return false;
  if (pattern.starts_with('@')) {
    const size_t at = sender.rfind('@');
    return at != std::string::npos && ascii::iequals(std::string_view(sender).substr(at), pattern);
  }
  return ascii::iequals(pattern, sender);
}

}  // namespace

policy::Match SubmitPolicy::may_submit(const std::string& login) const {
  for (const auto& item : lists_.authorized_users) {
    if (item.starts_with('!') && item.substr(1) == login) return policy::Match::No;
    if (item == login) return policy::Match::Yes;
  }
  for (const maps::Map* table : lists_.authorized_tables) {
    auto found = table->lookup(login);
    if (found.status == maps::LookupStatus::TempFail) return policy::Match::TempFail;
    if (found.status == maps::LookupStatus::Found) return policy::Match::Yes;
  }
  return policy::Match::No;
}

policy::Match SubmitPolicy::may_use_sender(const std::string& login,
                                           const std::string& sender) const {
  for (const maps::Map* table : lists_.sender_tables) {
    auto found = table->lookup(login);
    if (found.status == maps::LookupStatus::TempFail) return policy::Match::TempFail;
    if (found.status != maps::LookupStatus::Found) continue;
    std::string_view value = found.value;
    while (!value.empty()) {
      const size_t end = value.find_first_of(", \t");
      std::string_view pattern = value.substr(0, end);
      if (!pattern.empty() && sender_matches(pattern, sender)) return policy::Match::Yes;
      if (end == std::string_view::npos) break;
      value.remove_prefix(end + 1);
    }
    return policy::Match::No;  // the first table that knows the user decides
  }
  return policy::Match::No;
}

}  // namespace estafeta::submit
