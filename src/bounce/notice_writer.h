// Queues the notices of a NoticePlan (notice_plan.h) through a Spool, durably (file
// fdatasync, rename into active/, fsync of active/), and logs each as Postfix's bounce(8)
// does ("ID: sender non-delivery notification: NEWID"). Used by the bounce service for the
// queue manager's requests, and by pickup for a locally submitted message that the cleanup
// stage refuses permanently (Postfix: the submitter is told by a bounce, not by an error).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "bounce/notice_plan.h"
#include "log/logger.h"

namespace estafeta::queue {
class Spool;
}  // namespace estafeta::queue

namespace estafeta::bounce {

/// Writes every notice of `plan` about the message `about_id` whose content is `original`
/// and returns the new queue ids, in order. A required notice that cannot be written is an
/// error (the caller keeps the message and asks again later; notices written before it
/// stay); a postmaster copy that cannot is only logged. `plan.discarded` is logged.
Result<std::vector<std::string>> queue_notices(queue::Spool& spool, NoticePlan plan,
                                               std::string_view original,
                                               const std::string& about_id, const log::Logger& log);

}  // namespace estafeta::bounce
