"""Steps the browser tests (and infra/web/measure.py) take on the page, by what a
person sees: roles and accessible names."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Callable
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, Route, expect

TOKEN_RE = re.compile(r"^pgt_[0-9A-Za-z]{49}$")


def today(zone: str = "Europe/Paris") -> dt.date:
    return dt.datetime.now(ZoneInfo(zone)).date()


def in_days(days: int, zone: str = "Europe/Paris") -> str:
    return (today(zone) + dt.timedelta(days=days)).isoformat()


def element(page: Page):
    return page.locator("patgate-tokens")


def table(page: Page):
    """The table of the person's tokens."""
    return page.get_by_role("table", name="Your tokens", exact=True)


def row(page: Page, name: str):
    """The table row of the token named `name` (rows are named by their header, the token's name)."""
    return table(page).get_by_role("row", name=name, exact=True)


def rows(page: Page):
    """The table's token rows (the header row left out)."""
    return table(page).locator("tbody").get_by_role("row")


def names(page: Page) -> list[str]:
    """The names of the tokens in the table, in its order."""
    return table(page).locator("tbody th .name").all_inner_texts()


def cell(item, column: str):
    """The value in a token row's column: name, hint, permissions, created, expires, used, actions."""
    return item.locator(f'[data-column="{column}"] .value')


def create_dialog(page: Page):
    return page.get_by_role("dialog", name="Create a token", exact=True)


def open_create(page: Page) -> None:
    """Opens the dialog "Create a token" with the button in the upper right, unless it is open."""
    if create_dialog(page).count() == 0 or not create_dialog(page).is_visible():
        page.get_by_role("button", name="Create new token", exact=True).click()
    expect(create_dialog(page)).to_be_visible()


def sign_in(page: Page, site_url: str, user_id: str) -> None:
    page.goto(f"{site_url}/?user={user_id}")
    expect(element(page)).to_have_attribute("data-state", "ready")


def fill_form(page: Page, name: str, description: str | None = None, expires_on: str | None = None, zone: str | None = None) -> None:
    open_create(page)
    page.get_by_label("Name", exact=True).fill(name)
    if description is not None:
        page.get_by_label("Description", exact=True).fill(description)
    if zone is not None:
        page.get_by_label("Time zone", exact=True).select_option(zone)
    if expires_on is not None:
        page.get_by_label("Expiration date", exact=True).fill(expires_on)


def create(page: Page, name: str, **fields) -> str:
    """Creates a token with the dialog; returns the revealed plaintext."""
    fill_form(page, name, **fields)
    page.get_by_role("button", name="Create token", exact=True).click()
    expect(create_dialog(page)).to_have_count(0)
    revealed = page.get_by_label("New token", exact=True)
    expect(revealed).to_be_focused()
    token = revealed.input_value()
    assert TOKEN_RE.match(token), token
    return token


def dismiss_reveal(page: Page) -> None:
    page.get_by_role("button", name="Done", exact=True).click()
    expect(page.get_by_label("New token", exact=True)).to_have_count(0)


def edit_create_body(page: Page, api: str, **changes) -> None:
    """From now on, POST /tokens leaves the browser with `changes` applied to its body
    (what the client allows but the server refuses)."""

    def handle(route: Route) -> None:
        request = route.request
        if request.method != "POST":
            route.fallback()
            return
        body = json.loads(request.post_data or "{}")
        body.update(changes)
        route.continue_(post_data=json.dumps(body))

    page.route(f"{api}/tokens", handle)


def fake_answer(page: Page, url: str, method: str, status: int, body: dict | None, origin: str) -> None:
    """Answers `method url` with `status` (and the API's CORS header) without reaching the API."""

    def handle(route: Route) -> None:
        if route.request.method != method:
            route.fallback()
            return
        route.fulfill(
            status=status,
            headers={"Access-Control-Allow-Origin": origin, "Content-Type": "application/json", "Cache-Control": "no-store"},
            body=json.dumps(body) if body is not None else "",
        )

    page.route(url, handle)


def walk_states(page: Page, site_url: str, stack, user_id: str, visit: Callable[[str], None]) -> None:
    """Puts the page in each state a person meets, calling visit(state) in each."""
    api = stack.base_url
    page.goto(f"{site_url}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    visit("signed-out")

    sign_in(page, site_url, user_id)
    expect(page.get_by_text("You have no access tokens yet.")).to_be_visible()
    visit("empty")

    open_create(page)
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    visit("create-dialog")

    page.get_by_role("button", name="Create token", exact=True).click()
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    visit("client-errors")

    edit_create_body(page, api, expiresOn="2000-01-01")
    fill_form(page, "refused-by-server")
    page.get_by_role("button", name="Create token", exact=True).click()
    expect(page.get_by_label("Expiration date", exact=True)).to_have_attribute("aria-invalid", "true")
    page.unroute(f"{api}/tokens")
    visit("server-error")

    limit = "you already have 50 live tokens, the most allowed; revoke one first"  # the server's words
    fake_answer(page, f"{api}/tokens", "POST", 409, {"error": {"code": "token_limit_reached", "message": limit}}, site_url)
    page.get_by_role("button", name="Create token", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="You already have 50 tokens, the most allowed")).to_be_visible()
    page.unroute(f"{api}/tokens")
    visit("create-limit")

    stack.create_token(user_id, "nightly-report", in_days(3))
    used = stack.create_token(user_id, "grafana", in_days(90), time_zone="Asia/Kathmandu")
    assert stack.call_api(used["token"]).status_code == 200
    create(page, "ci-deploy", description="GitHub Actions deploy job for the catalog service", expires_on=in_days(30))
    visit("reveal")

    dismiss_reveal(page)
    page.get_by_role("button", name="Refresh", exact=True).click()
    expect(row(page, "grafana")).to_be_visible()
    expect(row(page, "nightly-report").get_by_text("Expires soon")).to_be_visible()
    visit("list")

    page.get_by_label("Search by name or description", exact=True).fill("deploy")
    page.get_by_role("checkbox", name="Never used").check()
    expect(rows(page)).to_have_count(1)
    visit("filtered")
    page.get_by_role("checkbox", name="Never used").uncheck()
    page.get_by_label("Search by name or description", exact=True).fill("")
    expect(rows(page)).to_have_count(3)

    row(page, "grafana").get_by_role("button", name="Revoke", exact=True).click()
    expect(page.get_by_role("dialog")).to_be_visible()
    visit("revoke-dialog")

    fake_answer(page, f"{api}/tokens/{used['id']}", "DELETE", 503, {"error": {"code": "service_unavailable", "message": "try again"}}, site_url)
    page.get_by_role("dialog").get_by_role("button", name="Revoke token").click()
    expect(row(page, "grafana").get_by_role("alert")).to_contain_text("could not be revoked")
    page.unroute(f"{api}/tokens/{used['id']}")
    visit("revoke-failed")

    fake_answer(page, f"{api}/tokens", "GET", 503, {"error": {"code": "service_unavailable", "message": "try again"}}, site_url)
    page.get_by_role("button", name="Refresh", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="Your tokens could not be loaded")).to_be_visible()
    expect(row(page, "ci-deploy")).to_be_visible()
    page.unroute(f"{api}/tokens")
    visit("refresh-failed")
