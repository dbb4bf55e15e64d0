// Opens the tables of the submit policy named by main.cf (authorized_submit_users,
// local_login_sender_maps) and builds the SubmitPolicy that borrows them. Edge: opens files.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "maps/map_set.h"
#include "submit/submit_policy.h"

namespace estafeta::submit {

struct OpenedSubmitPolicy {
  std::shared_ptr<const maps::MapSet> tables;  // keeps the policy's tables alive
  SubmitPolicy policy;
  std::vector<std::string> errors;  // tables that could not be opened, or literal map items
  bool ok() const { return errors.empty(); }
};

OpenedSubmitPolicy open_submit_policy(const config::Config& config);

}  // namespace estafeta::submit
