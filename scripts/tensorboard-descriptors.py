#!/usr/bin/env python3
"""Writes Proto/tensorboard.desc: the FileDescriptorSet of TensorBoard's event
and summary messages (event.proto, summary.proto and what they import), taken
from the compiled descriptors that PyPI's `tensorboard` package ships (the
wheel carries *_pb2.py modules, not the .proto files). scripts/generate-protos.sh
compiles it to Swift with protoc's --descriptor_set_in."""
import os
import sys

from google.protobuf import descriptor_pb2
from tensorboard.compat.proto import event_pb2

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Proto", "tensorboard.desc")
files, seen = [], set()


def add(descriptor):
    if descriptor.name in seen:
        return
    for dependency in descriptor.dependencies:
        add(dependency)
    seen.add(descriptor.name)
    proto = descriptor_pb2.FileDescriptorProto()
    descriptor.CopyToProto(proto)
    files.append(proto)


add(event_pb2.DESCRIPTOR)
with open(out, "wb") as f:
    f.write(descriptor_pb2.FileDescriptorSet(file=files).SerializeToString())
print("wrote", out, ":", ", ".join(p.name for p in files))
