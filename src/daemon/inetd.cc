// inetd mode (see inetd.h).
#include "daemon/inetd.h"

#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <cstring>

#include "daemon/privileges.h"
#include "daemon/runtime.h"
#include "daemon/message_store.h"
#include "daemon/smtpd_session.h"
#include "submit/policy_tables.h"

namespace estafeta::daemon {
namespace {

// The inetd peer when stdin is a TCP socket (its names are not looked up: "unknown");
// otherwise a local submission.
smtp::ClientInfo stdin_client() {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(STDIN_FILENO, reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
      (addr.ss_family == AF_INET || addr.ss_family == AF_INET6)) {
    asio::ip::tcp::endpoint endpoint;
    std::memcpy(endpoint.data(), &addr, len);
    auto address = endpoint.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    return {address.to_string(), "unknown", endpoint.port()};
  }
  // As Postfix for a client that is not on the network: "localhost", known.
  smtp::ClientInfo local{"127.0.0.1", "localhost", 0};
  local.reverse_hostname = "localhost";
  local.hostname_status = local.reverse_hostname_status = smtp::NameStatus::Ok;
  return local;
}

}  // namespace

int run_inetd_session(const std::string& config_dir) {
  // main.cf only (no master.cf row, no TLS over a pipe), with its tables.
  std::string report;
  auto runtime = load_smtpd_runtime(config_dir, {}, "-", false, &report);
  std::fputs(report.c_str(), stderr);
  if (!runtime.ok()) return 1;
  const auto& config = *runtime->config;
  std::string error;
  std::shared_ptr<log::Sink> sink;
  if (!config.get("maillog_file").empty()) {
    sink = log::make_file_sink(config.get("maillog_file"), config.get("myhostname"), &error);
  }
  if (!sink) sink = log::make_syslog_sink();
  log::Logger log(sink, config.get("syslog_name") + "/smtpd");
  auto fatal = [&](const std::string& text) {
    log.fatal(text);
    std::fprintf(stderr, "estafeta: fatal: %s\n", text.c_str());
    return 1;
  };
  if (auto dropped = drop_privileges(runtime->mail_owner); !dropped.ok()) {
    return fatal(dropped.error().message);
  }
  // Root (now mail_owner) and the queue's owner write the queue; any other user goes
  // through the maildrop directory and pickup, under the submit policy.
  std::unique_ptr<queue::Spool> spool;
  std::unique_ptr<MessageStore> store;
  submit::OpenedSubmitPolicy policy;
  const std::string incoming = runtime->queue_directory + "/incoming";
  if (::access(incoming.c_str(), W_OK) == 0) {
    auto opened = queue::Spool::open({runtime->queue_directory, 2});
    if (!opened.ok()) return fatal(opened.error().message);
    spool = std::move(*opened);
    store = std::make_unique<SpoolStore>(*spool);
  } else {
    policy = submit::open_submit_policy(config);
    if (!policy.ok()) return fatal(policy.errors.front());
    MaildropStore::Options options;
    options.queue_directory = runtime->queue_directory;
    const passwd* pw = ::getpwuid(::getuid());
    options.login = pw != nullptr ? pw->pw_name : "uid:" + std::to_string(::getuid());
    options.myorigin = config.get("myorigin");
    if (policy.policy.may_submit(options.login) != policy::Match::Yes) {
      return fatal(options.login + " is not allowed to submit mail (authorized_submit_users)");
    }
    store = std::make_unique<MaildropStore>(std::move(options), policy.policy);
  }
  asio::io_context io(1);
  SmtpdSettings settings = *runtime->settings;
  settings.session.starttls_available = false;  // no TLS over a pipe
  settings.session.tls_required = false;
  settings.greet_pause = std::chrono::seconds(0);  // no pregreet test for a local submitter
  std::unique_ptr<maps::LookupPool> lookups;
  if (settings.has_remote_tables()) lookups = std::make_unique<maps::LookupPool>(1);
  SessionEnvironment env{io, log, *store, settings, nullptr, lookups.get()};
  std::unique_ptr<DovecotAuthClient> sasl;
  if (settings.sasl.enabled) {
    sasl = std::make_unique<DovecotAuthClient>(io, settings.sasl.path, log);
    env.sasl = sasl.get();
  }
  asio::co_spawn(io,
                 run_smtp_session(env, net::make_stdio_transport(io, STDIN_FILENO, STDOUT_FILENO),
                                  stdin_client()),
                 asio::detached);
  io.run();
  return 0;
}

}  // namespace estafeta::daemon
