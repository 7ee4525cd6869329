#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz formats that start from a valid file.

The `metadata`, `resume` and `export` formats (ReaderSurface) read an input
as one byte that picks a base (`Fuzz/bases/*.safetensors`, sorted by name,
the byte taken modulo their count) and a JSON object that replaces that
base's `__metadata__`. A seed `Fuzz/corpus/FORMAT/NAME.seed` is the undamaged
case: the index of `NAME.safetensors`, then that file's own metadata. Adding
a base shifts the indices of the bases after it, so run this after adding or
removing one (the test suite checks that every seed picks its namesake):

    python3 scripts/fuzz-seeds.py            # rewrite every seed
    python3 scripts/fuzz-seeds.py --check    # exit 1 if a seed is out of date

Which formats a base seeds follows from its kind: every base seeds
`metadata`; a learner or fine-tuning checkpoint also seeds `resume`; a
classifier also seeds `export`.
"""

import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASES = os.path.join(ROOT, "Fuzz", "bases")
CORPUS = os.path.join(ROOT, "Fuzz", "corpus")


def metadata(path):
    with open(path, "rb") as f:
        data = f.read()
    size = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + size]).get("__metadata__", {})


def formats(meta):
    kind = meta.get("format", "")
    extra = {"strata-checkpoint-1": ["resume"], "strata-finetune-1": ["resume"], "strata-classifier-1": ["export"]}
    return ["metadata"] + extra.get(kind, [])


def seeds():
    """Every seed file's path and bytes, from the bases."""
    names = sorted(n for n in os.listdir(BASES) if n.endswith(".safetensors"))
    for index, name in enumerate(names):
        meta = metadata(os.path.join(BASES, name))
        body = bytes([index]) + json.dumps(meta, sort_keys=True).encode()
        for fmt in formats(meta):
            yield os.path.join(CORPUS, fmt, name[: -len(".safetensors")] + ".seed"), body


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for path, body in seeds():
        current = open(path, "rb").read() if os.path.exists(path) else None
        if current == body:
            continue
        stale.append(os.path.relpath(path, ROOT))
        if not check:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(body)
    verb = "out of date" if check else "written"
    print(f"{len(stale)} seeds {verb}" + "".join(f"\n  {p}" for p in stale))
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
