"""What the browser tests and infra/web/measure.py run against: the local stack
(target/debug/patgate-local, started and stopped like tests/e2e does it) and a small
static server for infra/web/dist on another origin, sending a strict CSP.

`serve_site` is the one function that serves the page; swap it for the local
stack's own page server when it has one.
"""

from __future__ import annotations

import json
import mimetypes
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StackError(RuntimeError):
    pass


@dataclass
class Stack:
    base_url: str
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

    def tokens(self, user_id: str) -> list[dict]:
        response = requests.get(self.url("/tokens"), headers={"Authorization": self.session(user_id)}, timeout=10)
        response.raise_for_status()
        return response.json()["tokens"]

    def create_token(self, user_id: str, name: str, expires_on: str, time_zone: str = "Europe/Paris") -> dict:
        body = {"name": name, "expiresOn": expires_on, "timeZone": time_zone}
        response = requests.post(self.url("/tokens"), json=body, headers={"Authorization": self.session(user_id)}, timeout=10)
        response.raise_for_status()
        return response.json()

    def revoke_all(self, user_id: str) -> None:
        session = self.session(user_id)
        for token in self.tokens(user_id):
            response = requests.delete(self.url(f"/tokens/{token['id']}"), headers={"Authorization": session}, timeout=10)
            assert response.status_code == 204, response.text

    def call_api(self, token: str, path: str = "/catalog") -> requests.Response:
        return requests.get(self.url(path), headers={"Authorization": f"Bearer {token}"}, timeout=10)

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


def start_stack(web_origin: str, log_path: Path) -> Stack:
    """Starts patgate-local in memory on free ports, authorizer cache off; waits until ready."""
    if not BINARY.is_file():
        raise StackError(f"{BINARY} not found: build it first with `cargo build -p patgate-local`")
    port, dynamodb_port = free_port(), free_port()
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [
            str(BINARY),
            "--in-memory",
            "--port", str(port),
            "--dynamodb-port", str(dynamodb_port),
            "--web-origin", web_origin,
            "--authorizer-cache-ttl", "0",
            "--quiet",
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
    return Stack(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{dynamodb_port}", process, log_path)


def stop_stack(stack: Stack) -> int:
    """SIGINT, as Ctrl-C would; returns the exit code (killed after 20 s)."""
    stack.process.send_signal(signal.SIGINT)
    try:
        return stack.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        stack.process.wait()
        raise StackError(f"patgate-local did not stop within 20 s of SIGINT:\n{stack.log()[-3000:]}")


def csp(api_origin: str, *more_connect: str) -> str:
    # connect-src also names 'self': the page reads its config.json with fetch.
    connect = " ".join(["'self'", api_origin, *more_connect])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"connect-src {connect}; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


@dataclass
class Site:
    url: str
    server: ThreadingHTTPServer
    thread: threading.Thread

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_site(
    port: int,
    api_base: str,
    root: Path = DIST,
    extra: dict[str, Path] | None = None,
    cognito_domain: str | None = None,
) -> Site:
    """Serves `root` (the built page) on http://127.0.0.1:port with the strict CSP and
    a config.json in local mode pointing at `api_base`; `extra` files by URL path; and,
    with `cognito_domain`, the same page under /cognito/ in Cognito mode (client id
    `webclient`), its CSP allowing that domain's token endpoint."""
    policies = {"": csp(api_base), "/cognito": csp(api_base, f"https://{cognito_domain}")}
    configs = {
        "": {"apiBase": api_base, "mode": "local"},
        "/cognito": {"apiBase": api_base, "mode": "cognito", "cognitoDomain": cognito_domain, "clientId": "webclient"},
    }
    root = root.resolve()
    extra = extra or {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            path = self.path.split("?", 1)[0]
            self.mount = ""
            if cognito_domain and (path == "/cognito" or path.startswith("/cognito/")):
                self.mount, path = "/cognito", path[len("/cognito"):] or "/"
            if path.endswith("/"):
                path += "index.html"
            if path == "/config.json":
                self.reply(200, json.dumps(configs[self.mount]).encode(), "application/json")
                return
            file = extra.get(path) or (root / path.lstrip("/")).resolve()
            if (path not in extra and root not in file.parents) or not file.is_file():
                self.reply(404, b"not found", "text/plain")
                return
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            if file.suffix == ".js":
                kind = "text/javascript"
            self.reply(200, file.read_bytes(), kind)

        def reply(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", f"{kind}; charset=utf-8" if kind.startswith("text/") else kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", policies[getattr(self, "mount", "")])
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, name="web-site", daemon=True)
    thread.start()
    return Site(f"http://127.0.0.1:{port}", server, thread)


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
