"""API clients over HTTP against the local stack: a token asks what it is
(`GET /tokens/self`) and sees its expiry on every answer (`Patgate-Token-Expiration`),
rotates itself once it opted in (`POST /tokens/self/rotate`), and GitLab's token
revocation API revokes with a credential issued through the admin API.
"""

from __future__ import annotations

import time

import requests

from conftest import CACHE_TTL_SECONDS, Stack
from test_directory import signed

GITLAB_TYPE = "gitleaks_rule_id_patgate_personal_access_token"
TYPES = "/integrations/gitlab/v1/revocable_token_types"
REVOKE = "/integrations/gitlab/v1/revoke_tokens"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_asks_what_it_is_and_rotates_itself(stack: Stack, conforms):
    session = stack.session(stack.new_user("self-bot", ["User"]))
    bot = stack.new_token(session, name="bot", permissions=["catalog:read", "token:rotate-self"])
    me = conforms(requests.get(stack.url("/tokens/self"), headers=bearer(bot["token"])), "/tokens/self", "GET")
    assert me.status_code == 200, me.text
    assert me.json()["id"] == bot["id"]
    assert me.json()["permissions"] == ["catalog:read", "token:rotate-self"]
    assert me.json()["rotation"] == {"secretVersion": 1, "secretState": "current", "canRotateSelf": True}
    assert me.headers["Patgate-Token-Expiration"] == bot["expiresAt"] == me.json()["expiresAt"]
    demo = conforms(requests.get(stack.url("/catalog"), headers=bearer(bot["token"])), "/catalog", "GET")
    assert demo.headers["Patgate-Token-Expiration"] == bot["expiresAt"]

    path = "/tokens/self/rotate"
    rotated = conforms(requests.post(stack.url(path), json={}, headers=bearer(bot["token"])), path, "POST")
    assert rotated.status_code == 201, rotated.text
    secret = rotated.json()["token"]
    assert rotated.json()["id"] == bot["id"] and secret != bot["token"]
    again = conforms(requests.post(stack.url(path), json={}, headers=bearer(secret)), path, "POST")
    assert (again.status_code, again.json()["error"]["code"]) == (429, "rate_limited")
    assert 3500 < int(again.headers["Retry-After"]) <= 3600
    after = requests.get(stack.url("/tokens/self"), headers=bearer(secret)).json()
    assert after["rotation"]["secretVersion"] == 2

    plain = stack.new_token(session, name="plain")
    denied = conforms(requests.post(stack.url(path), json={}, headers=bearer(plain["token"])), path, "POST")
    assert denied.status_code == 403, denied.text


def test_gitlab_revokes_through_its_token_revocation_api(stack: Stack, conforms):
    issued = signed("POST", stack.url("/admin/integrations/gitlab/credential"))
    assert issued.status_code == 201, issued.text
    credential = issued.json()["credential"]
    assert credential.startswith("pgt_gitlab_")
    gitlab = {"Authorization": credential}
    types = conforms(requests.get(stack.url(TYPES), headers=gitlab), TYPES, "GET")
    assert types.json() == {"types": [GITLAB_TYPE]}
    refused = conforms(requests.get(stack.url(TYPES)), TYPES, "GET")
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "unauthenticated")

    session = stack.session(stack.new_user("gl-leak", ["Viewer"]))
    token = stack.new_token(session, name="leaked-in-gitlab")
    assert requests.get(stack.url("/catalog"), headers=bearer(token["token"])).status_code == 200
    cache_filled = time.monotonic()
    found = [{"type": GITLAB_TYPE, "token": token["token"], "location": "https://gitlab.example.com/g/p/-/blob/1/x"}]
    unknown = [{"type": GITLAB_TYPE, "token": "pgt_" + "A" * 49}]
    for body in (found, unknown):
        answer = conforms(requests.post(stack.url(REVOKE), json=body, headers=gitlab), REVOKE, "POST")
        assert (answer.status_code, answer.content) == (204, b""), answer.text
    wrong = [{"type": "gitleaks_rule_id_gitlab_personal_access_token", "token": "glpat-x"}]
    answer = conforms(requests.post(stack.url(REVOKE), json=wrong, headers=gitlab), REVOKE, "POST")
    assert (answer.status_code, answer.json()["error"]["field"]) == (400, "type")

    time.sleep(max(0.0, cache_filled + CACHE_TTL_SECONDS + 0.2 - time.monotonic()))
    assert requests.get(stack.url("/catalog"), headers=bearer(token["token"])).status_code == 401
    revoked = stack.list_tokens(session, status="revoked").json()["tokens"]
    assert [t["revokedReason"] for t in revoked if t["id"] == token["id"]] == ["leaked"]
