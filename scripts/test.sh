#!/usr/bin/env bash
# The test suite: installs what it needs, then builds and runs every test,
# and builds the documentation with warnings as errors (scripts/docs.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --build-tests
swift test --skip-build
bash scripts/docs.sh .build/docs
