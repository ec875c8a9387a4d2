#!/usr/bin/env python3
"""Sets every function's memory from docs/benchmark.json (`recommended_memory_mb`) in Cargo.toml,
template.yaml and terraform/functions.tf, with the measurements behind it as the comment next to it.
Run after `make bench`; tests/iac fails when the three disagree."""
import json
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
report = json.loads((root / "docs/benchmark.json").read_text())


def why(f):
    return (
        f"measured: p50 {f['warm_p50_ms']:.1f} ms on a full core, CPU {f['cpu_ms_per_request']:.2f} ms/request, "
        f"peak RSS {f['peak_rss_mb']:.0f} MB -> {f['recommended_memory_mb']} MB (docs/benchmark.md)"
    )


def sub_once(pattern, repl, text, what):
    new, n = re.subn(pattern, repl, text, count=1, flags=re.M)
    if n != 1:
        sys.exit(f"sync-memory: no place for {what}")
    return new


files = {p: (root / p).read_text() for p in ("Cargo.toml", "template.yaml", "terraform/functions.tf")}
for f in report["functions"]:
    name, mb, comment = re.escape(f["function"]), f["recommended_memory_mb"], why(f)
    files["Cargo.toml"] = sub_once(
        rf"^# {name}: measured: .*\n{name} = {{ memory = \d+",
        f"# {f['function']}: {comment}\n{f['function']} = {{ memory = {mb}",
        files["Cargo.toml"],
        f"{f['function']} in Cargo.toml",
    )
    files["template.yaml"] = sub_once(
        rf"(Binary: {name}\n(?:.*\n)*?\s+)MemorySize: \d+  # measured: .*",
        rf"\g<1>MemorySize: {mb}  # {comment}",
        files["template.yaml"],
        f"{f['function']} in template.yaml",
    )
    files["terraform/functions.tf"] = sub_once(
        rf"^(\s+)# measured: .*\n(\s+\"{name}\" = {{\n(?:.*\n)*?\s+memory = )\d+",
        rf"\g<1># {comment}\n\g<2>{mb}",
        files["terraform/functions.tf"],
        f"{f['function']} in terraform/functions.tf",
    )
for p, text in files.items():
    (root / p).write_text(text)
