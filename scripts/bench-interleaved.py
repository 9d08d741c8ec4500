#!/usr/bin/env python3
"""Whole-process time of `kompile convert` against the parse-and-re-emit baseline, with the
runs of the two sides interleaved (kompile, baseline, kompile, ...), so that both meet the
same load on a shared host. Prints the median and the minimum of each side and their ratios.

Usage: scripts/bench-interleaved.py [SERVICES] [RUNS] [OTHER_KOMPILE_BINARY ...]
       (defaults: 10000 services, 30 runs; builds the release binaries first). Any further
       binaries (an older kompile, say) are timed in the same rounds.
Not part of `cargo test`. Numbers are recorded in docs/performance.md.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
services = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 30
others = sys.argv[3:]

subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
built = subprocess.run(
    ["cargo", "bench", "--bench", "convert", "--no-run", "--message-format=json"],
    cwd=root, check=True, capture_output=True, text=True,
).stdout
bench = next(
    msg["executable"]
    for msg in map(json.loads, built.splitlines())
    if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "convert" and msg.get("executable")
)
kompile = os.path.join(root, "target", "release", "kompile")

with tempfile.TemporaryDirectory() as tmp:
    compose = os.path.join(tmp, "compose.yaml")
    with open(compose, "w") as out:
        subprocess.run([bench, "--generate", str(services)], stdout=out, check=True)
    sides = [("kompile", [kompile, "convert", "-f", compose]), ("baseline", [bench, "--one-shot", "baseline", compose])]
    sides += [(other, [other, "convert", "-f", compose]) for other in others]
    times = {name: [] for name, _ in sides}
    for round in range(runs + 2):
        for name, command in sides:
            start = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            if round >= 2:  # two warm-up rounds
                times[name].append(time.perf_counter() - start)

base_median = statistics.median(times["baseline"])
base_min = min(times["baseline"])
print(f"{services} services, {runs} interleaved runs of each")
for name, _ in sides:
    median, least = statistics.median(times[name]), min(times[name])
    print(
        f"{name:>10}: median {median * 1000:7.1f} ms, min {least * 1000:7.1f} ms"
        f"  ({median / base_median:.2f}x, {least / base_min:.2f}x the baseline)"
    )
