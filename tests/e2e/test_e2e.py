"""End-to-end tests over HTTP against the local stack (see conftest.py).

Every response these tests look at is also checked against infra/openapi.yaml
(`conforms`: documented status, body matching the schema).
"""

from __future__ import annotations

import hashlib
import json
import time

import requests

from conftest import CACHE_TTL_SECONDS, TABLE_NAME, Stack, in_days

EXPLICIT_DENY = {"message": "User is not authorized to access this resource with an explicit deny"}
UNAUTHORIZED = {"message": "Unauthorized"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def wait_out_the_policy_cache(since: float) -> None:
    """Sleeps until a policy API Gateway cached at monotonic time `since` has expired."""
    time.sleep(max(0.0, since + CACHE_TTL_SECONDS + 0.2 - time.monotonic()))


def test_session_create_call_deny_revoke(stack: Stack, conforms):
    session = stack.session("demo-user")  # role User: catalog:read, entity:edit
    created = conforms(stack.create_token(session, name="walkthrough"), "/tokens", "POST").json()
    assert created["token"].startswith("pgt_")
    assert created["timeZone"] == "Europe/Paris"  # from the user's record
    assert created["hint"] == "pgt_…" + created["token"][-4:]
    assert (created["status"], created["permissions"], created["lastUsedAt"]) == ("active", None, None)

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
    wait_out_the_policy_cache(cache_filled)
    after = conforms(requests.get(stack.url("/catalog"), headers=bearer(created["token"])), "/catalog", "GET")
    assert after.status_code == 401
    assert after.json() == UNAUTHORIZED

    listed = conforms(requests.get(stack.url("/tokens"), headers={"Authorization": session}), "/tokens", "GET").json()
    assert created["id"] not in [t["id"] for t in listed["tokens"]]
    revoked = conforms(stack.list_tokens(session, status="revoked"), "/tokens", "GET").json()
    [shown] = [t for t in revoked["tokens"] if t["id"] == created["id"]]
    assert (shown["status"], shown["revokedReason"]) == ("revoked", "user")
    assert shown["revokedAt"] is not None
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

    def keys(issued: dict) -> list[dict]:
        return [
            {"pk": {"S": "TOKENS#demo-manager"}, "sk": {"S": f"TOKEN#{issued['id']}"}},
            {"pk": {"S": "HASH#" + sha256_hex(issued["token"])}, "sk": {"S": "HASH"}},
        ]

    # The keys are where the store writes a token (a live one is still there)...
    live = stack.new_token(session, name="ttl-live")
    for key in keys(live):
        assert "Item" in stack.dynamodb("GetItem", {"TableName": TABLE_NAME, "Key": key, "ConsistentRead": True}), key
    # ...and TTL removes the expired token's items.
    token_key, hash_key = keys(token)
    deadline = time.monotonic() + 60
    remaining = [token_key, hash_key]
    while remaining and time.monotonic() < deadline:
        remaining = [
            key for key in remaining
            if "Item" in stack.dynamodb("GetItem", {"TableName": TABLE_NAME, "Key": key, "ConsistentRead": True})
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


def test_a_personal_access_token_cannot_manage_tokens(stack: Stack, conforms):
    session = stack.session("demo-admin")
    token = stack.new_token(session, name="not-a-session")
    pat = bearer(token["token"])
    assert requests.get(stack.url("/settings"), headers=pat).status_code == 200  # a working token
    calls = [
        ("GET", "/tokens", "/tokens", None),
        ("POST", "/tokens", "/tokens", {"name": "minted", "expiresOn": in_days(1)}),
        ("POST", f"/tokens/{token['id']}/rotate", "/tokens/{id}/rotate", {}),
        ("DELETE", f"/tokens/{token['id']}", "/tokens/{id}", None),
    ]
    for method, path, template, body in calls:
        response = conforms(requests.request(method, stack.url(path), json=body, headers=pat), template, method)
        assert (response.status_code, response.json()) == (401, UNAUTHORIZED), (method, path)
    # Nothing changed: the token is still live, with its secret.
    listed = stack.list_tokens(session).json()["tokens"]
    assert [t["hint"] for t in listed if t["id"] == token["id"]] == [token["hint"]]


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
    assert response.headers["Access-Control-Allow-Headers"] == "Authorization,Content-Type,Idempotency-Key"
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
        ('{"name":"x","expiresOn":"' + in_days(30) + '","permissions":[]}', 400, "invalid_field", "permissions"),
        ('{"name":"x","expiresOn":"' + in_days(30) + '","permissions":["catalog:write"]}', 400, "invalid_field", "permissions"),
        ('{"name":"x","expiresOn":"' + in_days(30) + '","permissions":"catalog:read"}', 400, "invalid_field", "permissions"),
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


def test_rotation_keeps_the_token_and_retires_the_old_secret_after_its_grace(stack: Stack, conforms):
    session = stack.session(stack.new_user("rotate", ["User"]))
    original = stack.new_token(session, name="rotate-me", description="CI deploy")
    # Not called before the rotation: no cached policy for the old secret.
    rotated = conforms(stack.rotate(session, original["id"], {"graceSeconds": 60}), "/tokens/{id}/rotate", "POST")
    assert rotated.status_code == 201, rotated.text
    rotated = rotated.json()
    assert rotated["token"] != original["token"]
    assert rotated["hint"] == "pgt_…" + rotated["token"][-4:]
    for kept in ["id", "name", "description", "createdAt", "expiresAt", "expiresOn", "timeZone", "permissions"]:
        assert rotated[kept] == original[kept], kept
    assert rotated["rotatedAt"] is not None and rotated["status"] == "active"

    new = conforms(requests.get(stack.url("/catalog"), headers=bearer(rotated["token"])), "/catalog", "GET")
    assert (new.status_code, new.json()["tokenId"]) == (200, original["id"])
    old_used = time.monotonic()
    during_grace = conforms(requests.get(stack.url("/catalog"), headers=bearer(original["token"])), "/catalog", "GET")
    assert (during_grace.status_code, during_grace.json()["tokenId"]) == (200, original["id"])

    try:
        stack.set_clock_offset(120)  # past the 60 s grace
        wait_out_the_policy_cache(old_used)
        refused = conforms(requests.get(stack.url("/catalog"), headers=bearer(original["token"])), "/catalog", "GET")
        assert (refused.status_code, refused.json()) == (401, UNAUTHORIZED)
        assert requests.get(stack.url("/catalog"), headers=bearer(rotated["token"])).status_code == 200
    finally:
        stack.set_clock_offset(0)

    listed = conforms(stack.list_tokens(session), "/tokens", "GET").json()["tokens"]
    [shown] = [t for t in listed if t["id"] == original["id"]]
    assert shown["hint"] == rotated["hint"]
    assert shown["rotatedAt"] == rotated["rotatedAt"]
    assert shown["secretReusedAt"] is not None and shown["secretReusedAt"] > rotated["rotatedAt"]

    # Grace 0 (an empty body): the replaced secret stops at once, the new one works.
    plain = stack.new_token(session, name="rotate-now")
    again = conforms(
        requests.post(stack.url(f"/tokens/{plain['id']}/rotate"), headers={"Authorization": session}),
        "/tokens/{id}/rotate",
        "POST",
    )
    assert again.status_code == 201, again.text
    assert requests.get(stack.url("/catalog"), headers=bearer(plain["token"])).json() == UNAUTHORIZED
    assert requests.get(stack.url("/catalog"), headers=bearer(again.json()["token"])).status_code == 200


def test_rotation_errors(stack: Stack, conforms):
    session = stack.session("demo-user")
    token = stack.new_token(session, name="rotation-errors")
    cases = [
        ({"graceSeconds": 86_401}, 400, "graceSeconds"),
        ({"graceSeconds": -1}, 400, "graceSeconds"),
        ({"timeZone": "Europe/Paris"}, 400, "timeZone"),  # only with a new expiresOn
        ({"expiresOn": "2000-01-01"}, 400, "expiresOn"),
        ({"expiresOn": in_days(1), "role": "Admin"}, 400, "body"),
    ]
    for body, status, field in cases:
        response = conforms(stack.rotate(session, token["id"], body), "/tokens/{id}/rotate", "POST")
        assert (response.status_code, response.json()["error"].get("field")) == (status, field), body
    others = stack.session("demo-manager")
    for who, token_id in [(others, token["id"]), (session, "01KAXGB0T8E9J5R2N3M4P5Q6RS"), (session, "nope")]:
        response = conforms(stack.rotate(who, token_id, {}), "/tokens/{id}/rotate", "POST")
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found"), token_id
    # A revoked token cannot be rotated back to life.
    assert requests.delete(stack.url(f"/tokens/{token['id']}"), headers={"Authorization": session}).status_code == 204
    response = conforms(stack.rotate(session, token["id"], {}), "/tokens/{id}/rotate", "POST")
    assert response.status_code == 404
    # It stays revoked, with the secret it was created with.
    assert requests.get(stack.url("/catalog"), headers=bearer(token["token"])).json() == UNAUTHORIZED


def test_a_scoped_token_may_do_only_what_it_lists(stack: Stack, conforms):
    session = stack.session("demo-user")  # role User: catalog:read, entity:edit
    scoped = conforms(stack.create_token(session, name="read-only", permissions=["catalog:read"]), "/tokens", "POST")
    assert scoped.status_code == 201, scoped.text
    token = scoped.json()
    assert token["permissions"] == ["catalog:read"]

    read = conforms(requests.get(stack.url("/catalog"), headers=bearer(token["token"])), "/catalog", "GET")
    assert read.status_code == 200
    assert read.json()["permissions"] == "catalog:read"
    write = conforms(
        requests.put(stack.url("/catalog/x"), json={}, headers=bearer(token["token"])), "/catalog/{entityId}", "PUT"
    )
    assert (write.status_code, write.json()) == (403, EXPLICIT_DENY)

    page = conforms(stack.list_tokens(session), "/tokens", "GET").json()
    assert [t["permissions"] for t in page["tokens"] if t["id"] == token["id"]] == [["catalog:read"]]
    assert page["caller"] == {"permissions": ["catalog:read", "entity:edit"], "timeZone": "Europe/Paris"}


def test_a_reported_leak_revokes_the_token(stack: Stack, conforms):
    session = stack.session(stack.new_user("leak", ["Viewer"]))
    token = stack.new_token(session, name="leaked")
    assert requests.get(stack.url("/catalog"), headers=bearer(token["token"])).status_code == 200
    cache_filled = time.monotonic()

    for credentials in (["not a token", f"pgt_{'A' * 49}", ""], [f"  {token['token']}\n", "garbage"]):
        reported = conforms(stack.report_leaked(credentials), "/credentials/revoke", "POST")
        assert (reported.status_code, reported.content) == (202, b""), credentials
        assert "Content-Type" not in reported.headers

    wait_out_the_policy_cache(cache_filled)
    after = conforms(requests.get(stack.url("/catalog"), headers=bearer(token["token"])), "/catalog", "GET")
    assert (after.status_code, after.json()) == (401, UNAUTHORIZED)
    assert token["id"] not in [t["id"] for t in stack.list_tokens(session).json()["tokens"]]
    revoked = conforms(stack.list_tokens(session, status="revoked"), "/tokens", "GET").json()["tokens"]
    [shown] = [t for t in revoked if t["id"] == token["id"]]
    assert (shown["status"], shown["revokedReason"]) == ("revoked", "leaked")
    assert shown["revokedAt"] is not None
    # Reporting it again changes nothing and says nothing.
    assert stack.report_leaked([token["token"]]).status_code == 202


def test_leak_reports_must_be_well_formed(stack: Stack, conforms):
    cases = [
        ("", 400, "invalid_json", None),
        ("[]", 400, "invalid_json", None),
        ("{}", 400, "invalid_field", "credentials"),
        ('{"credentials":[]}', 400, "invalid_field", "credentials"),
        ('{"credentials":"pgt_x"}', 400, "invalid_field", "credentials"),
        ('{"credentials":[1]}', 400, "invalid_field", "credentials"),
        ('{"credentials":["x"],"note":"found on a paste site"}', 400, "invalid_field", "body"),
        ('{"credentials":[' + ",".join(['"x"'] * 1001) + "]}", 400, "invalid_field", "credentials"),
        ('{"credentials":["' + "x" * (129 * 1024) + '"]}', 413, "payload_too_large", None),
    ]
    for body, status, code, field in cases:
        response = conforms(
            requests.post(stack.url("/credentials/revoke"), data=body, headers={"Content-Type": "application/json"}),
            "/credentials/revoke",
            "POST",
        )
        assert response.status_code == status, body[:80]
        assert (response.json()["error"]["code"], response.json()["error"].get("field")) == (code, field), body[:80]


def test_the_local_stack_refuses_github_alerts_before_reading_them(stack: Stack, conforms):
    # The local stack sets no GitHub key URL: nothing is fetched, every alert is refused
    # (tests/api/github.rs signs real ones with keys of its own).
    session = stack.session(stack.new_user("gh-alert", ["Viewer"]))
    token = stack.new_token(session, name="alerted")
    body = json.dumps([{"token": token["token"], "type": "patgate_token", "url": "", "source": "content"}])
    path = "/integrations/github/secret-scanning"
    signed = {
        "Content-Type": "application/json",
        "Github-Public-Key-Identifier": "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c",
        "Github-Public-Key-Signature": "MEQCIQDaMKqrGnE27S0kgMrEK0eYBmyG0LeZismAEz/BgZyt7AIfXt9fErtRS4XaeSt/AO1RtBY66YcAdjxji410VQV4xg==",
    }
    refused = conforms(requests.post(stack.url(path), data=body, headers=signed), path, "POST")
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "invalid_signature")
    unsigned = conforms(
        requests.post(stack.url(path), data=body, headers={"Content-Type": "application/json"}), path, "POST"
    )
    assert (unsigned.status_code, unsigned.json()["error"]["field"]) == (400, "Github-Public-Key-Identifier")
    assert token["token"][4:] not in refused.text + unsigned.text
    assert requests.get(stack.url("/catalog"), headers=bearer(token["token"])).status_code == 200


def test_the_list_shows_where_a_token_was_last_used(stack: Stack, conforms):
    session = stack.session(stack.new_user("origin", ["Viewer"]))
    token = stack.new_token(session, name="origin")
    agent = "patgate-e2e/1.0 (last-used origin)"
    used = requests.get(stack.url("/catalog"), headers={**bearer(token["token"]), "User-Agent": agent})
    assert used.status_code == 200
    [shown] = conforms(stack.list_tokens(session), "/tokens", "GET").json()["tokens"]
    assert shown["id"] == token["id"]
    assert shown["lastUsedAt"] is not None and shown["lastUsedAt"] >= token["createdAt"]
    assert (shown["lastUsedIp"], shown["lastUsedUserAgent"]) == ("127.0.0.1", agent)


def test_pages_hold_every_token_once_newest_first(stack: Stack, conforms):
    session = stack.session(stack.new_user("pages", ["Viewer"], time_zone="Asia/Kathmandu"))
    created = [stack.new_token(session, name=f"page-{i}")["id"] for i in range(5)]
    seen, pages, next_token = [], 0, None
    while True:
        params = {"limit": 2, **({"nextToken": next_token} if next_token else {})}
        page = conforms(stack.list_tokens(session, **params), "/tokens", "GET").json()
        pages += 1
        assert len(page["tokens"]) <= 2
        seen += [t["id"] for t in page["tokens"]]
        next_token = page["nextToken"]
        if next_token is None:
            break
        assert pages < 10, "pagination does not end"
    assert seen == list(reversed(created))
    assert pages == 3
    assert page["caller"] == {"permissions": ["catalog:read"], "timeZone": "Asia/Kathmandu"}
    assert page["limits"] == {"maxTokenLifetimeDays": 366, "maxTokensPerUser": 50, "maxGraceSeconds": 86_400}
    # One page of everything is the same list.
    everything = stack.list_tokens(session).json()
    assert ([t["id"] for t in everything["tokens"]], everything["nextToken"]) == (seen, None)

    bad = [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "two"}, "limit"),
        ({"status": "expired"}, "status"),
        ({"nextToken": "not-a-token-id"}, "nextToken"),
        ({"page": 2}, "query"),
    ]
    for params, field in bad:
        response = conforms(stack.list_tokens(session, **params), "/tokens", "GET")
        assert response.status_code == 400, params
        assert (response.json()["error"]["code"], response.json()["error"]["field"]) == ("invalid_field", field)


def test_a_field_given_twice_is_refused_by_name(stack: Stack, conforms):
    session = stack.session("demo-user")
    headers = {"Authorization": session, "Content-Type": "application/json"}
    token = stack.new_token(session, name="duplicates")
    day = in_days(10)
    cases = [
        ("/tokens", "/tokens", f'{{"name":"a","expiresOn":"{day}","name":"b"}}', "name"),
        ("/tokens", "/tokens", f'{{"expiresOn":"{day}","name":"a","expiresOn":"{day}"}}', "expiresOn"),
        (f"/tokens/{token['id']}/rotate", "/tokens/{id}/rotate", '{"graceSeconds":0,"graceSeconds":60}', "graceSeconds"),
        ("/credentials/revoke", "/credentials/revoke", '{"credentials":["x"],"credentials":["y"]}', "credentials"),
    ]
    for path, template, body, field in cases:
        response = conforms(requests.post(stack.url(path), data=body, headers=headers), template, "POST")
        assert response.status_code == 400, body
        assert (response.json()["error"]["code"], response.json()["error"]["field"]) == ("invalid_field", field), body
    # Nothing was created or rotated.
    names = [t["name"] for t in stack.list_tokens(session).json()["tokens"]]
    assert "a" not in names and "b" not in names
    assert requests.get(stack.url("/catalog"), headers=bearer(token["token"])).status_code == 200
