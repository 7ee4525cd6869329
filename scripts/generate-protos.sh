#!/usr/bin/env bash
# Regenerates the Swift message code committed in Sources/StrataExport/Generated
# (ONNX) and Sources/StrataTraining/Generated (TensorBoard)
# from Proto/: ONNX's onnx.proto (copied from the `onnx` package on PyPI,
# Apache-2.0) and TensorBoard's event and summary messages (Proto/tensorboard.desc,
# the descriptor set scripts/tensorboard-descriptors.py takes from PyPI's
# `tensorboard`, whose wheel ships compiled descriptors rather than .proto
# files), then splits protoc's one file per .proto into one file per message
# (scripts/split-generated.py). Run only when these change: the build never
# needs protoc or the plugin.
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
onnx=Sources/StrataExport/Generated
tensorboard=Sources/StrataTraining/Generated
rm -f "$onnx"/*.pb.swift "$tensorboard"/*.pb.swift
protoc --plugin="$plugin" --proto_path=Proto --swift_out="$onnx" --swift_opt=Visibility=Internal Proto/onnx.proto
protoc --plugin="$plugin" --descriptor_set_in=Proto/tensorboard.desc --swift_out="$tensorboard" \
  --swift_opt=Visibility=Internal --swift_opt=FileNaming=DropPath \
  tensorboard/compat/proto/{event,summary,histogram,tensor,tensor_shape,types,resource_handle}.proto
# One message per file (its declaration, then its Protocol Buffers conformance), each under ~350 lines.
python3 scripts/split-generated.py "$onnx"/*.pb.swift "$tensorboard"/*.pb.swift
echo "wrote $onnx (ONNX's messages) and $tensorboard (TensorBoard's event, summary and their imports), one message per file"
