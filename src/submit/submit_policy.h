// Who may submit mail locally and with which envelope sender, as Postfix's
// authorized_submit_users (default static:anyone) and local_login_sender_maps (default
// static:*, Postfix 3.6) decide. authorized_submit_users is a list of login names, "!name"
// to refuse one, and tables searched by login name (any value means yes); the first item
// that matches decides (the names first, then the tables), and no match refuses. local_login_sender_maps are tables searched by
// login name (or "uid:N") that return the allowed senders separated by space or comma: "*"
// any, "<>" the null sender, "@domain" any address at the domain, or an address. Checked by
// sendmail (to answer the user at once) and by pickup (the authority, which knows the file's
// owner). Tables are borrowed from a maps::MapSet that must outlive the policy.
#pragma once

#include <string>
#include <vector>

#include "maps/map.h"
#include "policy/address_list.h"

namespace estafeta::submit {

class SubmitPolicy {
 public:
  struct Lists {
    std::vector<std::string> authorized_users;  // literal items of authorized_submit_users
    std::vector<const maps::Map*> authorized_tables;
    std::vector<const maps::Map*> sender_tables;  // local_login_sender_maps
  };
  SubmitPolicy() = default;
  explicit SubmitPolicy(Lists lists) : lists_(std::move(lists)) {}

  /// May `login` submit at all?
  policy::Match may_submit(const std::string& login) const;
  /// May `login` use `sender` (qualified, "" for the null sender) as envelope sender?
  policy::Match may_use_sender(const std::string& login, const std::string& sender) const;

 private:
  Lists lists_;
};

}  // namespace estafeta::submit
