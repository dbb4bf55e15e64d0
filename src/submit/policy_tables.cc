// Submit policy tables (see policy_tables.h).
#include "submit/policy_tables.h"

#include <fmt/format.h>

#include "policy/address_list.h"

namespace estafeta::submit {

OpenedSubmitPolicy open_submit_policy(const config::Config& config) {
  OpenedSubmitPolicy out;
  auto users = policy::split_list_items(config.get_list("authorized_submit_users"));
  auto senders = policy::split_list_items(config.get_list("local_login_sender_maps"));
  for (const auto& literal : senders.literals) {
    out.errors.push_back(
        fmt::format("local_login_sender_maps: {} is not a type:name table", literal));
  }
  std::vector<std::string> specs = users.tables;
  specs.insert(specs.end(), senders.tables.begin(), senders.tables.end());
  auto opened = maps::MapSet::open(specs);
  out.errors.insert(out.errors.end(), opened.errors.begin(), opened.errors.end());
  out.tables = opened.set;
  SubmitPolicy::Lists lists;
  lists.authorized_users = users.literals;
  for (const auto& spec : users.tables) {
    if (const maps::Map* m = out.tables->find(spec)) lists.authorized_tables.push_back(m);
  }
  for (const auto& spec : senders.tables) {
    if (const maps::Map* m = out.tables->find(spec)) lists.sender_tables.push_back(m);
  }
  out.policy = SubmitPolicy(std::move(lists));
  return out;
}

}  // namespace estafeta::submit
