#!/usr/bin/env bash
# Regenerates the Swift message code committed in Sources/Strata/Export/Generated
# from the .proto files in Proto/ (ONNX's onnx.proto, copied from the `onnx`
# package on PyPI, Apache-2.0). Run only when a .proto changes: the build
# itself never needs protoc or the plugin.
#   needs: protoc (Debian's protobuf-compiler) and protoc-gen-swift built from
#   the swift-protobuf version in Package.swift, e.g.
#     git clone https://github.com/apple/swift-protobuf && cd swift-protobuf
#     git checkout 1.39.0 && swift build -c release --product protoc-gen-swift
#   then: PROTOC_GEN_SWIFT=/path/to/.build/release/protoc-gen-swift scripts/generate-protos.sh
set -euo pipefail
cd "$(dirname "$0")/.."
plugin="${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}"
[ -x "$plugin" ] || { echo "set PROTOC_GEN_SWIFT to a built protoc-gen-swift" >&2; exit 1; }
command -v protoc >/dev/null || { echo "protoc is missing: apt-get install protobuf-compiler" >&2; exit 1; }
protoc --plugin="$plugin" --proto_path=Proto --swift_out=Sources/Strata/Export/Generated \
  --swift_opt=Visibility=Internal Proto/onnx.proto
echo "wrote Sources/Strata/Export/Generated/onnx.pb.swift"
