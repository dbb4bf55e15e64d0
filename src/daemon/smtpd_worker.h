// The smtpd worker: one Asio event loop serving the listeners of one master.cf service (file
// descriptors the supervisor bound and passed across exec), with per-listener session limits
// and per-client connection counts. SIGTERM: stop now. SIGHUP: stop accepting and exit when
// the last session ends (the supervisor has already started a worker with the new
// configuration, which accepts on the same sockets: reload without dropping connections).
#pragma once

#include <asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "daemon/smtpd_settings.h"
#include "log/logger.h"

namespace estafeta::daemon {

struct Listener {
  int fd = -1;           // a bound, listening TCP socket
  std::string endpoint;  // "127.0.0.1:2525", for logs
  std::shared_ptr<const SmtpdSettings> settings;
  std::shared_ptr<asio::ssl::context> tls;  // loaded by the supervisor; null: no TLS
};

struct SmtpdWorkerOptions {
  std::vector<Listener> listeners;
  std::string queue_directory;  // absolute
  std::string mail_owner;       // privileges are dropped to it first when root
  std::string service = "smtp";  // the master.cf service name, in anvil's log lines and keys
  log::Logger log;
  // Called once: ok when the worker accepts (privileges dropped, spool open), else why it
  // cannot start (it then returns 1). May be empty.
  std::function<void(const Status&)> started;
};

/// Runs until a signal ends it; returns the process exit code.
int run_smtpd_worker(SmtpdWorkerOptions options);

}  // namespace estafeta::daemon
