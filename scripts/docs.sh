#!/usr/bin/env bash
# Builds the library's documentation (the DocC catalog Sources/Strata/Strata.docc
# and every public symbol's /// comment) as a static site, with warnings
# treated as errors (a broken symbol link or an undocumented parameter fails):
#
#   scripts/docs.sh [OUTPUT]      # default .build/docs; open OUTPUT/index.html
#                                 # through any static web server
#
# `Strata` re-exports the library's modules (StrataCore ... StrataPipeline), so
# the symbol graph is extracted for `Strata` with their symbols allowed in, and
# the catalog links them as one module: what `import Strata` gives a user.
set -euo pipefail
cd "$(dirname "$0")/.."
output="${1:-.build/docs}"
modules=StrataCore,StrataData,StrataModels,StrataDistributed,StrataTraining,StrataFeatures,StrataPictures,StrataExport,StrataPipeline
swift build --target Strata
build="$(swift build --show-bin-path)"
triple="$(basename "$(dirname "$build")")"
graphs="$(mktemp -d)"
trap 'rm -rf "$graphs"' EXIT
maps=()
for c in CBLAS CPNG CZlib CCairo CMPI; do maps+=(-Xcc "-fmodule-map-file=Sources/$c/module.modulemap"); done
maps+=(-Xcc "-fmodule-map-file=$build/CStrataKernels.build/module.modulemap")
maps+=(-Xcc "-fmodule-map-file=$(find .build/checkouts/Yams -path '*CYaml/include/module.modulemap' | head -1)")
for dir in $(pkg-config --cflags-only-I ompi cairo libpng | tr ' ' '\n' | sed -n 's/^-I//p'); do maps+=(-Xcc "-I$dir"); done
swift-symbolgraph-extract -module-name Strata -target "$triple" -I "$build/Modules" "${maps[@]}" \
    -minimum-access-level public -experimental-allowed-reexported-modules="$modules" -output-dir "$graphs"
rm -rf "$output"
docc convert Sources/Strata/Strata.docc --additional-symbol-graph-dir "$graphs" --warnings-as-errors \
    --fallback-display-name Strata --fallback-bundle-identifier Strata \
    --output-path "$output" --transform-for-static-hosting --hosting-base-path strata
echo "documentation: $output (static site; the library's pages under documentation/strata)"
