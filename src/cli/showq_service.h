// The showq service (`estafeta showq`, master.cf `showq unix n - n - - showq`, as Postfix's):
// lets users who cannot read the queue list it. Runs as mail_owner and listens on
// public/showq (mode 0666); a client (`mailq`, `estafeta queue list` run by an ordinary
// user) sends one request line, "list" or "list -j", and reads the listing until the
// service closes the connection. Each request is answered by a forked child of this
// single-threaded service that runs the same listing code with the connection as its
// standard output, so one slow reader never holds up another.
#pragma once

#include <string>
#include <vector>

namespace estafeta::cli {

inline constexpr const char* kShowqSocket = "public/showq";

/// `estafeta showq -n NAME -t unix ...`: returns the exit code.
int run_showq_service(const std::string& config_dir, const std::vector<std::string>& args);

/// The client side: sends `request` ("list" or "list -j") to <queue_directory>/public/showq
/// and copies the answer to standard output. Returns false (errno set) when nobody answers.
bool list_through_showq(const std::string& queue_directory, const std::string& request);

}  // namespace estafeta::cli
