// Test fixture: Debian's dnsmasq on 127.0.0.1 with a free port, serving the records a test
// gives as dnsmasq options ("mx-host=mx.test,a.test,10", "host-record=a.test,192.0.2.1",
// "txt-record=...", "dns-rr=NAME,52,HEX", "server=/slow.test/127.0.0.1#PORT"). Names under
// `.test` are answered from those records only (--local=/test/): an unknown one is
// NXDOMAIN, nothing is forwarded to a real nameserver. Stopped by pid. For tests only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace estafeta::outbound::testing {

class Dnsmasq {
 public:
  /// Starts dnsmasq and waits (at most 10 s) until it answers. Fails if dnsmasq is not
  /// installed or does not start; its log is then in the error.
  static Result<std::unique_ptr<Dnsmasq>> start(const std::vector<std::string>& records);
  ~Dnsmasq();
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;

  uint16_t port() const { return port_; }
  /// "127.0.0.1:PORT", for ResolverOptions::nameservers.
  std::string nameserver() const;
  /// What dnsmasq logged so far (queries are logged).
  std::string log() const;

 private:
  Dnsmasq(pid_t pid, uint16_t port, std::string directory)
      : pid_(pid), port_(port), directory_(std::move(directory)) {}
  pid_t pid_;
  uint16_t port_;
  std::string directory_;
};

/// A loopback UDP port with nothing listening on it (bound and released: a query to it gets
/// ICMP port unreachable).
uint16_t unused_udp_port();

}  // namespace estafeta::outbound::testing
