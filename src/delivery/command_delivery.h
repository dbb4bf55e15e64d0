// Running a delivery command (an alias's |command, mailbox_command, a .forward's |command)
// in a delivery child that already runs as the recipient (delivery/privileged_delivery.h):
// /bin/sh -c <command> in its own session and process group, with exactly the task's
// environment, in the task's working directory (else "/"), the message on standard input
// (EPIPE ignored: a command may stop reading), standard output and error captured (the first
// KB kept for the result), the whole process group killed at the time limit. The outcome
// follows delivery/sys_exits.h. Blocking; single-threaded callers only (forks).
#pragma once

#include <string_view>

#include "delivery/delivery_task.h"

namespace estafeta::delivery {

/// Runs `task` (kind Command) with `message` on standard input.
TaskResult run_delivery_command(const DeliveryTask& task, std::string_view message);

}  // namespace estafeta::delivery
