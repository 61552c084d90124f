"""End-to-end fixtures: one local stack (target/debug/patgate-local) per test session.

The binaries are built by the test command beforehand (`cargo build -p patgate-local
-p authorizer -p create-token`; test_log_secrecy.py runs the last two); these tests
never build them. The stack runs with DynamoDB Local in memory on free
ports, an authorizer cache TTL of CACHE_TTL_SECONDS (short, so that tests that wait
out a cached answer wait little; test_revocation.py runs a stack of its own at 300 s
to see the flushes) and the development-only
clock control (to test expiry). At the end it is stopped with SIGINT, and the test
session asserts that it exited 0 and left no DynamoDB Local (java) process behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import schemathesis

REPO = Path(__file__).resolve().parents[2]
OPENAPI = REPO / "infra" / "openapi.yaml"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
BINARY = Path(os.environ.get("PATGATE_LOCAL_BIN", TARGET / "debug" / "patgate-local"))
READY = "patgate local stack ready on "
READY_TIMEOUT_SECONDS = 90
CACHE_TTL_SECONDS = 2
# The stack's table (patgate-local's --table default, the stack name).
TABLE_NAME = "patgate-local"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def child_pids(pid: int) -> list[int]:
    """Direct children of pid (Linux /proc)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return children


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Stack:
    base_url: str
    dynamodb_url: str
    process: subprocess.Popen
    log_path: Path
    web_url: str
    # The example client APIs (infra/examples/*), by kind: "rest", "http".
    clients: dict[str, str]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    # ---- helpers over HTTP

    def url(self, path: str) -> str:
        return self.base_url + path

    def session(self, user_id: str, ttl_seconds: int | None = None) -> str:
        body: dict = {"userId": user_id}
        if ttl_seconds is not None:
            body["ttlSeconds"] = ttl_seconds
        response = requests.post(self.url("/local/session"), json=body, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["session"]

    def create_token(self, session: str, name: str = "e2e", expires_on: str | None = None, **extra) -> requests.Response:
        body = {"name": name, "expiresOn": expires_on or in_days(30), **extra}
        return requests.post(self.url("/tokens"), json=body, headers={"Authorization": session}, timeout=10)

    def new_token(self, session: str, **kwargs) -> dict:
        response = self.create_token(session, **kwargs)
        assert response.status_code == 201, response.text
        return response.json()

    def list_tokens(self, session: str, **params) -> requests.Response:
        return requests.get(self.url("/tokens"), params=params, headers={"Authorization": session}, timeout=10)

    def rotate(self, session: str, token_id: str, body: dict | None = None) -> requests.Response:
        return requests.post(
            self.url(f"/tokens/{token_id}/rotate"), json=body, headers={"Authorization": session}, timeout=10
        )

    def report_leaked(self, credentials: list[str]) -> requests.Response:
        return requests.post(self.url("/credentials/revoke"), json={"credentials": credentials}, timeout=10)

    def new_user(self, name: str, roles: list[str], time_zone: str | None = None) -> str:
        """A fresh active user (as patgate-users writes one), so a test sees only its own tokens."""
        user_id = f"e2e-{name}-{secrets.token_hex(4)}"
        item = {
            "pk": {"S": f"USER#{user_id}"},
            "sk": {"S": "PROFILE"},
            "user_id": {"S": user_id},
            "roles": {"L": [{"S": role} for role in roles]},
            "active": {"BOOL": True},
            "access_version": {"N": "1"},
        }
        if time_zone:
            item["time_zone"] = {"S": time_zone}
        self.dynamodb(
            "PutItem", {"TableName": TABLE_NAME, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
        )
        return user_id

    def set_clock_offset(self, seconds: int) -> dt.datetime:
        """Shifts the clock the functions see (--dev-clock-control); returns their now."""
        response = requests.put(self.url("/local/clock"), json={"offsetSeconds": seconds}, timeout=10)
        assert response.status_code == 200, response.text
        return dt.datetime.fromisoformat(response.json()["now"].replace("Z", "+00:00"))

    def dynamodb(self, target: str, payload: dict) -> dict:
        """A raw DynamoDB Local API call (any credentials are accepted)."""
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"DynamoDB_20120810.{target}",
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0",
            "X-Amz-Date": "20260101T000000Z",
        }
        response = requests.post(self.dynamodb_url, json=payload, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


def in_days(days: int, zone: dt.tzinfo = dt.timezone.utc) -> str:
    return (dt.datetime.now(zone) + dt.timedelta(days=days)).date().isoformat()


@contextlib.contextmanager
def running_stack(log_dir: Path, cache_ttl_seconds: int):
    """A local stack (in memory, free ports) for the duration of the block; stopped with
    SIGINT after it, asserting a clean exit and no DynamoDB Local left behind."""
    if not BINARY.is_file():
        pytest.fail(f"{BINARY} not found: build it first with `cargo build -p patgate-local`")
    port, dynamodb_port, web_port = free_port(), free_port(), free_port()
    # Two consecutive free ports for the client templates (--client-port counts up).
    client_port = free_port()
    while not port_is_free(client_port + 1):
        client_port = free_port()
    log_path = log_dir / "patgate-local.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [
            str(BINARY),
            "--in-memory",
            "--port", str(port),
            "--dynamodb-port", str(dynamodb_port),
            "--web-port", str(web_port),
            "--web-origin", "http://localhost:3000",
            "--authorizer-cache-ttl", str(cache_ttl_seconds),
            "--dev-clock-control",
            "--client-template", str(REPO / "infra/examples/client-rest/template.yaml"),
            "--client-template", str(REPO / "infra/examples/client-http/template.yaml"),
            "--client-port", str(client_port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        # Its own session: a Ctrl-C in the terminal reaches pytest, whose teardown stops it.
        start_new_session=True,
    )
    started = time.monotonic()
    while READY not in log_path.read_text(errors="replace"):
        if process.poll() is not None:
            pytest.fail(f"patgate-local exited ({process.returncode}) before ready:\n{log_path.read_text()}")
        if time.monotonic() - started > READY_TIMEOUT_SECONDS:
            process.kill()
            pytest.fail(f"patgate-local not ready within {READY_TIMEOUT_SECONDS} s:\n{log_path.read_text()}")
        time.sleep(0.05)
    stack = Stack(
        f"http://127.0.0.1:{port}",
        f"http://127.0.0.1:{dynamodb_port}",
        process,
        log_path,
        f"http://127.0.0.1:{web_port}",
        {"rest": f"http://127.0.0.1:{client_port}", "http": f"http://127.0.0.1:{client_port + 1}"},
    )
    java = [pid for pid in child_pids(process.pid) if "java" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]
    assert java, f"no DynamoDB Local child of patgate-local:\n{stack.log()}"

    yield stack

    process.send_signal(signal.SIGINT)
    try:
        code = process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"patgate-local did not stop within 20 s of SIGINT:\n{stack.log()[-3000:]}")
    finally:
        log.close()
    leftover = [pid for pid in java if alive(pid)]
    assert code == 0, f"patgate-local exited {code}:\n{stack.log()[-3000:]}"
    assert not leftover, f"DynamoDB Local still running after patgate-local stopped: {leftover}"
    assert "DynamoDB Local stopped" in stack.log()


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Stack:
    with running_stack(tmp_path_factory.mktemp("stack"), CACHE_TTL_SECONDS) as running:
        yield running


@pytest.fixture(scope="session")
def openapi(stack: Stack):
    return schemathesis.openapi.from_path(str(OPENAPI))


@pytest.fixture(scope="session")
def conforms(openapi):
    """conforms(response, "/tokens/{id}", "DELETE"): the status is documented for the
    operation and the body matches its schema in infra/openapi.yaml."""

    def check(response: requests.Response, path: str, method: str) -> requests.Response:
        operation = openapi[path][method.upper()]
        assert operation.responses.find_by_status_code(response.status_code) is not None, (
            f"{method} {path}: status {response.status_code} is not documented in infra/openapi.yaml: {response.text}"
        )
        operation.validate_response(response)
        return response

    return check
