// smtpd's client name lookups: see client_names.h.
#include "daemon/client_names.h"

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "policy/client_name.h"

namespace estafeta::daemon {
namespace {

using HostAnswer = outbound::DnsAnswer<outbound::HostAddress>;

// The address answers of `names`, asked all at once; answers[i] is that of names[i].
asio::awaitable<std::vector<HostAnswer>> look_up_all(asio::io_context& io,
                                                     outbound::DnsResolver& resolver,
                                                     const std::vector<std::string>& names,
                                                     outbound::Families families) {
  struct Gather {
    explicit Gather(asio::io_context& io)
        : timer(io, std::chrono::steady_clock::time_point::max()) {}
    asio::steady_timer timer;  // cancelled when the last answer is in
    std::vector<HostAnswer> answers;
    size_t left = 0;
  };
  auto gather = std::make_shared<Gather>(io);
  gather->answers.resize(names.size());  // a lookup that ends in an exception stays TempFail
  gather->left = names.size();
  for (size_t i = 0; i < names.size(); ++i) {
    asio::co_spawn(io, resolver.addresses(names[i], families),
                   [gather, i](std::exception_ptr error,
                               outbound::DnsAnswer<asio::ip::address> answer) {
                     if (!error) gather->answers[i] = outbound::to_host_addresses(answer);
                     if (--gather->left == 0) gather->timer.cancel();
                   });
  }
  while (gather->left > 0) {
    co_await gather->timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
  co_return std::move(gather->answers);
}

void copy_names(const policy::ClientNames& names, smtp::ClientInfo& client) {
  client.hostname = names.name;
  client.hostname_status = names.name_status;
  client.reverse_hostname = names.reverse_name;
  client.reverse_hostname_status = names.reverse_name_status;
}

}  // namespace

asio::awaitable<smtp::ClientInfo> look_up_client_names(asio::io_context& io,
                                                       outbound::DnsResolver& resolver,
                                                       const log::Logger& log,
                                                       smtp::ClientInfo client) {
  std::error_code error;
  asio::ip::address address = asio::ip::make_address(client.address, error);
  if (error) {
    copy_names(policy::ClientNames{}, client);
    co_return client;
  }
  outbound::DnsAnswer<std::string> ptr = co_await resolver.ptr(address);
  policy::ReverseNames reverse = policy::reverse_names(ptr);
  std::vector<HostAnswer> forward = co_await look_up_all(
      io, resolver, reverse.names, policy::forward_families(client.address));
  policy::ClientNames names = policy::client_names(client.address, reverse, forward);
  for (const std::string& warning : names.warnings) log.warning(warning);
  copy_names(names, client);
  co_return client;
}

}  // namespace estafeta::daemon
