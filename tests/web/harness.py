"""What the browser tests and infra/web/measure.py run against: the local stack
(target/debug/patgate-local, started and stopped like tests/e2e does it), which serves
the API on one port and the page, infra/web/dist, on another (`--web-port`), with its
own Content-Security-Policy and generated config.json; the page's origin is the API's
CORS origin.

Pages that exist for the tests only (a host page of its own for the element, the page
in Cognito mode) are answered by Playwright route interception on the page's origin,
with the headers the stack serves its page with (`serve_test_pages`).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import mimetypes
import os
import re
import signal
import socket
import subprocess
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "infra" / "web"
DIST = WEB / "dist"
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
BINARY = Path(os.environ.get("PATGATE_LOCAL_BIN", TARGET / "debug" / "patgate-local"))
READY = "patgate local stack ready on "
READY_TIMEOUT_SECONDS = 90
TABLE = "patgate-local"
# The local stack's fixed development credentials for its AWS_IAM routes (/admin/*;
# infra/local/src/sigv4.rs): development only.
LOCAL_ACCESS_KEY_ID = "AKIAPATGATELOCAL0001"
LOCAL_SECRET_ACCESS_KEY = "patgate-local-development-secret-key"


def sigv4_headers(method: str, url: str, body: bytes, now: datetime.datetime | None = None) -> dict[str, str]:
    """Signature Version 4 headers (service `execute-api`, us-east-1) for a request
    without a query string, signed with the local stack's development credentials, as
    the product's backend signs its calls to /admin/* (AWS's documented algorithm)."""
    parts = urllib.parse.urlsplit(url)
    assert not parts.query, "sigv4_headers signs paths without a query string"
    now = now or datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{day}/us-east-1/execute-api/aws4_request"
    signed = "host;x-amz-date"
    canonical = "\n".join(
        [method, urllib.parse.quote(parts.path, safe="/-_.~"), "", f"host:{parts.netloc}", f"x-amz-date:{amz_date}", "", signed, hashlib.sha256(body).hexdigest()]
    )
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + LOCAL_SECRET_ACCESS_KEY).encode()
    for part in (day, "us-east-1", "execute-api", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "X-Amz-Date": amz_date,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={LOCAL_ACCESS_KEY_ID}/{scope}, SignedHeaders={signed}, Signature={signature}",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StackError(RuntimeError):
    pass


@dataclass
class Stack:
    base_url: str
    """The page's origin (`--web-port`): infra/web/dist as the stack serves it."""
    web_url: str
    dynamodb_url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def url(self, path: str) -> str:
        return self.base_url + path

    def session(self, user_id: str) -> str:
        response = requests.post(self.url("/local/session"), json={"userId": user_id}, timeout=10)
        response.raise_for_status()
        return response.json()["session"]

    def page_of(self, user_id: str, **query: str) -> dict:
        """One page of `GET /tokens` (query: status, limit, nextToken)."""
        response = requests.get(self.url("/tokens"), params=query, headers={"Authorization": self.session(user_id)}, timeout=10)
        response.raise_for_status()
        return response.json()

    def tokens(self, user_id: str, status: str = "active") -> list[dict]:
        """All of the user's tokens of that status, every page, newest first."""
        session = self.session(user_id)
        found: list[dict] = []
        query = {"status": status}
        while True:
            response = requests.get(self.url("/tokens"), params=query, headers={"Authorization": session}, timeout=10)
            response.raise_for_status()
            page = response.json()
            found += page["tokens"]
            if not page.get("nextToken"):
                return found
            query = {"status": status, "nextToken": page["nextToken"]}

    def create_token(
        self,
        user_id: str,
        name: str,
        expires_on: str,
        time_zone: str = "Europe/Paris",
        permissions: list[str] | None = None,
        session: str | None = None,
    ) -> dict:
        body: dict = {"name": name, "expiresOn": expires_on, "timeZone": time_zone}
        if permissions is not None:
            body["permissions"] = permissions
        headers = {"Authorization": session or self.session(user_id)}
        response = requests.post(self.url("/tokens"), json=body, headers=headers, timeout=10)
        response.raise_for_status()
        return response.json()

    def report_leaked(self, *tokens: str) -> requests.Response:
        """`POST /credentials/revoke`: what a secret scanner sends (no authorizer)."""
        return requests.post(self.url("/credentials/revoke"), json={"credentials": list(tokens)}, timeout=10)

    def set_clock(self, offset_seconds: int) -> None:
        """Shifts the clock the functions (authorizer included) see (`PUT /local/clock`)."""
        response = requests.put(self.url("/local/clock"), json={"offsetSeconds": offset_seconds}, timeout=10)
        response.raise_for_status()

    def revoke_all(self, user_id: str) -> None:
        session = self.session(user_id)
        for token in self.tokens(user_id):
            response = requests.delete(self.url(f"/tokens/{token['id']}"), headers={"Authorization": session}, timeout=10)
            assert response.status_code == 204, response.text

    def call_api(self, token: str, path: str = "/catalog", method: str = "GET", user_agent: str | None = None) -> requests.Response:
        """Calls the demo API with the token (and, if given, that User-Agent)."""
        headers = {"Authorization": f"Bearer {token}"}
        if user_agent is not None:
            headers["User-Agent"] = user_agent
        body = "{}" if method in ("PUT", "POST") else None
        return requests.request(method, self.url(path), headers=headers, data=body, timeout=10)

    def put_user(self, user_id: str, roles: list[str], time_zone: str = "Europe/Paris") -> dict:
        """`PUT /admin/users/{id}` as the product's backend calls it (SigV4): the
        directory's user write, whose fan-out marks what each token lost."""
        url = self.url(f"/admin/users/{urllib.parse.quote(user_id, safe='')}")
        body = json.dumps({"roles": roles, "timeZone": time_zone}).encode()
        headers = {"Content-Type": "application/json", **sigv4_headers("PUT", url, body)}
        response = requests.put(url, data=body, headers=headers, timeout=10)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def org(self, user_id: str, method: str, path: str, body: dict | None = None, **query: str) -> requests.Response:
        """A call to `/org/*` with the user's web session (the admin page's routes)."""
        headers = {"Authorization": self.session(user_id)}
        return requests.request(method, self.url(path), params=query, json=body, headers=headers, timeout=10)

    def new_user(self, roles: tuple[str, ...] = ("User",), time_zone: str | None = "Europe/Paris") -> str:
        """A fresh active user record (written straight to DynamoDB Local), so each test starts empty."""
        user_id = f"web-{uuid.uuid4().hex[:10]}"
        item = {
            "pk": {"S": f"USER#{user_id}"},
            "sk": {"S": "PROFILE"},
            "user_id": {"S": user_id},
            "roles": {"L": [{"S": role} for role in roles]},
            "active": {"BOOL": True},
            "token_version": {"N": "0"},
        }
        if time_zone:
            item["time_zone"] = {"S": time_zone}
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.PutItem",
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0",
            "X-Amz-Date": "20260101T000000Z",
        }
        response = requests.post(self.dynamodb_url, json={"TableName": TABLE, "Item": item}, headers=headers, timeout=10)
        response.raise_for_status()
        return user_id


def start_stack(log_path: Path, params: dict[str, str] | None = None) -> Stack:
    """Starts patgate-local in memory on free ports, the page served from infra/web/dist
    on a port of its own (the API's CORS origin then), authorizer cache off, the
    development clock controllable, template parameters `params` overridden; waits
    until ready."""
    if not BINARY.is_file():
        raise StackError(f"{BINARY} not found: build it first with `cargo build -p patgate-local`")
    port, dynamodb_port, web_port = free_port(), free_port(), free_port()
    overrides = [arg for name, value in (params or {}).items() for arg in ("--param", f"{name}={value}")]
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [
            str(BINARY),
            "--in-memory",
            "--port", str(port),
            "--dynamodb-port", str(dynamodb_port),
            "--web-port", str(web_port),
            "--web-dir", str(DIST),
            "--authorizer-cache-ttl", "0",
            "--dev-clock-control",
            "--quiet",
            *overrides,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C reaches the test runner, whose teardown stops it
    )
    log.close()
    started = time.monotonic()
    while READY not in log_path.read_text(errors="replace"):
        if process.poll() is not None:
            raise StackError(f"patgate-local exited ({process.returncode}) before ready:\n{log_path.read_text()}")
        if time.monotonic() - started > READY_TIMEOUT_SECONDS:
            process.kill()
            raise StackError(f"patgate-local not ready within {READY_TIMEOUT_SECONDS} s:\n{log_path.read_text()}")
        time.sleep(0.05)
    return Stack(
        f"http://127.0.0.1:{port}",
        f"http://127.0.0.1:{web_port}",
        f"http://127.0.0.1:{dynamodb_port}",
        process,
        log_path,
    )


def stop_stack(stack: Stack) -> int:
    """SIGINT, as Ctrl-C would; returns the exit code (killed after 20 s)."""
    stack.process.send_signal(signal.SIGINT)
    try:
        return stack.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        stack.process.wait()
        raise StackError(f"patgate-local did not stop within 20 s of SIGINT:\n{stack.log()[-3000:]}")


def with_connect_src(policy: str, *origins: str) -> str:
    """The Content-Security-Policy `policy` with `origins` added to its connect-src."""
    return re.sub(r"connect-src ([^;]*)", lambda m: "connect-src " + " ".join([m.group(1), *origins]), policy, count=1)


def serve_test_pages(context, site_url: str, extra: dict[str, Path] | None = None, cognito_domain: str | None = None) -> None:
    """Answers, in the browser context, the pages that exist for the tests only, on the
    page's origin and with the headers the stack serves its page with:

    - `extra` files by URL path (a host page of the tests' own);
    - with `cognito_domain`, the page under /cognito/ in Cognito mode (client id
      `webclient`): the stack's files and headers, its CSP's connect-src also
      allowing that domain (as a deployment's does), and a config.json saying so.

    A page made up by interception has no address, so Chromium ranks it public and
    lets it reach the loopback API only with the `local-network-access` permission,
    which the context must grant (the stack's own pages are loopback and need none).
    """
    extra = extra or {}

    def ours(url: str) -> bool:
        if not url.startswith(site_url + "/"):
            return False
        path = urllib.parse.urlsplit(url).path
        return path in extra or bool(cognito_domain and path.startswith("/cognito/"))

    def handle(route) -> None:
        path = urllib.parse.urlsplit(route.request.url).path
        if path in extra:
            served = route.fetch(url=site_url + "/")  # for the stack's headers
            kind = "text/javascript" if path.endswith(".js") else mimetypes.guess_type(path)[0] or "application/octet-stream"
            headers = {**served.headers, "content-type": f"{kind}; charset=utf-8"}
            headers.pop("content-length", None)
            route.fulfill(status=200, headers=headers, body=extra[path].read_bytes())
            return
        rest = path[len("/cognito"):]
        served = route.fetch(url=site_url + rest)
        headers = dict(served.headers)
        headers.pop("content-length", None)
        headers["content-security-policy"] = with_connect_src(headers["content-security-policy"], f"https://{cognito_domain}")
        body = served.body()
        if rest == "/config.json":
            config = {**json.loads(body), "mode": "cognito", "cognitoDomain": cognito_domain, "clientId": "webclient"}
            body = json.dumps(config).encode()
        route.fulfill(status=served.status, headers=headers, body=body)

    context.route(ours, handle)


def launch_browser(playwright):
    """Debian's chromium (Playwright's own browser download is not reachable here)."""
    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    return playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])


def run_axe(page) -> list[dict]:
    """axe-core (from node_modules) on the page, shadow DOM included: its violations."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, { resultTypes: ['violations'] });
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5),
            }));
        }"""
    )
    return result
