// AddressFacts (restriction_evaluator.h) for an envelope address from the address resolver,
// as policy/recipient_check.h decides them for RCPT: the address in canonical form, its class
// (route::resolve), whether it is an authorized destination (permit_auth_destination: local,
// virtual alias, virtual mailbox or relay domain, without sender-specified routing), whether
// we are its final destination, and whether it is source-routed. The reject_unlisted_* facts
// (listed, unlisted_code, unlisted_table) are left at "listed": the caller sets them from its
// recipient table check. Pure; may block on a remote domain table like route::resolve.
#pragma once

#include <string_view>

#include "policy/restriction_evaluator.h"
#include "route/route_settings.h"

namespace estafeta::policy {

AddressFacts resolve_address_facts(const route::RouteSettings& route, std::string_view address);

}  // namespace estafeta::policy
