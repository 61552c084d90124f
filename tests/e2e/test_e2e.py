"""End-to-end tests over HTTP against the local stack (see conftest.py).

Every response these tests look at is also checked against infra/openapi.yaml
(`conforms`: documented status, body matching the schema).
"""

from __future__ import annotations

import hashlib
import time

import requests

from conftest import CACHE_TTL_SECONDS, Stack, in_days

EXPLICIT_DENY = {"message": "User is not authorized to access this resource with an explicit deny"}
UNAUTHORIZED = {"message": "Unauthorized"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_session_create_call_deny_revoke(stack: Stack, conforms):
    session = stack.session("demo-user")  # role User: catalog:read, entity:edit
    created = conforms(stack.create_token(session, name="walkthrough"), "/tokens", "POST").json()
    assert created["token"].startswith("pgt_")
    assert created["timeZone"] == "Europe/Paris"  # from the user's record

    echo = conforms(requests.get(stack.url("/catalog"), headers=bearer(created["token"])), "/catalog", "GET")
    cache_filled = time.monotonic()
    assert echo.status_code == 200
    assert echo.json()["userId"] == "demo-user"
    assert echo.json()["tokenId"] == created["id"]
    assert echo.json()["permissions"] == "catalog:read,entity:edit"

    write = conforms(requests.put(stack.url("/catalog/svc-1"), json={}, headers=bearer(created["token"])), "/catalog/{entityId}", "PUT")
    assert write.status_code == 200
    denied = conforms(requests.put(stack.url("/settings"), json={}, headers=bearer(created["token"])), "/settings", "PUT")
    assert denied.status_code == 403
    assert denied.json() == EXPLICIT_DENY

    revoked = requests.delete(stack.url(f"/tokens/{created['id']}"), headers={"Authorization": session})
    assert conforms(revoked, "/tokens/{id}", "DELETE").status_code == 204

    # API Gateway keeps the authorizer's policy for the cache TTL: the revoked token
    # still passes until then (AuthorizerCacheTtlSeconds; CACHE_TTL_SECONDS here).
    still_cached = requests.get(stack.url("/catalog"), headers=bearer(created["token"]))
    if time.monotonic() - cache_filled < CACHE_TTL_SECONDS - 0.5:
        assert still_cached.status_code == 200, "the cached policy should still apply"
    time.sleep(max(0.0, cache_filled + CACHE_TTL_SECONDS + 0.2 - time.monotonic()))
    after = conforms(requests.get(stack.url("/catalog"), headers=bearer(created["token"])), "/catalog", "GET")
    assert after.status_code == 401
    assert after.json() == UNAUTHORIZED

    listed = conforms(requests.get(stack.url("/tokens"), headers={"Authorization": session}), "/tokens", "GET").json()
    assert created["id"] not in [t["id"] for t in listed["tokens"]]
    again = requests.delete(stack.url(f"/tokens/{created['id']}"), headers={"Authorization": session})
    assert again.status_code == 204  # already revoked: still 204


def test_viewer_can_create_and_read_but_not_write(stack: Stack, conforms):
    session = stack.session("demo-viewer")
    token = stack.new_token(session, name="viewer")["token"]
    for path, template in [("/catalog", "/catalog"), ("/catalog/svc-42", "/catalog/{entityId}"), ("/scorecards", "/scorecards")]:
        response = conforms(requests.get(stack.url(path), headers=bearer(token)), template, "GET")
        assert response.status_code == 200, path
        assert response.json()["userId"] == "demo-viewer"
    writes = [
        ("POST", "/catalog", "/catalog"),
        ("PUT", "/catalog/svc-42", "/catalog/{entityId}"),
        ("DELETE", "/catalog/svc-42", "/catalog/{entityId}"),
        ("PUT", "/scorecards/sc-1", "/scorecards/{scorecardId}"),
        ("GET", "/settings", "/settings"),
        ("PUT", "/settings", "/settings"),
    ]
    for method, path, template in writes:
        response = conforms(requests.request(method, stack.url(path), headers=bearer(token)), template, method)
        assert response.status_code == 403, (method, path)
        assert response.json() == EXPLICIT_DENY
        assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


def test_users_cannot_see_or_revoke_each_others_tokens(stack: Stack, conforms):
    alice, bob = stack.session("demo-user"), stack.session("demo-manager")
    token = stack.new_token(alice, name="alice-only")
    bob_list = requests.get(stack.url("/tokens"), headers={"Authorization": bob}).json()
    assert token["id"] not in [t["id"] for t in bob_list["tokens"]]
    stolen = conforms(requests.delete(stack.url(f"/tokens/{token['id']}"), headers={"Authorization": bob}), "/tokens/{id}", "DELETE")
    assert stolen.status_code == 404
    assert stolen.json()["error"]["code"] == "not_found"
    unknown = requests.delete(stack.url("/tokens/01KAXGB0T8E9J5R2N3M4P5Q6RS"), headers={"Authorization": bob})
    assert (unknown.status_code, unknown.json()) == (404, stolen.json())  # same answer: no probing
    alice_list = requests.get(stack.url("/tokens"), headers={"Authorization": alice}).json()
    assert token["id"] in [t["id"] for t in alice_list["tokens"]]
    assert requests.get(stack.url("/catalog"), headers=bearer(token["token"])).status_code == 200


def test_a_token_past_its_expiry_is_refused(stack: Stack, conforms):
    session = stack.session("demo-manager")
    token = stack.new_token(session, name="expires-soon", expiresOn=in_days(1), timeZone="UTC")
    # Not called yet, so no cached policy. Move the functions' clock past its expiry.
    try:
        stack.set_clock_offset(3 * 86_400)
        refused = conforms(requests.get(stack.url("/scorecards"), headers=bearer(token["token"])), "/scorecards", "GET")
        assert refused.status_code == 401
        assert refused.json() == UNAUTHORIZED
        listed = requests.get(stack.url("/tokens"), headers={"Authorization": session}).json()
        assert token["id"] not in [t["id"] for t in listed["tokens"]]
    finally:
        stack.set_clock_offset(0)
    assert requests.get(stack.url("/scorecards"), headers=bearer(token["token"])).status_code == 200


def test_dynamodb_ttl_removes_an_expired_token(stack: Stack):
    session = stack.session("demo-manager")
    # Created "three days ago" to expire at the end of that day: already past in real time.
    try:
        shifted_today = stack.set_clock_offset(-3 * 86_400).date().isoformat()
        token = stack.new_token(session, name="ttl", expiresOn=shifted_today, timeZone="UTC")
    finally:
        stack.set_clock_offset(0)
    assert requests.get(stack.url("/catalog"), headers=bearer(token["token"])).json() == UNAUTHORIZED
    token_key = {"pk": {"S": "USER#demo-manager"}, "sk": {"S": f"TOKEN#{token['id']}"}}
    hash_key = {"pk": {"S": "HASH#" + hashlib.sha256(token["token"].encode()).hexdigest()}, "sk": {"S": "HASH"}}
    deadline = time.monotonic() + 60
    remaining = [token_key, hash_key]
    while remaining and time.monotonic() < deadline:
        remaining = [
            key for key in remaining
            if "Item" in stack.dynamodb("GetItem", {"TableName": "patgate-local", "Key": key, "ConsistentRead": True})
        ]
        time.sleep(0.5)
    assert not remaining, f"DynamoDB Local's TTL did not delete {remaining} within 60 s"


def test_credentials_are_checked_before_any_function_runs(stack: Stack, conforms):
    session = stack.session("demo-user")
    cases = [
        ("GET", "/catalog", {}),
        ("GET", "/catalog", {"Authorization": ""}),
        ("GET", "/catalog", {"Authorization": "Bearer not-a-token"}),
        ("GET", "/catalog", {"Authorization": f"Bearer pgt_{'A' * 49}"}),
        ("GET", "/catalog", {"Authorization": session}),  # a session is not a PAT
        ("GET", "/tokens", {}),
        ("GET", "/tokens", {"Authorization": "Bearer pgt_x"}),
        ("GET", "/tokens", {"Authorization": session[:-2] + ("AA" if not session.endswith("AA") else "BB")}),
    ]
    for method, path, headers in cases:
        response = conforms(requests.request(method, stack.url(path), headers=headers), path, method)
        assert response.status_code == 401, (method, path, headers)
        assert response.json() == UNAUTHORIZED
        assert response.headers["WWW-Authenticate"] == "Bearer"
    ok = requests.get(stack.url("/tokens"), headers={"Authorization": f"Bearer {session}"})
    assert ok.status_code == 200  # the session authorizer also takes "Bearer <jwt>"


def test_sessions_expire(stack: Stack):
    session = stack.session("demo-user", ttl_seconds=1)
    assert requests.get(stack.url("/tokens"), headers={"Authorization": session}).status_code == 200
    time.sleep(1.2)
    assert requests.get(stack.url("/tokens"), headers={"Authorization": session}).json() == UNAUTHORIZED
    unknown = requests.post(stack.url("/local/session"), json={"userId": "nobody"})
    assert unknown.status_code == 404


def test_unknown_routes_answer_like_api_gateway(stack: Stack):
    for method, path in [("GET", "/nope"), ("PATCH", "/tokens"), ("GET", "/tokens/"), ("POST", "/settings"), ("GET", "/local/clocks")]:
        response = requests.request(method, stack.url(path), headers={"Authorization": "Bearer x"})
        assert response.status_code == 403, (method, path)
        assert response.json() == {"message": "Missing Authentication Token"}
        assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


def test_cors_preflight_follows_the_template(stack: Stack):
    response = requests.options(
        stack.url("/tokens/01KAXGB0T8E9J5R2N3M4P5Q6RS"),
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "DELETE"},
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert response.headers["Access-Control-Allow-Methods"] == "GET,POST,PUT,DELETE,OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == "Authorization,Content-Type"
    assert response.headers["Access-Control-Max-Age"] == "600"
    listed = requests.get(stack.url("/tokens"), headers={"Authorization": stack.session("demo-viewer")})
    assert listed.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"  # set by the function


def test_token_api_errors_match_the_openapi_document(stack: Stack, conforms):
    session = stack.session("demo-user")
    headers = {"Authorization": session, "Content-Type": "application/json"}
    cases = [
        ("{not json", 400, "invalid_json", None),
        ("[]", 400, "invalid_json", None),
        ('{"expiresOn":"2030-01-01"}', 400, "invalid_field", "name"),
        ('{"name":"x","expiresOn":"2000-01-01"}', 400, "invalid_field", "expiresOn"),
        ('{"name":"x","expiresOn":"' + in_days(400) + '"}', 400, "invalid_field", "expiresOn"),
        ('{"name":"x","expiresOn":"2030-01-01","timeZone":"Mars/Base"}', 400, "invalid_field", "timeZone"),
        ('{"name":"x","expiresOn":"2030-01-01","role":"Admin"}', 400, "invalid_field", "body"),
        ('{"name":"' + "x" * 17_000 + '"}', 413, "payload_too_large", None),
    ]
    for body, status, code, field in cases:
        response = conforms(requests.post(stack.url("/tokens"), data=body, headers=headers), "/tokens", "POST")
        assert response.status_code == status, body[:80]
        assert response.json()["error"]["code"] == code
        assert response.json()["error"].get("field") == field
    inactive = stack.session("demo-inactive")
    refused = conforms(stack.create_token(inactive), "/tokens", "POST")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


def test_the_web_page_has_its_own_origin(stack: Stack):
    config = requests.get(stack.web_url + "/config.json", timeout=10)
    assert config.status_code == 200
    assert config.json() == {"apiBase": stack.base_url, "mode": "local"}
    assert config.headers["Content-Security-Policy"] == (
        f"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' {stack.base_url}; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    assert config.headers["X-Content-Type-Options"] == "nosniff"
    assert config.headers["Referrer-Policy"] == "no-referrer"
    page = requests.get(stack.web_url + "/", timeout=10)  # the bundle, or how to build it
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    for path in ["/%2e%2e/template.yaml", "/nope.js", "/tokens"]:
        assert requests.get(stack.web_url + path, timeout=10).status_code == 404, path
