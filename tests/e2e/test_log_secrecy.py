"""No credential reaches the logs, at any log level Lambda may be set to.

For every `LogLevel` template.yaml allows, the real function binaries answer one
event under the Runtime API emulator (infra/scripts/runtime_api_emulator.py), with
Lambda's JSON log format and a Lambda-like clean environment, against the local
stack's DynamoDB Local:

- `authorizer`: a REQUEST event with `Authorization: Bearer <token>`, a token issued
  through the stack; it must allow the call;
- `create-token`: a proxy event as the web session authorizer passes it (the session's
  claims in `requestContext.authorizer`, the session JWT in the `Authorization`
  header); it must answer 201.

Nothing either process prints may hold the bearer token, its SHA-256 hex, the session
JWT or its signature, nor the secret create-token issues or that secret's hash. (At
DEBUG and TRACE the Lambda runtime logs each raw event and the AWS SDK its requests;
shared/src/logging.rs keeps them at INFO.)

The binaries are target/debug/authorizer and target/debug/create-token (the test
command builds them); PATGATE_FUNCTIONS_DIR runs those of another directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, TABLE_NAME, TARGET, Stack, in_days

EMULATOR = REPO / "infra" / "scripts" / "runtime_api_emulator.py"
EVENTS = REPO / "tests" / "fixtures" / "events"
FUNCTIONS = Path(os.environ.get("PATGATE_FUNCTIONS_DIR", TARGET / "debug"))
ORDER = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "ERROR": 4}


def allowed_log_levels() -> list[str]:
    """The `AllowedValues` of the template's `LogLevel` parameter."""
    text = (REPO / "template.yaml").read_text()
    found = re.search(r"^  LogLevel:\n(?:    .*\n)*?    AllowedValues: \[([^\]]*)\]", text, re.M)
    assert found, "template.yaml: LogLevel parameter with AllowedValues not found"
    return [level.strip() for level in found.group(1).split(",")]


LEVELS = allowed_log_levels()


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def caller(stack: Stack) -> dict:
    user_id = stack.new_user("logs", ["User"])
    session = stack.session(user_id)
    token = stack.new_token(session, name="log-secrecy")
    return {"userId": user_id, "session": session, "token": token}


def run_function(stack: Stack, binary: str, event: dict, level: str, tmp_path: Path) -> tuple[dict, str]:
    """One invocation of `binary` with `event`; returns the emulator's report and
    everything the function process printed."""
    path = FUNCTIONS / binary
    if not path.is_file():
        pytest.fail(f"{path} not found: build it first with `cargo build -p {binary}`")
    event_file = tmp_path / f"{binary}-{level}.json"
    event_file.write_text(json.dumps(event))
    log_file = tmp_path / f"{binary}-{level}.log"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),  # no ~/.aws: nothing but the variables below configures the SDK
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_DYNAMODB": stack.dynamodb_url,
        "TABLE_NAME": TABLE_NAME,
        # The permission configuration, where the layer puts it in the cloud.
        "PATGATE_CONFIG_PATH": str(REPO / "infra/config/permissions.json"),
        "AWS_LAMBDA_FUNCTION_NAME": f"patgate-{binary}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/patgate-{binary}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "e2e",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": level,
    }
    command = [
        sys.executable, str(EMULATOR), "run",
        "--event", str(event_file),
        "--function-name", f"patgate-{binary}",
        "--timeout", "30",
        "--child-log", str(log_file),
        "--", str(path),
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    output = log_file.read_text(errors="replace") if log_file.exists() else ""
    assert result.returncode == 0, f"{binary} at {level}: {result.stdout}{result.stderr}\n{output}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return report, output + result.stderr


def check_output(
    output: str, level: str, secrets: dict[str, str], expected_message: str, message_level: str = "INFO"
) -> None:
    for what, secret in secrets.items():
        assert secret not in output, f"the {what} is in the output at {level}:\n{output[:3000]}"
    records = [json.loads(line) for line in output.splitlines() if line.strip()]  # JSON lines only
    logged = [r for r in records if "level" in r]
    threshold = ORDER.get(level, ORDER["ERROR"])  # FATAL reads as ERROR
    assert all(ORDER[r["level"]] >= threshold for r in logged), f"below {level}: {output[:3000]}"
    messages = [r.get("fields", {}).get("message") for r in logged]
    if threshold <= ORDER[message_level]:
        assert expected_message in messages, f"no `{expected_message}` line at {level}:\n{output[:3000]}"
    else:
        assert expected_message not in messages, f"a `{expected_message}` line at {level}:\n{output[:3000]}"
    # The metric lines (embedded metric format, no level: INFO to Lambda) at every level.
    assert any("_aws" in r and "level" not in r for r in records), f"no metric line at {level}:\n{output[:3000]}"


def test_the_template_allows_the_levels_the_metrics_need():
    # Changed deliberately with issue 19: the metric lines carry no level (INFO to
    # Lambda) and the alarms need them, so WARN, ERROR and FATAL are no longer offered.
    assert LEVELS == ["TRACE", "DEBUG", "INFO"]


@pytest.mark.parametrize("level", LEVELS)
def test_the_authorizer_logs_no_secret(stack: Stack, caller: dict, level: str, tmp_path: Path):
    token = caller["token"]
    event = json.loads((EVENTS / "authorizer-request.json").read_text())
    event["methodArn"] = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/catalog"
    event["headers"]["Authorization"] = f"Bearer {token['token']}"
    event["requestContext"]["identity"]["sourceIp"] = "192.0.2.10"
    # The route and the table it is looked up in (patgate's own API, stage variable).
    event["httpMethod"], event["resource"], event["path"] = "GET", "/catalog", "/catalog"
    event["stageVariables"] = {"patgateApi": "patgate"}

    report, output = run_function(stack, "authorizer", event, level, tmp_path)

    assert report["outcome"] == "response", report
    assert report["result"]["principalId"] == caller["userId"]
    assert report["result"]["context"]["tokenId"] == token["id"]
    secrets = {"bearer token": token["token"], "token's SHA-256": sha256_hex(token["token"])}
    # At INFO a decision is its metric line only; its log line is DEBUG, with the ids.
    check_output(output, level, secrets, "decision", message_level="DEBUG")
    records = [json.loads(line) for line in output.splitlines() if line.strip()]
    metric = next(r for r in records if "_aws" in r)
    assert (metric["Outcome"], metric["Reason"]) == ("allow", "valid_token"), metric
    if ORDER[level] <= ORDER["DEBUG"]:
        decision = next(r["fields"] for r in records if r.get("fields", {}).get("message") == "decision")
        assert decision["outcome"] == "allow" and decision["reason"] == "valid_token", decision
        assert decision["user_id"] == caller["userId"] and decision["token_id"] == token["id"], decision
        assert isinstance(decision["latency_us"], int), decision


@pytest.mark.parametrize("level", LEVELS)
def test_create_token_logs_no_secret(stack: Stack, caller: dict, level: str, tmp_path: Path):
    session, user_id = caller["session"], caller["userId"]
    event = json.loads((EVENTS / "aws-proxy-post-tokens.json").read_text())
    event["body"] = json.dumps({"name": f"log-secrecy-{level}", "expiresOn": in_days(30)})
    event["isBase64Encoded"] = False
    event["headers"]["Authorization"] = session
    event["multiValueHeaders"]["Authorization"] = [session]
    event["requestContext"]["authorizer"] = {
        "claims": {"sub": user_id, "cognito:username": user_id, "token_use": "id"}
    }

    report, output = run_function(stack, "create-token", event, level, tmp_path)

    assert report["outcome"] == "response", report
    assert report["result"]["statusCode"] == 201, report
    issued = json.loads(report["result"]["body"])["token"]
    secrets = {
        "session JWT": session,
        "session JWT's signature": session.rsplit(".", 1)[1],
        "issued token": issued,
        "issued token's SHA-256": sha256_hex(issued),
    }
    check_output(output, level, secrets, "token created")
