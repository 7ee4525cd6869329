#!/usr/bin/env bash
# Builds the library's documentation (the DocC catalog Sources/Strata/Strata.docc
# and every public symbol's /// comment) as a static site, with warnings
# treated as errors (a broken symbol link or an undocumented parameter fails):
#
#   scripts/docs.sh [OUTPUT]      # default .build/docs; open OUTPUT/index.html
#                                 # through any static web server
set -euo pipefail
cd "$(dirname "$0")/.."
output="${1:-.build/docs}"
mkdir -p "$output"
swift package --allow-writing-to-directory "$output" generate-documentation --target Strata \
    --warnings-as-errors --output-path "$output" --transform-for-static-hosting --hosting-base-path strata
echo "documentation: $output (static site; the library's pages under documentation/strata)"
