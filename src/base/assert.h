// Invariant checks, used as Envoy uses ASSERT / RELEASE_ASSERT / ENVOY_BUG:
//   ESTAFETA_ASSERT(c): debug builds only.  ESTAFETA_CHECK(c): always; aborts.
// Never assert on what the network or the environment controls: return a Result instead.
#pragma once

#include <cstdio>
#include <cstdlib>

#define ESTAFETA_CHECK(cond)                                                             \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "estafeta: fatal: %s:%d: check failed: %s\n", __FILE__,      \
                   __LINE__, #cond);                                                     \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

#ifdef NDEBUG
#define ESTAFETA_ASSERT(cond) \
  do {                        \
  } while (0)
#else
#define ESTAFETA_ASSERT(cond) ESTAFETA_CHECK(cond)
#endif
