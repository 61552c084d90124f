"""Scoped tokens, rotation, where a token was last used from, recently revoked tokens,
more tokens than one page and a shorter longest lifetime: in a real browser against
the real local stack, at 1280 and 360 px, with axe and a screenshot in each state."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from playwright.sync_api import Page, expect

from conftest import check_axe, screenshot
from flows import (
    TOKEN_RE,
    cell,
    create,
    dismiss_reveal,
    edit_create_body,
    element,
    fill_form,
    in_days,
    names,
    open_create,
    row,
    rows,
    sign_in,
    table,
    today,
)

WIDTHS = [1280, 360]
GRACE_HOUR = 3_600


def look(page: Page, state: str, full_page: bool = True) -> None:
    """A state a person meets: a screenshot, no serious axe finding, no sideways scrolling."""
    screenshot(page, state, full_page=full_page)
    check_axe(page, state)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{state} scrolls sideways by {overflow} px"


def refresh(page: Page) -> None:
    page.get_by_role("button", name="Refresh", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="List refreshed")).to_have_count(1)


def refresh_until(page: Page, condition, seconds: float = 10) -> None:
    """Refreshes the list until `condition()` holds (a use is recorded after the call's answer)."""
    deadline = time.monotonic() + seconds
    while True:
        refresh(page)
        if condition() or time.monotonic() > deadline:
            return
        time.sleep(0.3)


# ---------------------------------------------------------------- permissions


@pytest.mark.parametrize("width", WIDTHS)
def test_a_scoped_token_from_the_permission_picker(open_page, site, stack, user, width):
    page, watch = open_page(width=width)
    watch.allow_status(400)
    sign_in(page, site.url, user)
    open_create(page)
    picker = page.get_by_role("group", name="Permissions")
    every = picker.get_by_role("radio", name="All of mine, as they are whenever the token is used")
    only = picker.get_by_role("radio", name="Only these:")
    read = picker.get_by_role("checkbox", name="catalog:read")
    edit = picker.get_by_role("checkbox", name="entity:edit")
    # The caller's own permissions (role User), all of them by default.
    expect(every).to_be_checked()
    expect(picker.get_by_role("checkbox")).to_have_count(2)
    expect(read).to_be_disabled()

    # "Only these" with none chosen is caught before sending.
    fill_form(page, "read-only", expires_on=in_days(20))
    only.check()
    expect(read).to_be_enabled()
    page.get_by_role("button", name="Create token", exact=True).click()
    expect(picker).to_be_focused()
    expect(picker).to_have_accessible_description(re.compile("Choose at least one permission"))
    look(page, "permissions-error")

    # A permission the server does not know comes back on the picker.
    edit_create_body(page, stack.base_url, permissions=["catalog:purge"])
    read.check()
    page.get_by_role("button", name="Create token", exact=True).click()
    expect(picker).to_have_accessible_description(re.compile(r"Unknown permission `catalog:purge`"))
    page.unroute(f"{stack.base_url}/tokens")
    assert stack.tokens(user) == []

    expect(read).to_be_checked()
    expect(edit).not_to_be_checked()
    look(page, "permissions-chosen")
    token = create(page, "read-only")
    reveal = page.get_by_role("region", name="Copy your new token “read-only”")
    expect(reveal).to_contain_text("It may use catalog:read, and stops working")
    look(page, "scoped-reveal")

    # What the token may do: the intersection of its list and its user's permissions.
    assert stack.call_api(token, "/catalog").status_code == 200
    refused = stack.call_api(token, "/catalog/svc-42", method="PUT")
    assert refused.status_code == 403, refused.text
    assert stack.tokens(user)[0]["permissions"] == ["catalog:read"]

    dismiss_reveal(page)
    expect(cell(row(page, "read-only"), "permissions")).to_have_text("catalog:read")
    # The form is back to all of mine for the next token.
    open_create(page)
    expect(every).to_be_checked()
    create(page, "everything")
    dismiss_reveal(page)
    expect(cell(row(page, "everything"), "permissions")).to_have_text("all of yours")
    look(page, "scoped-list")


# ---------------------------------------------------------------- rotation


@pytest.mark.parametrize("width", WIDTHS)
def test_rotate_with_a_grace_period(open_page, site, stack, user, width):
    page, _ = open_page(width=width)
    original = stack.create_token(user, "rotate-me", in_days(60))
    old = original["token"]
    sign_in(page, site.url, user)
    item = row(page, "rotate-me")
    expect(item).to_contain_text(original["hint"])

    item.get_by_role("button", name="Rotate", exact=True).click()
    dialog = page.get_by_role("dialog", name="Rotate “rotate-me”?")
    expect(dialog).to_be_visible()
    choices = dialog.get_by_role("group", name="Grace period for the old token")
    # The safe choice comes first: an hour for what uses the token to take the new one.
    expect(choices.get_by_role("radio", name="1 hour")).to_be_checked()
    expect(choices.get_by_role("radio", name="None: it stops working at once")).not_to_be_checked()
    expect(choices.get_by_role("radio", name="None: it stops working at once")).not_to_be_focused()
    expect(choices.get_by_role("radio", name="1 day")).to_be_visible()
    look(page, "rotate-dialog")
    dialog.get_by_role("button", name="Rotate token").click()

    # The new secret, once, with Copy.
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_role("heading", name="Copy your rotated token “rotate-me”")).to_be_visible()
    revealed = page.get_by_label("New token", exact=True)
    expect(revealed).to_be_focused()
    new = revealed.input_value()
    assert TOKEN_RE.match(new) and new != old
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == new
    look(page, "rotated-reveal")

    # The same token (id, name), a new secret; the old one works for the grace period.
    [stored] = stack.tokens(user)
    assert (stored["id"], stored["name"]) == (original["id"], "rotate-me")
    assert stored["rotatedAt"] and stored["hint"] == new[:4] + "…" + new[-4:]
    assert stack.call_api(new).status_code == 200
    assert stack.call_api(old).status_code == 200, "within the grace period"

    dismiss_reveal(page)
    expect(item).to_be_focused()
    expect(item).to_contain_text(stored["hint"])
    expect(cell(item, "created")).to_contain_text("rotated just now")

    # After the grace period (the functions' clock an hour ahead): the old one is refused.
    try:
        stack.set_clock(GRACE_HOUR + 60)
        refused = stack.call_api(old)
        assert refused.status_code == 401 and refused.json() == {"message": "Unauthorized"}
        assert stack.call_api(new).status_code == 200
    finally:
        stack.set_clock(0)
    # The refused reuse of the replaced secret is on the row.
    refresh_until(page, lambda: item.get_by_text("Its previous secret").count() > 0)
    expect(item.get_by_text("Its previous secret")).to_contain_text("was tried just now and refused")
    look(page, "rotated-list")

    # Rotating again without a grace period (chosen): the secret it replaces stops at once.
    item.get_by_role("button", name="Rotate", exact=True).click()
    page.get_by_role("dialog").get_by_role("radio", name="None: it stops working at once").check()
    page.get_by_role("dialog").get_by_role("button", name="Rotate token").click()
    newer = page.get_by_label("New token", exact=True).input_value()
    assert newer not in (old, new)
    assert stack.call_api(new).status_code == 401
    assert stack.call_api(newer).status_code == 200
    dismiss_reveal(page)


# ---------------------------------------------------------------- last use


@pytest.mark.parametrize("width", WIDTHS)
def test_where_a_token_was_last_used_from(open_page, site, stack, user, width):
    page, _ = open_page(width=width)
    sign_in(page, site.url, user)
    tool = create(page, "deploy-bot", description="used by the deploy pipeline")
    dismiss_reveal(page)
    browser = create(page, "from-a-browser")
    dismiss_reveal(page)
    agent = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
    assert stack.call_api(tool, user_agent="deploy-bot/2.1 (+https://ci.example.com/bot)").status_code == 200
    assert stack.call_api(browser, "/catalog/svc-7", user_agent=agent).status_code == 200

    refresh_until(page, lambda: table(page).locator(".from").count() == 2)
    # The "Last used" column says when, then from where.
    expect(cell(row(page, "deploy-bot"), "used").locator(".when")).to_have_text("just now")
    expect(cell(row(page, "deploy-bot"), "used").locator(".from")).to_have_text("from 127.0.0.1, deploy-bot/2.1")
    expect(cell(row(page, "from-a-browser"), "used").locator(".from")).to_have_text("from 127.0.0.1, Firefox 133")
    stored = {t["name"]: t for t in stack.tokens(user)}
    assert stored["deploy-bot"]["lastUsedUserAgent"] == "deploy-bot/2.1 (+https://ci.example.com/bot)"
    assert stored["deploy-bot"]["lastUsedIp"] == "127.0.0.1"
    look(page, "last-used")


# ---------------------------------------------------------------- recently revoked


@pytest.mark.parametrize("width", WIDTHS)
def test_recently_revoked_tokens_and_why(open_page, site, stack, user, width):
    page, _ = open_page(width=width)
    kept = stack.create_token(user, "still-here", in_days(40))
    leaked = stack.create_token(user, "pasted-in-a-chat", in_days(40))
    sign_in(page, site.url, user)
    toggle = page.get_by_role("button", name="Show recently revoked tokens")
    toggle.click()
    expect(page.get_by_text("No token was revoked recently.")).to_be_visible()
    expect(page.get_by_role("button", name="Hide recently revoked tokens")).to_have_attribute("aria-expanded", "true")
    page.get_by_role("button", name="Hide recently revoked tokens").click()

    # Revoked by its owner, here; reported as leaked by whoever found it.
    create(page, "short-lived")
    dismiss_reveal(page)
    row(page, "short-lived").get_by_role("button", name="Revoke", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke token").click()
    expect(row(page, "short-lived")).to_have_count(0)
    deadline = time.monotonic() + 15
    while not stack.tokens(user, status="revoked"):
        assert time.monotonic() < deadline, "the revoke did not reach the API"
        time.sleep(0.1)
    time.sleep(1.1)  # revocation times are whole seconds: the report comes a second later
    reported = stack.report_leaked(leaked["token"], "pgt_not-a-token")
    assert reported.status_code == 202, reported.text
    assert stack.call_api(leaked["token"]).status_code == 401
    assert stack.call_api(kept["token"]).status_code == 200

    refresh(page)
    expect(row(page, "pasted-in-a-chat")).to_have_count(0)
    expect(row(page, "still-here")).to_be_visible()
    page.get_by_role("button", name="Show recently revoked tokens").click()
    history = page.get_by_role("list", name="Recently revoked tokens")
    expect(history.get_by_role("listitem")).to_have_count(2)
    leaked_item = history.get_by_role("listitem", name="pasted-in-a-chat")
    expect(leaked_item).to_contain_text("Reported as leaked")
    expect(leaked_item).to_contain_text(leaked["hint"])
    expect(leaked_item).to_contain_text("revoked just now")
    expect(history.get_by_role("listitem", name="short-lived")).to_contain_text("Revoked by you")
    # Last revoked first.
    assert history.get_by_role("heading").all_inner_texts() == ["pasted-in-a-chat", "short-lived"]
    reasons = {t["name"]: t["revokedReason"] for t in stack.tokens(user, status="revoked")}
    assert reasons == {"pasted-in-a-chat": "leaked", "short-lived": "user"}
    look(page, "recently-revoked")

    # Revoking with the section open adds to it.
    row(page, "still-here").get_by_role("button", name="Revoke", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke token").click()
    expect(history.get_by_role("listitem", name="still-here")).to_contain_text("Revoked by you")


# ---------------------------------------------------------------- paging (the stack with other limits)


@pytest.mark.parametrize("width", WIDTHS)
def test_more_tokens_than_one_page(open_page, other_site, other_stack, width):
    page, _ = open_page(width=width, on=other_site)
    user = other_stack.new_user()
    session = other_stack.session(user)
    count = 55  # one page of GET /tokens holds 50
    for i in range(count):
        other_stack.create_token(user, f"batch-{i:02}", in_days(10 + i % 20), session=session)
    first = other_stack.page_of(user)
    assert len(first["tokens"]) == 50 and first["nextToken"], "the server pages"
    newest_first = [f"batch-{i:02}" for i in reversed(range(count))]

    sign_in(page, other_site.url, user)
    expect(rows(page)).to_have_count(50)
    expect(page.locator("#list-heading")).to_contain_text("(50+ of 60)")
    more = page.get_by_role("button", name="Load more tokens")
    more.scroll_into_view_if_needed()
    look(page, "load-more", full_page=False)

    more.click()
    expect(rows(page)).to_have_count(count)
    expect(more).to_have_count(0)
    expect(page.locator("#list-heading")).to_contain_text(f"({count} of 60)")
    expect(row(page, "batch-04")).to_be_focused()  # the first token the button brought
    expect(page.get_by_role("status").filter(has_text="5 tokens more loaded.")).to_have_count(1)
    assert names(page) == newest_first
    assert [t["name"] for t in other_stack.tokens(user)] == newest_first
    look(page, "all-loaded", full_page=False)

    # One from the second page is as usable as any.
    row(page, "batch-00").get_by_role("button", name="Revoke", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke token").click()
    expect(row(page, "batch-00")).to_have_count(0)
    deadline = time.monotonic() + 15
    while "batch-00" in [t["name"] for t in other_stack.tokens(user)]:
        assert time.monotonic() < deadline, "the revoke did not reach the API"
        time.sleep(0.2)


# ---------------------------------------------------------------- the longest lifetime (the stack with other limits)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_longest_lifetime_comes_from_the_server(open_page, other_site, other_stack, width):
    page, watch = open_page(width=width, on=other_site)
    watch.allow_status(400)
    user = other_stack.new_user()
    sign_in(page, other_site.url, user)
    open_create(page)
    date = page.get_by_label("Expiration date", exact=True)
    last = dt.date.fromisoformat(in_days(30))
    # MaxTokenLifetimeDays 30: the date input, its hint, the quick picks and the default.
    expect(date).to_have_attribute("min", in_days(0))
    expect(date).to_have_attribute("max", in_days(30))
    expect(date).to_have_value(in_days(30))
    expect(page.get_by_text(f"From today to {last:%a} {last.day} {last:%b %Y}.")).to_be_visible()
    picks = page.get_by_role("group", name="Quick picks:").get_by_role("button")
    assert picks.all_inner_texts() == ["7 days", "30 days"]
    look(page, "short-lifetime")

    fill_form(page, "too-long", expires_on=in_days(31))
    page.get_by_role("button", name="Create token", exact=True).click()
    expect(date).to_be_focused()
    expect(date).to_have_accessible_description(re.compile(r"or an earlier date: tokens last at most 30 days"))
    look(page, "short-lifetime-error")

    # The server holds the same line.
    edit_create_body(page, other_stack.base_url, expiresOn=in_days(31))
    fill_form(page, "too-long", expires_on=in_days(30))
    page.get_by_role("button", name="Create token", exact=True).click()
    expect(date).to_have_attribute("aria-invalid", "true")
    page.unroute(f"{other_stack.base_url}/tokens")
    assert other_stack.tokens(user) == []

    page.get_by_role("button", name="30 days", exact=True).click()
    create(page, "a-month")
    [stored] = other_stack.tokens(user)
    assert stored["expiresOn"] == (today() + dt.timedelta(days=30)).isoformat()
    expect(element(page)).to_have_attribute("data-state", "ready")
