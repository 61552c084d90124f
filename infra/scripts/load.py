#!/usr/bin/env python3
"""Load driver for the local stack (Python standard library only).

    load.py burst --api URL --user ID [--requests 200] [--cap 50]
                  [--warm-up-user ID [--warm-up-rounds 10]]
        Fires REQUESTS concurrent POST /tokens for one user, all released at once,
        then checks the answers against the cap: exactly CAP x 201 and the rest 409,
        no 5xx, and the user's listed tokens are exactly those answered with a 201,
        each of whose secrets authenticates on the demo API. Prints wall time, p50 and
        p99; exits 1 if any check fails.

    load.py soak --api URL --user ID [--user ID ...] [--minutes 10] [--rate 20]
                 [--pid PID]
        Sends RATE requests per second (open loop: on schedule, whatever the answers'
        latency) for MINUTES, mixing creates, lists, revokes and authorized calls to
        the demo API, and prints per minute: calls, p50, p99, 5xx, other unexpected
        answers, and the RSS of process PID (the gateway). Exits 1 on any 5xx.

The users must exist (infra/scripts/stress-cap.sh and soak.sh create them).
"""

import argparse
import datetime
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor


class Api:
    """One HTTP/1.1 connection per call: each call is independent, as browsers and
    CI jobs calling the API are."""

    def __init__(self, base, timeout=30):
        parsed = urllib.parse.urlsplit(base)
        self.host = parsed.hostname
        self.port = parsed.port or 80
        self.timeout = timeout

    def call(self, method, path, body=None, headers=None):
        """Returns (status, parsed JSON or None, seconds). Status 0: no answer."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        data = None if body is None else json.dumps(body).encode()
        sent = dict(headers or {})
        if data is not None:
            sent["Content-Type"] = "application/json"
        start = time.perf_counter()
        try:
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            raw = response.read()
            status = response.status
        except OSError:
            return 0, None, time.perf_counter() - start
        finally:
            conn.close()
        elapsed = time.perf_counter() - start
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return status, parsed, elapsed

    def session(self, user):
        status, body, _ = self.call("POST", "/local/session", {"userId": user})
        if status != 200 or not body or "session" not in body:
            raise SystemExit(f"load: no session for {user}: {status} {body}")
        return body["session"]


def percentile(values, fraction):
    """Nearest-rank percentile of `values` (seconds) in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1] * 1000


def expires_on(days):
    return (datetime.datetime.now(datetime.timezone.utc).date()
            + datetime.timedelta(days=days)).isoformat()


def list_all(api, session):
    """Every live token of the session's user, page by page."""
    tokens, next_token = [], None
    while True:
        query = {"limit": "100"}
        if next_token:
            query["nextToken"] = next_token
        status, body, _ = api.call(
            "GET", "/tokens?" + urllib.parse.urlencode(query),
            headers={"Authorization": session})
        if status != 200:
            raise SystemExit(f"load: listing failed: {status} {body}")
        tokens.extend(body["tokens"])
        next_token = body.get("nextToken")
        if not next_token:
            return tokens


def warm_up(api, user, rounds):
    """Creates and revokes tokens of another user, so that DynamoDB Local's JVM and the
    gateway have run these paths before the measured burst (a deployed service is
    warm; a just-started JVM is many times slower until it has compiled them)."""
    session = api.session(user)
    body = {"name": "warm-up", "expiresOn": expires_on(30), "timeZone": "UTC"}
    auth = {"Authorization": session}
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(rounds):
            created = list(pool.map(lambda _: api.call("POST", "/tokens", body, auth), range(16)))
            ids = [answer["id"] for status, answer, _ in created if status == 201]
            list(pool.map(lambda i: api.call("DELETE", f"/tokens/{i}", headers=auth), ids))


def burst(args):
    api = Api(args.api)
    if args.warm_up_user and args.warm_up_rounds:
        started = time.perf_counter()
        warm_up(api, args.warm_up_user, args.warm_up_rounds)
        print(f"warm-up: {args.warm_up_rounds} rounds of 16 creates and revokes "
              f"({time.perf_counter() - started:.1f} s)")
    session = api.session(args.user)
    body = {"name": "burst", "expiresOn": expires_on(30), "timeZone": "UTC"}
    gate = threading.Barrier(args.requests)

    def one(_):
        gate.wait()
        return api.call("POST", "/tokens", body, {"Authorization": session})

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.requests) as pool:
        answers = list(pool.map(one, range(args.requests)))
    wall = time.perf_counter() - started

    statuses = {}
    for status, _, _ in answers:
        statuses[status] = statuses.get(status, 0) + 1
    latencies = [elapsed for _, _, elapsed in answers]
    created = [answer for status, answer, _ in answers if status == 201]
    refused_codes = {answer.get("error", {}).get("code")
                     for status, answer, _ in answers if status == 409 and answer}
    print(f"requests {args.requests}, cap {args.cap}: "
          + ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items())))
    print(f"wall {wall * 1000:.0f} ms, p50 {percentile(latencies, 0.50):.0f} ms, "
          f"p99 {percentile(latencies, 0.99):.0f} ms, max {max(latencies) * 1000:.0f} ms")

    failures = []
    expected_refused = args.requests - args.cap
    if statuses.get(201, 0) != args.cap:
        failures.append(f"expected {args.cap} x 201, got {statuses.get(201, 0)}")
    if statuses.get(409, 0) != expected_refused:
        failures.append(f"expected {expected_refused} x 409, got {statuses.get(409, 0)}")
    if refused_codes - {"token_limit_reached"}:
        failures.append(f"409 codes other than token_limit_reached: {refused_codes}")
    server_errors = sum(count for status, count in statuses.items() if status >= 500 or status == 0)
    if server_errors:
        failures.append(f"{server_errors} answers were 5xx or no answer")

    listed = list_all(api, session)
    listed_ids = sorted(token["id"] for token in listed)
    answered_ids = sorted(answer["id"] for answer in created)
    print(f"listed {len(listed_ids)} tokens; {len(answered_ids)} answered with a 201")
    if listed_ids != answered_ids:
        failures.append("the stored tokens are not exactly those answered with a 201: "
                        f"stored only {sorted(set(listed_ids) - set(answered_ids))}, "
                        f"answered only {sorted(set(answered_ids) - set(listed_ids))}")
    hints = {token["id"]: token["hint"] for token in listed}
    working = 0
    for answer in created:
        secret = answer["token"]
        if hints.get(answer["id"]) != answer["hint"] or not secret.endswith(answer["hint"][-4:]):
            failures.append(f"token {answer['id']}: hint does not match its secret")
        status, _, _ = api.call("GET", "/catalog", headers={"Authorization": f"Bearer {secret}"})
        working += status == 200
    print(f"{working} of {len(created)} returned secrets authenticate on GET /catalog")
    if working != len(created):
        failures.append(f"only {working} of {len(created)} returned secrets authenticate")

    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Pool:
    """Each user's live tokens; a token being used is never revoked under its call,
    so every answer of the mix has one expected status."""

    def __init__(self, users, cap):
        self.lock = threading.Lock()
        self.users = users
        self.cap = cap
        self.tokens = {user: {} for user in users}   # user -> id -> [secret, calls in flight]
        self.pending = {user: 0 for user in users}   # creations in flight

    def size(self, user):
        return len(self.tokens[user]) + self.pending[user]


def soak(args):
    api = Api(args.api)
    users = args.user
    sessions = {user: api.session(user) for user in users}
    sessions_at = time.monotonic()
    pool = Pool(users, args.cap)
    # Keep each user well under the cap, so a create never meets a 409.
    high, low = max(2, args.cap * 3 // 5), 3

    def choose():
        user = random.choice(users)
        with pool.lock:
            size = pool.size(user)
            idle = [i for i, (_, busy) in pool.tokens[user].items() if busy == 0]
            roll = random.random()
            if roll < 0.2:
                kind = "create" if size < high else "revoke"
            elif roll < 0.4:
                kind = "revoke" if size > low and idle else "create"
            elif roll < 0.55:
                kind = "list"
            else:
                kind = "use" if pool.tokens[user] else "create"
            if kind == "create" and size >= high:
                kind = "list"
            if kind == "revoke" and not idle:
                kind = "list"
            if kind == "create":
                pool.pending[user] += 1
                return user, kind, None
            if kind == "revoke":
                token_id = random.choice(idle)
                del pool.tokens[user][token_id]
                return user, kind, token_id
            if kind == "use":
                token_id = random.choice(list(pool.tokens[user]))
                pool.tokens[user][token_id][1] += 1
                return user, kind, (token_id, pool.tokens[user][token_id][0])
            return user, kind, None

    expected = {"create": 201, "list": 200, "revoke": 204, "use": 200}
    record_lock = threading.Lock()
    per_minute = {}   # minute -> list of (kind, status, seconds)

    def run(user, kind, target, minute):
        session = sessions[user]
        if kind == "create":
            body = {"name": f"soak-{random.randrange(10**6)}", "expiresOn": expires_on(30),
                    "timeZone": "UTC"}
            status, answer, elapsed = api.call("POST", "/tokens", body, {"Authorization": session})
            with pool.lock:
                pool.pending[user] -= 1
                if status == 201 and answer:
                    pool.tokens[user][answer["id"]] = [answer["token"], 0]
        elif kind == "list":
            status, _, elapsed = api.call("GET", "/tokens?limit=50", headers={"Authorization": session})
        elif kind == "revoke":
            status, _, elapsed = api.call("DELETE", f"/tokens/{target}", headers={"Authorization": session})
        else:
            token_id, secret = target
            entity = random.choice(["", f"/svc-{random.randrange(100)}"])
            status, _, elapsed = api.call("GET", f"/catalog{entity}",
                                          headers={"Authorization": f"Bearer {secret}"})
            with pool.lock:
                if token_id in pool.tokens[user]:
                    pool.tokens[user][token_id][1] -= 1
        with record_lock:
            per_minute.setdefault(minute, []).append((kind, status, elapsed))

    total = int(args.minutes * 60 * args.rate)
    interval = 1.0 / args.rate
    start_rss = rss_kib(args.pid) if args.pid else None
    print(f"soak: {args.rate} req/s for {args.minutes} min ({total} calls), users {', '.join(users)}"
          + (f", gateway pid {args.pid} RSS {start_rss} KiB at start" if args.pid else ""))
    print("minute  calls   p50 ms   p99 ms   5xx  unexpected  late  rss KiB")
    reported = set()
    late = {}
    rss_by_minute = {}

    def report(minute):
        rows = per_minute.get(minute, [])
        latencies = [seconds for _, _, seconds in rows]
        errors = sum(1 for _, status, _ in rows if status >= 500 or status == 0)
        odd = sum(1 for kind, status, _ in rows
                  if status != expected[kind] and not (status >= 500 or status == 0))
        rss = rss_by_minute.get(minute)
        print(f"{minute + 1:>6} {len(rows):>6} {percentile(latencies, 0.5):>8.1f} "
              f"{percentile(latencies, 0.99):>8.1f} {errors:>5} {odd:>11} {late.get(minute, 0):>5}"
              f"  {rss if rss is not None else '-'}", flush=True)

    with ThreadPoolExecutor(max_workers=args.workers) as executor:
        began = time.monotonic()
        futures = []
        for n in range(total):
            due = began + n * interval
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            elif now - due > 0.25:
                # The driver itself fell behind schedule (a busy machine): counted.
                late[int((now - began) // 60)] = late.get(int((now - began) // 60), 0) + 1
            minute = int((time.monotonic() - began) // 60)
            if time.monotonic() - sessions_at > 1800:
                sessions.update({user: api.session(user) for user in users})
                sessions_at = time.monotonic()
            if minute not in rss_by_minute and args.pid:
                rss_by_minute[minute] = rss_kib(args.pid)
            # Print each finished minute once its calls have had time to answer.
            for done in range(minute - 1):
                if done not in reported:
                    reported.add(done)
                    report(done)
            user, kind, target = choose()
            futures.append(executor.submit(run, user, kind, target, minute))
        for future in futures:
            future.result()
    for minute in sorted(per_minute):
        if minute not in reported:
            report(minute)
    end_rss = rss_kib(args.pid) if args.pid else None

    rows = [row for minute_rows in per_minute.values() for row in minute_rows]
    errors = sum(1 for _, status, _ in rows if status >= 500 or status == 0)
    odd = [(kind, status) for kind, status, _ in rows
           if status != expected[kind] and not (status >= 500 or status == 0)]
    by_kind = {}
    for kind, _, _ in rows:
        by_kind[kind] = by_kind.get(kind, 0) + 1
    latencies = [seconds for _, _, seconds in rows]
    print(f"total {len(rows)} calls (" + ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items()))
          + f"), p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
          f"5xx {errors}, unexpected {len(odd)}, late {sum(late.values())}")
    for kind in sorted(by_kind):
        seconds = [elapsed for k, _, elapsed in rows if k == kind]
        print(f"  {kind:<7} {len(seconds):>6} calls, p50 {percentile(seconds, 0.5):.1f} ms, "
              f"p99 {percentile(seconds, 0.99):.1f} ms")
    if args.pid:
        print(f"gateway RSS: {start_rss} KiB at start, {end_rss} KiB at end")
    if odd:
        print(f"unexpected answers (kind, status): {sorted(set(odd))}", file=sys.stderr)
    return 1 if errors else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("burst")
    b.add_argument("--api", required=True)
    b.add_argument("--user", required=True)
    b.add_argument("--requests", type=int, default=200)
    b.add_argument("--cap", type=int, default=50)
    b.add_argument("--warm-up-user", help="a user whose tokens warm the stack up first")
    b.add_argument("--warm-up-rounds", type=int, default=10)
    s = commands.add_parser("soak")
    s.add_argument("--api", required=True)
    s.add_argument("--user", action="append", required=True)
    s.add_argument("--minutes", type=float, default=10)
    s.add_argument("--rate", type=float, default=20)
    s.add_argument("--cap", type=int, default=50)
    s.add_argument("--workers", type=int, default=64)
    s.add_argument("--pid", type=int)
    args = parser.parse_args()
    return burst(args) if args.command == "burst" else soak(args)


if __name__ == "__main__":
    sys.exit(main())
