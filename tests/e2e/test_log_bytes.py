"""What the functions write to CloudWatch Logs, per call, at the template's default
LogLevel (INFO), and the bytes CloudWatch Logs bills for it.

The real binaries answer one event each under the Runtime API emulator, with Lambda's
JSON log format (as test_log_secrecy.py runs them), against the local stack's
DynamoDB Local. Every line a function prints is one log event; CloudWatch Logs meters
an event as its UTF-8 bytes plus 26 bytes. Lambda's own platform lines (START,
REPORT) are INFO system logs, which the template's SystemLogLevel WARN leaves out, so
they are not counted.

The tests pin what must stay true (an uncached decision writes its metric line and
nothing else; an API call its metric line and its one INFO line); the figures are
printed, and written to infra/.local/log-bytes.json, by

    bash infra/scripts/log-bytes.sh

which infra/docs/costs.md quotes.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from conftest import REPO, Stack, in_days
from test_log_secrecy import EVENTS, run_function

# CloudWatch Logs meters each log event as its message plus this much.
EVENT_OVERHEAD_BYTES = 26
FIGURES = REPO / "infra" / ".local" / "log-bytes.json"
MEASURED: dict[str, dict] = {}


def log_events(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def record(name: str, output: str) -> list[dict]:
    lines = log_events(output)
    billed = sum(len(line.encode()) + EVENT_OVERHEAD_BYTES for line in lines)
    MEASURED[name] = {"events": len(lines), "bytes": sum(len(l.encode()) for l in lines), "billed_bytes": billed}
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def caller(stack: Stack) -> dict:
    user_id = stack.new_user("bytes", ["User"])
    session = stack.session(user_id)
    token = stack.new_token(session, name="log-bytes")
    return {"userId": user_id, "session": session, "token": token}


def authorizer_event(bearer: str) -> dict:
    event = json.loads((EVENTS / "authorizer-request.json").read_text())
    event["methodArn"] = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/catalog"
    event["headers"]["Authorization"] = bearer
    event["requestContext"]["identity"]["sourceIp"] = "192.0.2.10"
    return event


def is_metric_line(record: dict) -> bool:
    return "_aws" in record and "level" not in record


@pytest.mark.parametrize(
    "case",
    ["allow, first use (last-use write)", "allow, used again", "bad checksum", "malformed header"],
)
def test_an_uncached_decision_writes_its_metric_line_only(stack: Stack, caller: dict, case: str, tmp_path: Path):
    bearer = {
        "allow, first use (last-use write)": f"Bearer {caller['token']['token']}",
        "allow, used again": f"Bearer {caller['token']['token']}",
        "bad checksum": f"Bearer {caller['token']['token'][:-8]}{secrets.token_hex(4)}",
        "malformed header": "Basic dXNlcjpwYXNz",
    }[case]
    _, output = run_function(stack, "authorizer", authorizer_event(bearer), "INFO", tmp_path)
    records = record(f"authorizer: {case}", output)
    assert len(records) == 1 and is_metric_line(records[0]), output


def proxy_event(method: str, session: str, user_id: str, body: dict | None) -> dict:
    event = json.loads((EVENTS / "aws-proxy-post-tokens.json").read_text())
    event["httpMethod"] = method
    event["requestContext"]["httpMethod"] = method
    event["body"] = json.dumps(body) if body is not None else None
    event["isBase64Encoded"] = False
    event["queryStringParameters"] = None
    event["multiValueQueryStringParameters"] = None
    event["headers"]["Authorization"] = session
    event["multiValueHeaders"]["Authorization"] = [session]
    event["requestContext"]["authorizer"] = {
        "claims": {"sub": user_id, "cognito:username": user_id, "token_use": "id"}
    }
    return event


def test_a_token_api_call_writes_its_metric_line_and_its_one_info_line(stack: Stack, caller: dict, tmp_path: Path):
    session, user_id = caller["session"], caller["userId"]
    body = {"name": f"bytes-{secrets.token_hex(3)}", "expiresOn": in_days(30)}
    report, output = run_function(stack, "create-token", proxy_event("POST", session, user_id, body), "INFO", tmp_path)
    assert report["result"]["statusCode"] == 201, report
    records = record("create-token: POST /tokens", output)
    assert sum(is_metric_line(r) for r in records) == 1, output
    assert [r["fields"]["message"] for r in records if "level" in r] == ["token created"], output

    report, output = run_function(stack, "list-tokens", proxy_event("GET", session, user_id, None), "INFO", tmp_path)
    assert report["result"]["statusCode"] == 200, report
    records = record("list-tokens: GET /tokens", output)
    assert records == [], f"a read writes nothing at INFO: {output}"


# A request as the access log sees it: GET of a demo route with a token, answered 200.
SAMPLE_REQUEST = {
    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "extendedRequestId": "PxIDvFD1IAMEb1Q=",
    "requestTime": "05/Dec/2026:10:00:00 +0000",
    "identity.sourceIp": "203.0.113.10",
    "identity.userAgent": "python-requests/2.32.3",
    "httpMethod": "GET",
    "resourcePath": "/catalog/{entityId}",
    "path": "/v1/catalog/svc-1",
    "status": "200",
    "responseLength": "512",
    "responseLatency": "31",
    "integrationLatency": "18",
    "authorizer.principalId": "alice",
    "authorizer.status": "200",
    "authorizer.latency": "9",
    "authorizer.error": "-",
    "error.responseType": "-",
    "error.messageString": "null",
}


def test_the_api_access_log_line_of_a_request():
    """The template's access log format, folded as YAML folds it, for SAMPLE_REQUEST."""
    text = (REPO / "template.yaml").read_text()
    block = text.split("          Format: >-\n", 1)[1].split("\n        - !Ref AWS::NoValue", 1)[0]
    line = " ".join(part.strip() for part in block.splitlines())
    for variable in sorted(SAMPLE_REQUEST, key=len, reverse=True):
        line = line.replace(f"$context.{variable}", SAMPLE_REQUEST[variable])
    assert "$context" not in line, line
    assert json.loads(line)["status"] == "200"
    MEASURED["API access log: one request"] = {
        "events": 1,
        "bytes": len(line.encode()),
        "billed_bytes": len(line.encode()) + EVENT_OVERHEAD_BYTES,
    }


def teardown_module():
    if not MEASURED:
        return
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps(MEASURED, indent=2) + "\n")
    print(f"\nlog events per call at INFO (CloudWatch Logs bills bytes + {EVENT_OVERHEAD_BYTES} per event):")
    for name, figures in MEASURED.items():
        print(f"  {name:40} {figures['events']} events, {figures['bytes']:4} bytes, billed {figures['billed_bytes']:4}")
