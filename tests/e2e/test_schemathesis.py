"""schemathesis against the running local stack with infra/openapi.yaml.

Runs the schemathesis CLI (pinned in requirements.txt) with a session for
demo-admin (security scheme `session`) and a PAT of demo-admin (scheme
`bearerToken`), bounded to 50 examples per operation, and requires zero failures of
the checks below: no server errors (5xx), only documented status codes, documented
content types and headers, bodies matching the schemas.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import OPENAPI, Stack

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
MAX_EXAMPLES = 50
TIME_LIMIT_SECONDS = 120


def test_schemathesis_finds_no_server_errors_and_no_schema_violations(stack: Stack, tmp_path: Path):
    session = stack.session("demo-admin")
    token = stack.new_token(session, name="schemathesis")["token"]
    config = tmp_path / "schemathesis.toml"
    # Credentials come from the environment (${VAR} is resolved by schemathesis).
    config.write_text(
        "[auth.openapi.session]\n"
        'api_key = "${PATGATE_SESSION}"\n'
        "[auth.openapi.bearerToken]\n"
        'bearer = "${PATGATE_PAT}"\n'
    )
    command = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", str(config),
        "--no-color",
        "run", str(OPENAPI),
        "--url", stack.base_url,
        "--checks", CHECKS,
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", "20261125",
        "--workers", "2",
        "--request-timeout", "10",
        "--suppress-health-check", "all",
        "--report", "junit",
        "--report-dir", str(tmp_path / "report"),
    ]
    env = {**os.environ, "PATGATE_SESSION": session, "PATGATE_PAT": token}
    result = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=TIME_LIMIT_SECONDS
    )
    output = result.stdout + result.stderr
    print(output[-6000:])
    assert result.returncode == 0, f"schemathesis failed ({result.returncode}):\n{output[-12000:]}"
