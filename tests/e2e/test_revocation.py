"""Revocation in seconds with the authorizer cache at 300 s, end to end: a stack of its
own (`--authorizer-cache-ttl 300`), whose revocations function follows the table's
stream and flushes the local gateway's authorizer cache through the API Gateway
management endpoint. Every change that takes access away is refused within
REFUSED_WITHIN_SECONDS of its commit (the answer of the request that made it),
long before the cache's 300 s."""

from __future__ import annotations

import time

import pytest
import requests

from conftest import Stack, running_stack
from test_directory import signed

CACHE_TTL_SECONDS = 300
REFUSED_WITHIN_SECONDS = 2.0


@pytest.fixture(scope="module")
def cached(tmp_path_factory) -> Stack:
    with running_stack(tmp_path_factory.mktemp("cached-stack"), CACHE_TTL_SECONDS) as running:
        yield running


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def status(stack: Stack, token: str, method: str = "GET", path: str = "/catalog") -> int:
    return requests.request(method, stack.url(path), json={} if method != "GET" else None, headers=bearer(token), timeout=10).status_code


def refused_after(stack: Stack, token: str, committed: float, method: str = "GET", path: str = "/catalog") -> float:
    """Seconds from `committed` to the first refused call, polling every 20 ms."""
    while time.monotonic() - committed < 10:
        if status(stack, token, method, path) in (401, 403):
            return time.monotonic() - committed
        time.sleep(0.02)
    pytest.fail(f"{method} {path} still allowed 10 s after the commit")


def cached_token(stack: Stack, session: str, name: str) -> dict:
    token = stack.new_token(session, name=name)
    assert status(stack, token["token"]) == 200
    assert status(stack, token["token"]) == 200  # from the cache now
    return token


def test_revoke_and_leak_report_are_refused_within_seconds_others_keep_working(cached: Stack):
    session = cached.session(cached.new_user("revoke", ["User"]))
    revoked = cached_token(cached, session, "revoked")
    leaked = cached_token(cached, session, "leaked")
    bystander = cached_token(cached, session, "bystander")

    response = requests.delete(cached.url(f"/tokens/{revoked['id']}"), headers={"Authorization": session}, timeout=10)
    committed = time.monotonic()
    assert response.status_code == 204
    assert refused_after(cached, revoked["token"], committed) <= REFUSED_WITHIN_SECONDS

    assert cached.report_leaked([leaked["token"]]).status_code == 202
    committed = time.monotonic()
    assert refused_after(cached, leaked["token"], committed) <= REFUSED_WITHIN_SECONDS
    assert status(cached, bystander["token"]) == 200


def test_a_rotated_out_secret_is_refused_at_once_or_when_its_grace_ends(cached: Stack):
    session = cached.session(cached.new_user("rotate", ["User"]))
    at_once = cached_token(cached, session, "grace-0")
    rotated = cached.rotate(session, at_once["id"])
    committed = time.monotonic()
    assert rotated.status_code == 201, rotated.text
    assert refused_after(cached, at_once["token"], committed) <= REFUSED_WITHIN_SECONDS
    assert status(cached, rotated.json()["token"]) == 200

    later = cached_token(cached, session, "grace-3")
    rotated = cached.rotate(session, later["id"], {"graceSeconds": 3})
    committed = time.monotonic()
    assert rotated.status_code == 201, rotated.text
    assert status(cached, later["token"]) == 200, "valid during its grace"
    # Refused when the grace ends (whole seconds, so up to 1 s after the 3 s) plus the flush.
    elapsed = refused_after(cached, later["token"], committed)
    assert 2.0 <= elapsed <= 3 + 1 + REFUSED_WITHIN_SECONDS, elapsed
    assert status(cached, rotated.json()["token"]) == 200


def test_deactivation_and_downgrade_are_refused_within_seconds(cached: Stack):
    leaver_id = cached.new_user("leaver", ["User"])
    leaver = cached_token(cached, cached.session(leaver_id), "leaver")
    mover_id = cached.new_user("mover", ["User"])
    mover = cached.new_token(cached.session(mover_id), name="mover")
    assert status(cached, mover["token"], "PUT", "/catalog/x") == 200
    assert status(cached, mover["token"], "PUT", "/catalog/x") == 200  # cached

    answer = signed("PUT", cached.url(f"/admin/users/{leaver_id}"), {"roles": ["User"], "active": False})
    committed = time.monotonic()
    assert answer.status_code in (200, 201), answer.text
    assert refused_after(cached, leaver["token"], committed) <= REFUSED_WITHIN_SECONDS

    answer = signed("PUT", cached.url(f"/admin/users/{mover_id}"), {"roles": ["Viewer"]})
    committed = time.monotonic()
    assert answer.status_code in (200, 201), answer.text
    assert refused_after(cached, mover["token"], committed, "PUT", "/catalog/x") <= REFUSED_WITHIN_SECONDS
    assert status(cached, mover["token"]) == 200, "reads are still granted"
