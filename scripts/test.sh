#!/usr/bin/env bash
# Sets up, builds (gcc, plus the clang libFuzzer targets) and runs every test: unit tests,
# integration tests against the real daemon with real clients and peers, and a short fuzz run
# of every target. Ends with ctest's summary ("N% tests passed, M tests failed").
set -euo pipefail
cd "$(dirname "$0")/.."
# Development and CI: warnings are errors here (never in the user's build of run.sh).
scripts/setup.sh --fuzz --werror
cmake -S . -B build -G Ninja -DESTAFETA_WERROR=ON -DESTAFETA_FUZZ_BUILD_DIR="$(pwd)/build-fuzz" \
  >/dev/null
ninja -C build
ctest --test-dir build --output-on-failure -j2 --timeout 900
