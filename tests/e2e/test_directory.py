"""The admin API and SCIM over HTTP against the local stack.

`/admin/*` routes are `AWS_IAM` routes: the local gateway checks a real Signature
Version 4 (botocore's signer, service `execute-api`) made with the local stack's fixed
development credentials, and refuses unsigned or mis-signed requests as API Gateway
does. SCIM is checked by an independent conformance checker from PyPI, scim-sanity
(pinned in tests/e2e/requirements.txt), against `/scim/v2` with a credential issued
through the admin API.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import Stack

# The local stack's development credentials (infra/local/src/sigv4.rs); development only.
ACCESS_KEY_ID = "AKIAPATGATELOCAL0001"
SECRET_ACCESS_KEY = "patgate-local-development-secret-key"


def signed(method: str, url: str, body: dict | None = None, secret: str = SECRET_ACCESS_KEY) -> requests.Response:
    data = json.dumps(body) if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    SigV4Auth(Credentials(ACCESS_KEY_ID, secret), "execute-api", "us-east-1").add_auth(request)
    return requests.request(method, url, data=data, headers=dict(request.headers), timeout=30)


def test_admin_routes_take_only_sigv4_signed_requests(stack: Stack) -> None:
    url = stack.url("/admin/users/e2e-admin-ann")
    unsigned = requests.put(url, json={"roles": ["User"]}, timeout=30)
    assert unsigned.status_code == 403
    assert unsigned.json() == {"message": "Missing Authentication Token"}
    forged = signed("PUT", url, {"roles": ["User"]}, secret="not-the-secret")
    assert forged.status_code == 403
    assert "signature we calculated does not match" in forged.json()["message"]
    # A session is no IAM signature either.
    session = stack.session("demo-admin")
    assert requests.get(url, headers={"Authorization": session}, timeout=30).status_code == 403

    created = signed("PUT", url, {"roles": ["User"], "timeZone": "Europe/Paris"})
    assert created.status_code == 201, created.text
    assert created.json()["userName"] == "e2e-admin-ann"
    again = signed("GET", url)
    assert again.status_code == 200 and again.json()["roles"] == ["User"]
    page = signed("GET", stack.url("/admin/tokens?ownerKind=user&limit=5"))
    assert page.status_code == 200 and "tokens" in page.json()


def test_an_independent_scim_checker_finds_the_scim_api_conformant(stack: Stack) -> None:
    issued = signed("POST", stack.url("/admin/integrations/scim/credential"))
    assert issued.status_code == 201, issued.text
    credential = issued.json()["credential"]
    checker = shutil.which("scim-sanity") or str(Path(sys.executable).parent / "scim-sanity")
    run = subprocess.run(
        [checker, "probe", stack.url("/scim/v2"), "--token", credential, "--i-accept-side-effects"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(run.stdout)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Result: All tests passed." in run.stdout
    assert " 0 passed" not in run.stdout
