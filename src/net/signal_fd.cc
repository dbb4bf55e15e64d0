// Stop signals read from a descriptor (see signal_fd.h).
#include "net/signal_fd.h"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>

#include <cerrno>
#include <cstring>

namespace estafeta::net {

Result<int> block_into_signalfd(std::initializer_list<int> signals, int flags) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  if (const int code = ::pthread_sigmask(SIG_BLOCK, &set, nullptr); code != 0) {
    return make_error(fmt::format("pthread_sigmask: {}", std::strerror(code)), code);
  }
  const int fd = ::signalfd(-1, &set, SFD_CLOEXEC | flags);
  if (fd < 0) {
    const int code = errno;
    return make_error(fmt::format("signalfd: {}", std::strerror(code)), code);
  }
  return fd;
}

}  // namespace estafeta::net
