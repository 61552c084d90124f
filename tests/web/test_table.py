"""The token table (search, sort, filters, fifty tokens on a desk and on a phone),
permission drift on a row, what an inactive or unknown account is told, and a create
that survives the end of its session: in a real browser against the real local stack."""

from __future__ import annotations

import html
import json
import re
import time
import urllib.parse

import pytest
from playwright.sync_api import Page, Route, expect

from conftest import COGNITO_DOMAIN, check_axe, screenshot
from flows import (
    cell,
    create_dialog,
    element,
    fake_answer,
    fill_form,
    in_days,
    names,
    open_create,
    row,
    rows,
    sign_in,
    table,
)

WIDTHS = [1280, 390]


def look(page: Page, state: str, full_page: bool = True) -> None:
    """A state a person meets: a screenshot, no axe finding, no sideways scrolling."""
    screenshot(page, state, full_page=full_page)
    check_axe(page, state)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{state} scrolls sideways by {overflow} px"


def wait_used(stack, user: str, *token_names: str) -> None:
    """Waits until the stack has recorded a use of each token (it does so after answering)."""
    deadline = time.monotonic() + 10
    while True:
        used = {t["name"] for t in stack.tokens(user) if t.get("lastUsedAt")}
        if set(token_names) <= used:
            return
        assert time.monotonic() < deadline, f"uses not recorded: {set(token_names) - used}"
        time.sleep(0.2)


def status_text(page: Page, text: str):
    return page.get_by_role("status").filter(has_text=text)


# ---------------------------------------------------------------- search, sort, filters


@pytest.mark.parametrize("width", WIDTHS)
def test_search_sort_and_filter_the_table(open_page, site, stack, user, width):
    page, _ = open_page(width=width)
    session = stack.session(user)
    ci = stack.create_token(user, "ci-deploy", in_days(40), session=session)
    stack.create_token(user, "nightly-report", in_days(3), session=session)
    grafana = stack.create_token(user, "grafana", in_days(90), permissions=["catalog:read"], session=session)
    stack.create_token(user, "old-script", in_days(200), session=session)
    assert stack.call_api(ci["token"]).status_code == 200
    time.sleep(1.1)  # last use is kept to the second: grafana's comes later
    assert stack.call_api(grafana["token"]).status_code == 200
    wait_used(stack, user, "ci-deploy", "grafana")
    sign_in(page, site.url, user)
    newest_first = ["old-script", "grafana", "nightly-report", "ci-deploy"]
    assert names(page) == newest_first
    expect(table(page).get_by_role("columnheader", name="Created")).to_have_attribute("aria-sort", "descending")

    # Search, by keyboard: name or description, any case.
    search = page.get_by_label("Search by name or description", exact=True)
    search.focus()
    page.keyboard.type("DEPLOY")
    expect(rows(page)).to_have_count(1)
    expect(row(page, "ci-deploy")).to_be_visible()
    expect(status_text(page, "Showing 1 of 4 tokens.")).to_have_count(1)
    search.fill("no-such-token")
    expect(page.get_by_text("No token matches the search and filters.")).to_be_visible()
    look(page, "table-no-match")
    page.get_by_role("button", name="Clear search and filters").click()
    expect(rows(page)).to_have_count(4)
    expect(search).to_have_value("")

    # Filters, each by keyboard (Space), combined with "and".
    filters = page.get_by_role("group", name="Show only")
    for label, expected in [
        ("Expiring within 7 days", ["nightly-report"]),
        ("Never used", ["old-script", "nightly-report"]),
        ("Limited permissions", ["grafana"]),
    ]:
        box = filters.get_by_role("checkbox", name=label)
        box.focus()
        page.keyboard.press("Space")
        expect(box).to_be_checked()
        expect(rows(page)).to_have_count(len(expected))
        assert names(page) == expected, label
        page.keyboard.press("Space")
        expect(rows(page)).to_have_count(4)
    filters.get_by_role("checkbox", name="Never used").check()
    filters.get_by_role("checkbox", name="Expiring within 7 days").check()
    assert names(page) == ["nightly-report"]
    look(page, "table-filtered")
    filters.get_by_role("checkbox", name="Never used").uncheck()
    filters.get_by_role("checkbox", name="Expiring within 7 days").uncheck()

    # Sort orders: by expiry, last use (never used last, or first) and creation.
    sort = page.get_by_label("Sort by", exact=True)
    for order, expected, column, direction in [
        ("Expiring soonest", ["nightly-report", "ci-deploy", "grafana", "old-script"], "Expires", "ascending"),
        ("Used most recently", ["grafana", "ci-deploy", "old-script", "nightly-report"], "Last used", "descending"),
        ("Used least recently (never first)", ["old-script", "nightly-report", "ci-deploy", "grafana"], "Last used", "ascending"),
        ("Oldest first", list(reversed(newest_first)), "Created", "ascending"),
    ]:
        sort.select_option(label=order)
        expect(table(page).get_by_role("columnheader", name=column)).to_have_attribute("aria-sort", direction)
        assert names(page) == expected, order
    look(page, "table-sorted")


# ---------------------------------------------------------------- fifty tokens


@pytest.mark.parametrize("width", WIDTHS)
def test_fifty_tokens_on_a_desk_and_on_a_phone(open_page, other_site, other_stack, width):
    page, _ = open_page(width=width, on=other_site)
    user = other_stack.new_user()
    session = other_stack.session(user)
    for i in range(50):
        other_stack.create_token(user, f"service-{i:02}", in_days(1 + i % 30), session=session)  # that stack: 30 days at most
    sign_in(page, other_site.url, user)
    expect(rows(page)).to_have_count(50)
    heights = page.evaluate(
        """() => [...document.querySelector('patgate-tokens').shadowRoot.querySelector('patgate-token-table')
            .shadowRoot.querySelectorAll('tbody tr')].map((r) => r.getBoundingClientRect().height)"""
    )
    average = sum(heights) / len(heights)
    # Compact rows: a desk shows about twenty at a time; a phone, a few blocks.
    assert average <= (56 if width >= 1024 else 260), f"rows average {average:.0f} px at {width} px"
    look(page, "fifty-tokens", full_page=False)

    # Search finds one among fifty; its actions are at hand.
    page.get_by_label("Search by name or description", exact=True).fill("service-37")
    expect(rows(page)).to_have_count(1)
    revoke = row(page, "service-37").get_by_role("button", name="Revoke", exact=True)
    revoke.click()  # on screen and clickable, phone included
    expect(page.get_by_role("dialog", name="Revoke “service-37”?")).to_be_visible()
    page.keyboard.press("Escape")
    expect(revoke).to_be_focused()
    filters = page.get_by_role("group", name="Show only")
    page.get_by_label("Search by name or description", exact=True).fill("")
    filters.get_by_role("checkbox", name="Expiring within 7 days").check()
    soon = [n for n in names(page)]
    assert soon and all(cell(row(page, n), "expires").get_by_text("Expires soon").count() == 1 for n in soon)
    look(page, "fifty-tokens-expiring", full_page=False)


# ---------------------------------------------------------------- permission drift


def with_losses(page: Page, api: str, losses: dict[str, list[dict]]) -> None:
    """GET /tokens answers as the API does, with `permissionsLost` added to the named
    tokens: the field of servers that track permission drift (fixture data here)."""

    def handle(route: Route) -> None:
        if route.request.method != "GET" or "status=revoked" in route.request.url:
            route.fallback()
            return
        response = route.fetch()
        body = response.json()
        for token in body["tokens"]:
            token["permissionsLost"] = losses.get(token["name"], [])
        route.fulfill(response=response, body=json.dumps(body))

    page.route(re.compile(re.escape(f"{api}/tokens") + r"(\?.*)?$"), handle)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_row_says_which_permissions_a_role_change_took(open_page, site, stack, user, width):
    page, _ = open_page(width=width)
    stack.create_token(user, "editor-bot", in_days(60), permissions=["catalog:read", "entity:edit"])
    stack.create_token(user, "reader", in_days(60))
    with_losses(page, stack.base_url, {"editor-bot": [{"permission": "entity:edit", "lostAt": "2026-12-01T09:30:00Z"}]})
    sign_in(page, site.url, user)
    drifted = row(page, "editor-bot")
    expect(cell(drifted, "permissions")).to_contain_text("catalog:read, entity:edit")
    expect(cell(drifted, "permissions")).to_contain_text("Lost permissions")
    expect(cell(drifted, "permissions")).to_contain_text(re.compile(r"A role change took: entity:edit \(lost Tue 1 Dec 2026, .+ ago\)\."))
    expect(cell(row(page, "reader"), "permissions")).not_to_contain_text("Lost")
    page.get_by_role("group", name="Show only").get_by_role("checkbox", name="Lost permissions").check()
    assert names(page) == ["editor-bot"]
    look(page, "permissions-lost")


def test_the_lost_permissions_filter_needs_a_server_that_tracks_drift(open_page, site, stack, user):
    page, _ = open_page()
    stack.create_token(user, "plain", in_days(10))
    sign_in(page, site.url, user)
    expect(page.get_by_role("checkbox", name="Never used")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Lost permissions")).to_have_count(0)


# ---------------------------------------------------------------- accounts


def test_an_inactive_account_is_told_on_arrival(open_page, site):
    page, _ = open_page()
    sign_in(page, site.url, "demo-inactive")
    expect(page.locator("#inactive-notice")).to_contain_text("Your account is not active in patgate")
    expect(status_text(page, "Your account is not active in patgate")).to_have_count(1)
    expect(page.get_by_role("button", name="Create new token")).to_have_count(0)
    expect(page.get_by_role("button", name="Create your first token")).to_have_count(0)
    look(page, "inactive")


def test_an_unknown_local_user_gets_the_stacks_own_message(open_page, site):
    page, watch = open_page()
    watch.allow_status(404)
    page.goto(f"{site.url}/?user=nobody-at-all")
    expect(page.get_by_role("status").filter(has_text="Sign-in failed")).to_have_text(
        "Sign-in failed: no user nobody-at-all in the table; the demo users are "
        "demo-viewer, demo-user, demo-manager, demo-admin, demo-inactive."
    )
    expect(page.get_by_text("is the local stack running")).to_have_count(0)
    look(page, "unknown-user")


# ---------------------------------------------------------------- a session that ends mid-create


def sign_in_with_picker(page: Page, user_id: str) -> None:
    page.get_by_role("radio", name=re.compile(f"^{re.escape(user_id)}\\b")).check()
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(element(page)).to_have_attribute("data-state", "ready")


def test_a_create_interrupted_by_the_end_of_the_session_resumes_after_sign_in(open_page, site, stack):
    page, watch = open_page()
    watch.allow_status(401)
    stack.revoke_all("demo-manager")
    page.goto(f"{site.url}/")
    sign_in_with_picker(page, "demo-manager")
    fill_form(page, "kept-across-sign-in", description="typed before the session ended", zone="Asia/Kathmandu", expires_on=in_days(45))
    picker = page.get_by_role("group", name="Permissions")
    picker.get_by_role("radio", name="Only these:").check()
    first = picker.get_by_role("checkbox").first
    chosen = first.get_attribute("value")
    first.check()

    fake_answer(page, f"{stack.base_url}/tokens", "POST", 401, {"message": "Unauthorized"}, site.url)
    page.get_by_role("button", name="Create token", exact=True).click()
    expect(page.get_by_text("Your session has ended. Please sign in again. What you typed for the new token is kept.")).to_be_visible()
    page.unroute(f"{stack.base_url}/tokens")
    assert stack.tokens("demo-manager") == []

    sign_in_with_picker(page, "demo-manager")
    dialog = create_dialog(page)
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("status")).to_have_text(re.compile("Your session ended before the token was created"))
    expect(page.get_by_label("Name", exact=True)).to_have_value("kept-across-sign-in")
    expect(page.get_by_label("Description", exact=True)).to_have_value("typed before the session ended")
    expect(page.get_by_label("Time zone", exact=True)).to_have_value("Asia/Kathmandu")
    expect(page.get_by_label("Expiration date", exact=True)).to_have_value(in_days(45))
    expect(picker.get_by_role("checkbox", name=chosen)).to_be_checked()
    create = page.get_by_role("button", name="Create token", exact=True)
    expect(create).to_be_focused()
    look(page, "create-resumed")
    page.keyboard.press("Enter")
    expect(page.get_by_label("New token", exact=True)).to_be_focused()
    [stored] = stack.tokens("demo-manager")
    assert (stored["name"], stored["description"], stored["timeZone"], stored["expiresOn"], stored["permissions"]) == (
        "kept-across-sign-in",
        "typed before the session ended",
        "Asia/Kathmandu",
        in_days(45),
        [chosen],
    )
    stack.revoke_all("demo-manager")
    # Once created, the draft is gone: the next dialog starts empty.
    page.get_by_role("button", name="Done", exact=True).click()
    open_create(page)
    expect(page.get_by_label("Name", exact=True)).to_have_value("")


def test_a_create_interrupted_in_cognito_mode_survives_the_hosted_ui_round_trip(open_page, site, stack, user):
    """Cognito mode: the draft waits beside the PKCE state while the browser is at the
    hosted UI (answered by route interception), and is gone from sessionStorage once
    the page is back (the fixture checks storage is empty at the end)."""
    page, watch = open_page()
    watch.allow_status(401)
    domain = f"https://{COGNITO_DOMAIN}"

    def authorize(route):
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(route.request.url).query))
        back = f"{query['redirect_uri']}?code=the-code&state={urllib.parse.quote(query['state'])}"
        route.fulfill(status=200, headers={"Content-Type": "text/html"},
                      body=f'<!doctype html><meta http-equiv="refresh" content="0; url={html.escape(back)}">')

    def token(route):
        route.fulfill(status=200, headers={"Content-Type": "application/json", "Access-Control-Allow-Origin": site.url},
                      body=json.dumps({"id_token": stack.session(user), "token_type": "Bearer", "expires_in": 3600}))

    page.route(f"{domain}/oauth2/authorize*", authorize)
    page.route(f"{domain}/oauth2/token", token)
    page.goto(f"{site.url}/cognito/")
    page.get_by_role("button", name="Sign in").click()
    expect(element(page)).to_have_attribute("data-state", "ready")
    fill_form(page, "through-the-hosted-ui", description="kept while away", expires_on=in_days(12))

    fake_answer(page, f"{stack.base_url}/tokens", "POST", 401, {"message": "Unauthorized"}, site.url)
    page.get_by_role("button", name="Create token", exact=True).click()
    expect(page.get_by_text("What you typed for the new token is kept.")).to_be_visible()
    page.unroute(f"{stack.base_url}/tokens")
    page.get_by_role("button", name="Sign in").click()
    expect(create_dialog(page)).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value("through-the-hosted-ui")
    expect(page.get_by_label("Description", exact=True)).to_have_value("kept while away")
    expect(page.get_by_label("Expiration date", exact=True)).to_have_value(in_days(12))
    assert page.evaluate("sessionStorage.length") == 0
    page.get_by_role("button", name="Create token", exact=True).click()
    expect(page.get_by_label("New token", exact=True)).to_be_visible()
    assert [t["name"] for t in stack.tokens(user)] == ["through-the-hosted-ui"]
