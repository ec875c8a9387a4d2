#!/usr/bin/env python3
"""Runs the test suites of `make test` side by side: every Rust test binary (as `cargo test` would run
it, from its package's directory) and the other suites given with --suite, JOBS at a time.

Most suites spend their time waiting on processes they started (DynamoDB Local, `cargo lambda
watch`, a browser), so running a few at once on two cores shortens the run without starving any.
The slowest suites start first, by the durations of the previous run (kept in
.cache/test-durations.json) or, on a fresh clone, those in tests/durations.json; a suite's output
is printed when it ends, and in full when it fails.

A suite named with --alone runs after the others, by itself: one that bursts fifty requests at once
and counts the answers must not share two cores with three other suites (DynamoDB Local then
answers past the SDK's timeouts, and the burst's requests get 503s that no deployed shop sees).

usage: run_tests.py [--jobs N] [--suite NAME=COMMAND ...] [--alone NAME ...] < cargo-test-no-run.json
"""

import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DURATIONS = os.path.join(ROOT, ".cache", "test-durations.json")
# What a run on this 2-core machine measured: the order of a first run on a fresh clone.
SEED = os.path.join(ROOT, "tests", "durations.json")


def rust_binaries(messages):
    """(name, argv, cwd) of each test executable in `cargo test --no-run --message-format=json`."""
    seen = set()
    for line in messages:
        try:
            m = json.loads(line)
        except ValueError:
            continue
        exe = m.get("executable")
        if m.get("reason") != "compiler-artifact" or not exe or not m["profile"]["test"] or exe in seen:
            continue
        seen.add(exe)
        kind = m["target"]["kind"][0]
        name = m["target"]["name"] if kind == "test" else f"{m['target']['name']} ({kind})"
        yield name, [exe, "--quiet"], os.path.dirname(m["manifest_path"])


# Where the machine lets us (root), each suite runs in a CPU-accounting cgroup of its own, so the
# report shows the CPU it took, the processes it started included, and any it left running.
# (hierarchy, usage file), or None: cgroup v1's cpuacct, else v2's root.
CGROUP = next(((d, usage) for d, usage in (("/sys/fs/cgroup/cpuacct", "cpuacct.usage"), ("/sys/fs/cgroup", "cpu.stat"))
               if os.access(os.path.join(d, "cgroup.procs"), os.W_OK)), None)


def cgroup_for(name):
    """A fresh cgroup for the suite NAME, or None."""
    if not CGROUP:
        return None
    path = os.path.join(CGROUP[0], f"shop-test-{os.getpid()}-{''.join(c if c.isalnum() else '-' for c in name)}")
    try:
        os.mkdir(path)
        return path
    except OSError:
        return None


def cpu_seconds(cgroup):
    _, usage = CGROUP
    with open(os.path.join(cgroup, usage)) as f:
        text = f.read()
    if usage == "cpu.stat":
        return int(re.search(r"usage_usec (\d+)", text).group(1)) / 1e6
    return int(text) / 1e9


def close_cgroup(cgroup):
    """Whatever the suite left running is stopped (a test must stop what it starts) and named."""
    # A process killed as its parent exited (PR_SET_PDEATHSIG) may take a moment to go.
    for _ in range(50):
        with open(os.path.join(cgroup, "cgroup.procs")) as f:
            left = [int(p) for p in f.read().split()]
        if not left:
            break
        time.sleep(0.1)
    names = []
    for pid in left:
        try:
            with open(f"/proc/{pid}/comm") as f:
                names.append(f.read().strip())
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for _ in range(50):
        try:
            os.rmdir(cgroup)
            break
        except OSError:
            time.sleep(0.1)
    return names


def run(job, env):
    name, argv, cwd = job
    start = time.monotonic()
    cgroup = cgroup_for(name)
    if cgroup:
        # The suite joins its cgroup before it starts: everything it spawns is counted with it.
        argv = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, *argv]
    cpu, left = None, []
    with tempfile.TemporaryFile() as out:
        code = subprocess.call(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
        if cgroup:
            cpu = cpu_seconds(cgroup)
            left = close_cgroup(cgroup)
        out.seek(0)
        text = out.read().decode(errors="replace")
    return name, code, time.monotonic() - start, cpu, left, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=3)
    ap.add_argument("--suite", action="append", default=[], help="NAME=COMMAND, run from the repo root")
    ap.add_argument("--alone", action="append", default=[], help="a suite to run by itself, after the others")
    args = ap.parse_args()

    jobs = list(rust_binaries(sys.stdin))
    for spec in args.suite:
        name, _, command = spec.partition("=")
        jobs.append((name, ["bash", "-c", command], ROOT))
    before = {}
    for path in (SEED, DURATIONS):
        try:
            with open(path) as f:
                before.update(json.load(f))
        except (OSError, ValueError):
            pass
    # Longest first (unknown ones count as long), so the run ends with short suites filling in.
    jobs.sort(key=lambda j: -before.get(j[0], 60.0))

    env = dict(os.environ)
    started = time.monotonic()
    failed, took = [], {}

    cpu_total = []

    def report(name, code, secs, cpu, left, text):
        took[name] = round(secs, 1)
        cpu_total.append(cpu or 0.0)
        used = f"  cpu {cpu:6.1f}s" if cpu is not None else ""
        if left:
            print(f"{name} left running (now stopped): {', '.join(left)}", flush=True)
        if code == 0:
            summary = [l for l in text.splitlines() if l.startswith(("test result:", "ok ", "#", "=")) or " passed" in l]
            print(f"ok    {secs:6.1f}s{used}  {name}  {summary[-1].strip() if summary else ''}", flush=True)
        else:
            failed.append(name)
            print(f"FAIL  {secs:6.1f}s{used}  {name} (exit {code})\n{text}", flush=True)

    alone = [j for j in jobs if j[0] in args.alone]
    missing = set(args.alone) - {j[0] for j in alone}
    if missing:
        sys.exit(f"--alone names no suite: {', '.join(sorted(missing))}")
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        running = [pool.submit(run, j, env) for j in jobs if j not in alone]
        for done in as_completed(running):
            report(*done.result())
    for job in alone:
        report(*run(job, env))
    os.makedirs(os.path.dirname(DURATIONS), exist_ok=True)
    with open(DURATIONS, "w") as f:
        json.dump({**before, **took}, f, indent=1, sort_keys=True)
    cpu = f" ({sum(cpu_total):.0f} s of CPU)" if CGROUP else ""
    print(f"{len(jobs)} suites in {time.monotonic() - started:.0f} s{cpu}, {args.jobs} at a time; "
          f"{len(failed)} failed{': ' + ', '.join(failed) if failed else ''}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
