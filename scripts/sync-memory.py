#!/usr/bin/env python3
"""Sets every function's memory from docs/benchmark.json (`recommended_memory_mb`) in Cargo.toml's
function manifest, with the measurements behind it as the comment above it, then runs
`cargo xtask gen`, which carries both into template.yaml and terraform/functions.json."""
import json
import pathlib
import re
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parent.parent
report = json.loads((root / "docs/benchmark.json").read_text())


def why(f):
    chosen = next(s for s in f["sizes"] if s["memory_mb"] == f["recommended_memory_mb"])
    full = f["full_core"]
    return (
        f"measured at {chosen['memory_mb']} MB's CPU share: warm p50 {chosen['warm_p50_ms']:.1f} ms "
        f"(full core {full['warm_p50_ms']:.1f}), cold total {chosen['cold_total_p50_ms']:.1f} ms, "
        f"${chosen['cost_per_million_usd']:.3f} per 1M; peak RSS {f['peak_rss_mb']:.0f} MB (docs/benchmark.md)"
    )


def sub_once(pattern, repl, text, what):
    new, n = re.subn(pattern, repl, text, count=1, flags=re.M)
    if n != 1:
        sys.exit(f"sync-memory: no place for {what}")
    return new


text = (root / "Cargo.toml").read_text()
for f in report["functions"]:
    name, mb, comment = re.escape(f["function"]), f["recommended_memory_mb"], why(f)
    text = sub_once(
        # The comment is replaced, or added above a function measured for the first time.
        rf"^(?:# {name}: .*\n)?{name} = {{ (handler = \"[^\"]+\", )?memory = \d+",
        f"# {f['function']}: {comment}\n{f['function']} = {{ \\g<1>memory = {mb}",
        text,
        f"{f['function']} in Cargo.toml",
    )
(root / "Cargo.toml").write_text(text)
subprocess.run(["cargo", "xtask", "gen"], cwd=root, check=True)
