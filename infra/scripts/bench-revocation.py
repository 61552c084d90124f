#!/usr/bin/env python3
"""Revocation behind the authorizer cache: latency and cache hit rate.

  python3 infra/scripts/bench-revocation.py [--binary PATH] [--revocations N] [--rate R]...

1. Latency (measured): a local stack of its own (target/debug/patgate-local unless
   --binary; DynamoDB Local in memory, free ports, authorizer cache TTL 300 s). N times:
   a fresh token called twice (its answer cached), revoked (DELETE /tokens/{id}; its
   204 is the commit), then called every 10 ms until refused. Latency = commit to the
   first refused call; p50 and p99 printed. What it measures locally: the stream
   emulation's poll (500 ms when idle), the revocations function, the flush through
   the management endpoint, and one authorizer call.

2. Cache hit rate in the mix (simulated clock, API Gateway's documented cache
   semantics): 20 tokens x 10 routes; each call picks a (token, route) pair at random
   at R calls per second (--rate, repeatable; default 200, i.e. each pair about once a
   second); answers cached per identity source (token and route) for 300 s; one
   revocation a minute, each flushing the stage (every cached answer). One simulated
   hour per rate, seeded. Also prints the authorizer invocations per hour, and those a
   flush adds, for infra/docs/costs.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
READY = "patgate local stack ready on "


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def latency(binary: Path, revocations: int) -> list[float]:
    port, dynamodb_port = free_port(), free_port()
    log = tempfile.NamedTemporaryFile(prefix="bench-revocation-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [str(binary), "--in-memory", "--quiet", "--no-web", "--port", str(port),
         "--dynamodb-port", str(dynamodb_port), "--authorizer-cache-ttl", "300"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        while READY not in Path(log.name).read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() - started > 120:
                sys.exit(f"the local stack did not start:\n{Path(log.name).read_text()}")
            time.sleep(0.1)
        session = requests.post(f"{base}/local/session", json={"userId": "demo-user"}, timeout=10).json()["session"]
        expires = (dt.date.today() + dt.timedelta(days=30)).isoformat()
        http = requests.Session()
        results = []
        for i in range(revocations):
            token = http.post(f"{base}/tokens", json={"name": f"bench-{i}", "expiresOn": expires},
                              headers={"Authorization": session}, timeout=10).json()
            bearer = {"Authorization": f"Bearer {token['token']}"}
            for _ in range(2):
                assert http.get(f"{base}/catalog", headers=bearer, timeout=10).status_code == 200
            revoked = http.delete(f"{base}/tokens/{token['id']}", headers={"Authorization": session}, timeout=10)
            committed = time.monotonic()
            assert revoked.status_code == 204, revoked.text
            while http.get(f"{base}/catalog", headers=bearer, timeout=10).status_code == 200:
                if time.monotonic() - committed > 30:
                    sys.exit("a revoked token was still allowed 30 s after its commit")
                time.sleep(0.01)
            results.append(time.monotonic() - committed)
            # Spread the revocations over the stream reader's poll cycle.
            time.sleep(random.uniform(0, 0.5))
        return results
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        os.unlink(log.name)


def mix(rate: float, seconds: int = 3600, tokens: int = 20, routes: int = 10,
        ttl: float = 300.0, revocation_every: float = 60.0, seed: int = 21) -> tuple[int, int, int]:
    """(calls, hits, flushes) over `seconds` of simulated time."""
    rng = random.Random(seed)
    cached: dict[tuple[int, int], float] = {}
    calls = hits = flushes = 0
    now, next_flush = 0.0, revocation_every
    while now < seconds:
        now += rng.expovariate(rate)
        while next_flush <= now:
            cached.clear()
            flushes += 1
            next_flush += revocation_every
        key = (rng.randrange(tokens), rng.randrange(routes))
        calls += 1
        stored = cached.get(key)
        if stored is not None and now - stored < ttl:
            hits += 1
        else:
            cached[key] = now
    return calls, hits, flushes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", type=Path, default=REPO / "target" / "debug" / "patgate-local")
    parser.add_argument("--revocations", type=int, default=40)
    parser.add_argument("--rate", type=float, action="append")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    rates = args.rate or [200.0, 100.0, 50.0, 20.0]

    if not args.skip_latency:
        if not args.binary.is_file():
            sys.exit(f"{args.binary} not found: cargo build -p patgate-local")
        seconds = latency(args.binary, args.revocations)
        print(f"revocation latency (commit to first refused call, local gateway, cache 300 s, "
              f"{len(seconds)} revocations): p50 {percentile(seconds, 50) * 1000:.0f} ms "
              f"p99 {percentile(seconds, 99) * 1000:.0f} ms max {max(seconds) * 1000:.0f} ms "
              f"mean {statistics.mean(seconds) * 1000:.0f} ms")
    for rate in rates:
        calls, hits, flushes = mix(rate)
        quiet_calls, quiet_hits, _ = mix(rate, revocation_every=float("inf"))
        misses, quiet_misses = calls - hits, quiet_calls - quiet_hits
        print(f"cache mix (20 tokens x 10 routes, {rate:.0f} calls/s, 1 revocation/min, simulated hour): "
              f"hit rate {hits / calls * 100:.1f}% ({hits}/{calls}), {flushes} flushes, "
              f"authorizer calls {misses}/h ({quiet_misses}/h without revocations, "
              f"{(misses - quiet_misses) / max(flushes, 1):.0f} more per flush)")


if __name__ == "__main__":
    main()
