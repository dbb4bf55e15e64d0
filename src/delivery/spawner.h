// The spawner process's loop (delivery/privileged_delivery.h): requests from the socket,
// a child per valid task, results back. Internal to the delivery module.
#pragma once

#include "delivery/delivery_task.h"

namespace estafeta::delivery {

/// Runs in the forked spawner until `socket` closes; returns the exit code. Closes every
/// other descriptor first. Every task must pass validate_task(task, policy). Never returns into the
/// caller's program state in any other way: the caller _exit()s with the code.
int run_spawner(int socket, bool privileged, TaskPolicy policy);

}  // namespace estafeta::delivery
