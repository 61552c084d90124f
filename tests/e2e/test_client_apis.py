"""The example client APIs of infra/examples (a REST API and an HTTP API, payload 2.0
with simple responses) served by the local stack from their own templates, with
patgate's authorizer deciding by their route tables of infra/config/permissions.json
("orders", "orders-http"): allow, deny, 401, and a revoked token, for each kind."""

from __future__ import annotations

import time

import pytest
import requests

from conftest import CACHE_TTL_SECONDS, Stack

# API Gateway's own answers, per kind.
DENIED = {
    "rest": {"message": "User is not authorized to access this resource with an explicit deny"},
    "http": {"message": "Forbidden"},
}
UNAUTHORIZED = {"message": "Unauthorized"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("kind", ["rest", "http"])
def test_client_api_allows_denies_and_refuses_by_its_own_table(stack: Stack, kind: str):
    viewer = stack.new_user(f"orders-viewer-{kind}", ["Viewer"])
    session = stack.session(viewer)
    created = stack.new_token(session, name=f"orders-{kind}")
    token = created["token"]
    base = stack.clients[kind]

    allowed = requests.get(f"{base}/orders/o-1", headers=bearer(token))
    filled = time.monotonic()
    assert allowed.status_code == 200, allowed.text
    echo = allowed.json()
    assert (echo["userId"], echo["tokenId"], echo["permissions"]) == (viewer, created["id"], "catalog:read")

    # POST /orders needs entity:edit, which a Viewer lacks: 403 from the gateway.
    write = requests.post(f"{base}/orders", json={}, headers=bearer(token))
    assert write.status_code == 403, write.text
    assert write.json() == DENIED[kind]

    # No token: 401 without calling the authorizer; a forged one: 401 from it.
    assert requests.get(f"{base}/orders").status_code == 401
    forged = requests.get(f"{base}/orders", headers=bearer("pgt_" + "A" * 49))
    assert (forged.status_code, forged.json()) == (401, UNAUTHORIZED)

    # Revoked: refused once the cached answer for this route is past its TTL.
    revoked = requests.delete(stack.url(f"/tokens/{created['id']}"), headers={"Authorization": session})
    assert revoked.status_code == 204
    time.sleep(max(0.0, filled + CACHE_TTL_SECONDS + 0.2 - time.monotonic()))
    after = requests.get(f"{base}/orders/o-1", headers=bearer(token))
    assert (after.status_code, after.json()) == (401, UNAUTHORIZED)


def test_a_route_of_patgate_api_is_not_a_route_of_a_client_api(stack: Stack):
    """The same token on another API is decided by that API's table: a User may PUT
    /catalog/{id} on patgate's API, and /catalog is no route of the orders API."""
    session = stack.session("demo-user")
    token = stack.new_token(session, name="two-apis")["token"]
    assert requests.get(stack.url("/catalog/svc-1"), headers=bearer(token)).status_code == 200
    for kind in ("rest", "http"):
        missing = requests.get(f"{stack.clients[kind]}/catalog/svc-1", headers=bearer(token))
        assert missing.status_code in (403, 404), missing.text
