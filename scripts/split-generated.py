#!/usr/bin/env python3
"""Splits protoc-gen-swift's output into files of at most ~350 lines, one concern each.

protoc writes one Swift file per .proto (onnx.pb.swift is nearly 4,000 lines).
This keeps every message's code together but apart from the others: for each
top-level type T, `T.pb.swift` holds what the message is (its struct or enum
and nested types) and `T+Message.pb.swift` its Protocol Buffers conformance
(field numbers, decoding, encoding), split again where one would pass the
limit. Declarations only move between files; `fileprivate` becomes internal
so a struct and its storage class may sit in different files, except the
generator's per-file version check and `_protobuf_package`, which each file
that needs them gets its own copy of. Files already under the limit stay as
protoc wrote them.

    python3 scripts/split-generated.py Sources/StrataExport/Generated/onnx.pb.swift ...
"""
import os
import re
import sys

LIMIT = 350
DECLARATION = re.compile(r"^(?:fileprivate )?(?:nonisolated )?(struct|enum|extension|let) ([A-Za-z0-9_]+)")


def blocks(lines):
    """The file's header (up to the imports) and its top-level declarations,
    each with the comment lines just above it: [(kind, owner, lines)]."""
    start = max(i for i, line in enumerate(lines) if line.startswith("import ")) + 1
    header, body = lines[:start], lines[start:]
    found, pending, current = [], [], None
    for line in body:
        match = DECLARATION.match(line)
        if match and not line.startswith(" "):
            kind, name = match.group(1), match.group(2)
            current = [kind, name, pending + [line]]
            found.append(current)
            pending = []
        elif current is not None and (line.startswith(" ") or line.startswith("}") or line.startswith("#")):
            current[2].append(line)
        elif line.strip() == "" and current is not None and not pending:
            current[2].append(line)
        else:
            pending.append(line)
    return header, found


def split(path):
    with open(path) as f:
        lines = f.read().split("\n")
    if len(lines) <= LIMIT:
        return []
    header, found = blocks(lines)
    version_check = next(b for b in found if b[1] == "_GeneratedWithProtocGenSwiftVersion")
    package = next((b for b in found if b[0] == "let" and b[1] == "_protobuf_package"), None)
    owners = {}
    for kind, name, block in found:
        if block is version_check[2] or (package and block is package[2]):
            continue
        text = "\n".join(block).rstrip("\n").split("\n")
        text = [re.sub(r"\bfileprivate ", "", line) for line in text]
        concern = "declaration" if kind in ("struct", "enum") else "message"
        owners.setdefault(name, {"declaration": [], "message": []})[concern].append(text)
    base = os.path.basename(path)[: -len(".pb.swift")]
    folder = os.path.dirname(path)
    written = []
    first = True
    for owner, concerns in owners.items():
        for concern, parts in concerns.items():
            if not parts:
                continue
            files, current = [], []
            for part in parts:
                if current and sum(len(p) + 1 for p in current) + len(part) + len(header) + 12 > LIMIT:
                    files.append(current)
                    current = []
                current.append(part)
            files.append(current)
            for index, contents in enumerate(files):
                suffix = "" if concern == "declaration" else "+Message"
                name = f"{owner}{suffix}{index + 1 if index else ''}.pb.swift"
                out = list(header)
                out[0:0] = [f"// Split from {base}.pb.swift by scripts/split-generated.py."]
                out.append("")
                if first:
                    out += version_check[2] + [""]
                    first = False
                text = [line for part in contents for line in part + [""]]
                if package and any("_protobuf_package" in line for line in text):
                    out += [line for line in package[2] if "_protobuf_package" in line] + [""]
                out += text
                with open(os.path.join(folder, name), "w") as f:
                    f.write("\n".join(out).rstrip("\n") + "\n")
                written.append(name)
    os.remove(path)
    return written


if __name__ == "__main__":
    for path in sys.argv[1:]:
        names = split(path)
        print(f"{path}: " + (f"{len(names)} files" if names else "kept (short enough)"))
