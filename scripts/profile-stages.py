#!/usr/bin/env python3
"""Split a CPU profile of the ledger benchmark into the stages of a transfer's way.

Usage: scripts/profile-stages.py BINARY PROFILE [OPERATIONS]
  (LEDGER_BENCH_PROFILE=/tmp/prof go test -c -o /tmp/bench.test ./bench/ && cd bench &&
   /tmp/bench.test -test.run '^$' -test.bench 'Ledger$' -test.benchtime 1x, then
   scripts/profile-stages.py /tmp/bench.test /tmp/prof/spread-HTTP.cpu.pprof 22285)

Each sample is counted once, in the innermost stage of its stack (a token lookup inside the
authentication middleware counts as the lookup, not as the middleware); with OPERATIONS (the
phase's transfers) it also prints microseconds per operation. docs/perf/http-path.md has the
figures it gave.
"""
import collections
import re
import subprocess
import sys

STAGES = [
    ("client: the benchmark's request", r"bench\.\(\*lbBench\)\.(transfer|measure)"),
    ("client: net/http transport", r"net/http\.\(\*persistConn\)|net/http\.\(\*Transport\)"),
    ("posting batch", r"ledger\.\(\*engine\)\.work"),
    ("ledger CreateTransfer", r"ledger\.\(\*Service\)\.CreateTransfer"),
    ("strict handler (JSON)", r"api\.\(\*strictHandler\)\.CreateTransfer"),
    ("request validation", r"server\.specValidator"),
    ("character rule", r"server\.textGuard"),
    ("token lookup and touch", r"tokens\.\(\*group"),
    ("authentication", r"server\.New\.authenticate|tokens\.\(\*Service\)\.Authenticate"),
    ("access log and metrics", r"server\.New\.accessLog"),
    ("request context", r"server\.New\.requestContext"),
    ("net/http server", r"net/http\.\(\*conn\)\.serve"),
    ("garbage collection", r"runtime\.gcBgMarkWorker|runtime\.bgsweep|runtime\.bgscavenge"),
    ("scheduler", r"runtime\.mcall|runtime\.schedule|runtime\.findRunnable|runtime\.park_m"),
    ("River", r"riverqueue"),
]


def main():
    binary, profile = sys.argv[1], sys.argv[2]
    ops = float(sys.argv[3]) if len(sys.argv) > 3 else 0
    out = subprocess.run(["go", "tool", "pprof", "-traces", binary, profile],
                         capture_output=True, text=True, check=True).stdout
    totals, total = collections.Counter(), 0.0
    for block in out.split("-----------+-------------------------------------------------------"):
        lines = [l for l in block.strip().split("\n") if l.strip()]
        m = re.match(r"\s*([\d.]+)(ms|s)\s+(.*)", lines[0]) if lines else None
        if not m:
            continue
        ms = float(m.group(1)) * (1000 if m.group(2) == "s" else 1)
        frames = [m.group(3)] + [l.strip() for l in lines[1:]]  # innermost first
        total += ms
        best, depth = "other", len(frames)
        for name, rx in STAGES:
            for i, f in enumerate(frames):
                if re.search(rx, f):
                    if i < depth:
                        best, depth = name, i
                    break
        totals[best] += ms
    for name, ms in totals.most_common():
        per = f"  {1000 * ms / ops:7.1f} µs/op" if ops else ""
        print(f"{name:34s} {ms / 1000:7.2f}s {100 * ms / total:5.1f}%{per}")
    print(f"{'total':34s} {total / 1000:7.2f}s")


if __name__ == "__main__":
    main()
