#!/usr/bin/env bash
# The test suite: installs what it needs, then builds and runs every test,
# and builds the documentation with warnings as errors (scripts/docs.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# The tool (the interruption and install tests run it) and the test bundle, by
# product: `swift build --build-tests` would also build every executable of the
# dependencies, swift-protobuf's protoc among them (C++, about ten minutes).
swift build --product strata
swift build --product StrataPackageTests
swift test --skip-build
bash scripts/docs.sh .build/docs
