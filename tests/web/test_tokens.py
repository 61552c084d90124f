"""The "My access tokens" page in a real browser against the real local stack."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import re
import time
import urllib.parse
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
import harness
from conftest import COGNITO_DOMAIN, check_axe, screenshot
from flows import (
    cell,
    create,
    create_dialog,
    dismiss_reveal,
    edit_create_body,
    element,
    fake_answer,
    fill_form,
    in_days,
    names,
    open_create,
    row,
    rows,
    sign_in,
    today,
    walk_states,
)


def create_button(page: Page):
    return page.get_by_role("button", name="Create token", exact=True)


def shadow_active_id(page: Page) -> str:
    """The id of the focused element inside the component (or of the page's focused element)."""
    return page.evaluate(
        """() => {
            let a = document.activeElement;
            while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
            return a ? (a.id || a.tagName.toLowerCase() + ':' + (a.textContent || '').trim()) : '';
        }"""
    )


def tab_to(page: Page, wanted: str, limit: int = 40, key: str = "Tab") -> None:
    for _ in range(limit):
        page.keyboard.press(key)
        if shadow_active_id(page) == wanted:
            return
    raise AssertionError(f"{wanted} not reached with {key}; focus is on {shadow_active_id(page)}")


def plaintext_anywhere(page: Page, token: str) -> bool:
    """Whether the token is still in the page: DOM (shadow roots and input values
    included) or the component's own properties."""
    return page.evaluate(
        """(token) => {
            const seen = [];
            const walk = (root) => {
                seen.push(root.innerHTML || '');
                for (const el of root.querySelectorAll('*')) {
                    if ('value' in el && typeof el.value === 'string') seen.push(el.value);
                    if (el.shadowRoot) walk(el.shadowRoot);
                }
            };
            walk(document.documentElement);
            const host = document.querySelector('patgate-tokens');
            for (const key of Object.keys(host)) {
                try { seen.push(JSON.stringify(host[key]) || ''); } catch (e) {}
            }
            // The element's state and its parts' (the reveal panel holds the secret while shown).
            seen.push(JSON.stringify(host.reveal ?? null));
            for (const part of host.shadowRoot.querySelectorAll('*')) {
                if (part.tagName.startsWith('PATGATE-')) seen.push(JSON.stringify(part.reveal ?? null));
            }
            return seen.some((text) => text.includes(token));
        }""",
        token,
    )


# ---------------------------------------------------------------- every state: axe, screenshots, 360 px


@pytest.mark.parametrize("width,scheme", [(1280, "light"), (360, "light"), (1280, "dark"), (360, "dark")])
def test_every_state_is_accessible_and_fits(open_page, site, stack, user, width, scheme):
    page, watch = open_page(width=width, color_scheme=scheme)
    watch.allow_status(400, 409, 503)

    def visit(state: str) -> None:
        screenshot(page, state)
        check_axe(page, state)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{state} at {width} px scrolls sideways by {overflow} px"

    walk_states(page, site.url, stack, user, visit)


# ---------------------------------------------------------------- create


def test_create_field_errors_from_client_and_server(open_page, site, stack, user):
    page, watch = open_page()
    watch.allow_status(400)
    sign_in(page, site.url, user)
    open_create(page)
    name = page.get_by_label("Name", exact=True)
    date = page.get_by_label("Expiration date", exact=True)

    # Client: name required, date within today .. today + 366 days in the zone.
    create_button(page).click()
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description(re.compile("Enter a name for the token"))
    expect(name).to_be_focused()
    expect(date).to_have_attribute("min", in_days(0))
    expect(date).to_have_attribute("max", in_days(366))
    fill_form(page, "too-late", expires_on=in_days(367))
    expect(name).to_have_attribute("aria-invalid", "false")
    create_button(page).click()
    expect(date).to_have_accessible_description(re.compile(r"or an earlier date: tokens last at most 366 days"))
    expect(date).to_be_focused()
    fill_form(page, "too-early", expires_on=in_days(-1))
    create_button(page).click()
    expect(date).to_have_accessible_description(re.compile(r"Choose today \(.*\) or a later date"))

    # Counters.
    fill_form(page, "x" * 100, description="d" * 20, expires_on=in_days(10))
    expect(page.get_by_text("100/100")).to_be_visible()
    expect(page.get_by_text("20/500")).to_be_visible()
    assert name.get_attribute("maxlength") == "100"

    # Server: what the client allows but the server refuses lands at error.field.
    edit_create_body(page, stack.base_url, expiresOn="2000-01-01")
    fill_form(page, "server-refuses-date")
    create_button(page).click()
    expect(date).to_have_attribute("aria-invalid", "true")
    expect(date).to_have_accessible_description(re.compile(r"Expiration date 2000-01-01 is already past in Europe/Paris"))
    expect(date).to_be_focused()
    page.unroute(f"{stack.base_url}/tokens")

    edit_create_body(page, stack.base_url, name="n" * 101)
    fill_form(page, "server-refuses-name", expires_on=in_days(10))
    create_button(page).click()
    expect(name).to_have_accessible_description(re.compile(r"Name must be at most 100 characters"))
    expect(date).to_have_attribute("aria-invalid", "false")
    page.unroute(f"{stack.base_url}/tokens")

    edit_create_body(page, stack.base_url, timeZone="Mars/Olympus_Mons")
    create_button(page).click()
    expect(page.get_by_label("Time zone", exact=True)).to_have_accessible_description(re.compile(r"Time zone must be an IANA time zone"))
    page.unroute(f"{stack.base_url}/tokens")

    assert stack.tokens(user) == [], "nothing refused may be stored"


def test_limit_and_unavailable_messages(open_page, site, stack, user):
    page, watch = open_page()
    watch.allow_status(409, 503)
    for i in range(50):  # MAX_TOKENS_PER_USER
        stack.create_token(user, f"bulk-{i:02}", in_days(30))
    sign_in(page, site.url, user)
    fill_form(page, "one-too-many")
    create_button(page).click()
    alert = page.locator("#form-error")
    expect(alert).to_have_text(re.compile(r"You already have 50 tokens, the most allowed\. Revoke a token you no longer use, then create this one\."))
    expect(alert).to_be_focused()
    assert len(stack.tokens(user)) == 50

    # Cancel keeps what was typed; revoke one, and the same values go through.
    create_dialog(page).get_by_role("button", name="Cancel", exact=True).click()
    expect(page.get_by_role("button", name="Create new token", exact=True)).to_be_focused()
    row(page, "bulk-00").get_by_role("button", name="Revoke", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke token").click()
    expect(row(page, "bulk-00")).to_have_count(0)
    open_create(page)
    expect(page.get_by_label("Name", exact=True)).to_have_value("one-too-many")
    expect(alert).to_be_hidden()

    fake_answer(page, f"{stack.base_url}/tokens", "POST", 503, {"error": {"code": "service_unavailable", "message": "busy"}}, site.url)
    create_button(page).click()
    expect(alert).to_contain_text("busy right now and nothing was created. Please try again")
    page.unroute(f"{stack.base_url}/tokens")
    # And the retry goes through.
    create_button(page).click()
    expect(page.get_by_label("New token", exact=True)).to_be_visible()
    expect(alert).to_be_hidden()
    assert "one-too-many" in [t["name"] for t in stack.tokens(user)]


def test_a_double_submit_creates_one_token(open_page, site, stack, user):
    page, _ = open_page()
    sign_in(page, site.url, user)
    fill_form(page, "only-once")
    # Three clicks and a submit in one task, before any answer can come back.
    page.evaluate(
        """() => {
            const form = document.querySelector('patgate-tokens').shadowRoot
                .querySelector('patgate-token-form').shadowRoot;
            const button = form.querySelector('#create-submit');
            button.click(); button.click(); form.querySelector('form').requestSubmit(); button.click();
        }"""
    )
    expect(page.get_by_label("New token", exact=True)).to_be_visible()
    time.sleep(0.5)
    assert [t["name"] for t in stack.tokens(user)] == ["only-once"]
    expect(rows(page)).to_have_count(1)


# ---------------------------------------------------------------- reveal, copy, use, last used, revoke


def test_reveal_copy_use_last_used_then_revoke(open_page, site, stack, user):
    page, _ = open_page()
    sign_in(page, site.url, user)
    token = create(page, "ci-deploy", description="deploys the catalog service", expires_on=in_days(35))
    expect(page.get_by_text("This is the only time the token is shown")).to_be_visible()
    expect(page.get_by_label("New token", exact=True)).to_have_attribute("readonly", "")

    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == token

    # The copied token calls the demo API.
    echo = stack.call_api(copied)
    assert echo.status_code == 200, echo.text
    assert echo.json()["userId"] == user

    # Dismissing removes the plaintext from the DOM and from the component.
    assert plaintext_anywhere(page, token)
    dismiss_reveal(page)
    assert not plaintext_anywhere(page, token)
    expect(row(page, "ci-deploy")).to_be_focused()
    expect(page.get_by_role("status").filter(has_text="The new token was removed from the page. It cannot be shown again.")).to_have_count(1)

    # The list shows the token as the server knows it, and its last use after a refresh.
    item = row(page, "ci-deploy")
    expect(item).to_contain_text("deploys the catalog service")
    expect(item).to_contain_text(token[:4] + "…" + token[-4:])
    end = dt.date.fromisoformat(in_days(35))
    expect(cell(item, "expires")).to_contain_text(f"{end:%a} {end.day} {end:%b %Y}, end of day in Europe/Paris")
    expect(cell(item, "expires")).to_contain_text(re.compile(r"in 3[45] days"))
    expect(item.get_by_text("Expires soon")).to_have_count(0)
    last_used = cell(item, "used").locator(".when")
    deadline = time.monotonic() + 10
    while True:
        page.get_by_role("button", name="Refresh", exact=True).click()
        expect(page.get_by_role("status").filter(has_text="List refreshed")).to_have_count(1)
        if last_used.inner_text().strip() != "never" or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    expect(last_used).to_have_text("just now")

    # Revoke: confirmation naming the token, optimistic removal, then the API refuses it.
    item.get_by_role("button", name="Revoke", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_have_accessible_name("Revoke “ci-deploy”?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Revoke token").click()
    expect(row(page, "ci-deploy")).to_have_count(0)
    expect(page.get_by_text("You have no access tokens yet.")).to_be_visible()
    deadline = time.monotonic() + 5
    while stack.tokens(user) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stack.tokens(user) == []
    refused = stack.call_api(copied)
    assert refused.status_code == 401
    assert refused.json() == {"message": "Unauthorized"}


def test_cancel_keeps_the_token_and_a_failed_revoke_puts_the_row_back(open_page, site, stack, user):
    page, watch = open_page()
    watch.allow_status(503)
    created = stack.create_token(user, "keep-me", in_days(20))
    sign_in(page, site.url, user)
    item = row(page, "keep-me")
    item.get_by_role("button", name="Revoke", exact=True).click()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(item.get_by_role("button", name="Revoke", exact=True)).to_be_focused()

    fake_answer(page, f"{stack.base_url}/tokens/{created['id']}", "DELETE", 503, {"error": {"code": "service_unavailable", "message": "busy"}}, site.url)
    item.get_by_role("button", name="Revoke", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke token").click()
    expect(item.get_by_role("alert")).to_contain_text("“keep-me” could not be revoked and still works")
    assert stack.call_api(created["token"]).status_code == 200


# ---------------------------------------------------------------- dates and zones


def test_expiring_soon_is_marked(open_page, site, stack, user):
    page, _ = open_page()
    sign_in(page, site.url, user)
    create(page, "soon", expires_on=in_days(3))
    dismiss_reveal(page)
    open_create(page)
    page.get_by_role("button", name="7 days", exact=True).click()
    create(page, "in-a-week-and-a-day")
    dismiss_reveal(page)
    open_create(page)
    page.get_by_role("button", name="30 days", exact=True).click()
    create(page, "later")
    dismiss_reveal(page)
    expect(row(page, "soon").get_by_text("Expires soon")).to_be_visible()
    expect(cell(row(page, "soon"), "expires")).to_contain_text(re.compile(r"in [23] days"))
    expect(row(page, "later").get_by_text("Expires soon")).to_have_count(0)
    expect(row(page, "in-a-week-and-a-day").get_by_text("Expires soon")).to_have_count(0)
    listed = [t["name"] for t in stack.tokens(user)]
    assert listed == ["later", "in-a-week-and-a-day", "soon"]
    assert names(page) == listed, "newest first"


def test_time_zone_preselected_and_change_updates_the_live_line(open_page, site, stack, user):
    page, _ = open_page()
    sign_in(page, site.url, user)
    open_create(page)
    zone = page.get_by_label("Time zone", exact=True)
    expect(zone).to_have_value("Europe/Paris")
    line = page.locator("#stop-line")
    date = page.get_by_label("Expiration date", exact=True)
    date.fill("2027-06-30")
    expect(line).to_have_text(
        re.compile(r"The token stops working at the end of Wed 30 Jun 2027: Thu 1 Jul 2027, 00:00 your time \(Europe/Paris\), in \d+ days\.")
    )
    zone.select_option("Asia/Kathmandu")
    expect(line).to_have_text(
        re.compile(r"end of Wed 30 Jun 2027 in Asia/Kathmandu: that is Wed 30 Jun 2027, 20:15 your time \(Europe/Paris\)")
    )
    expect(line).to_have_attribute("aria-live", "polite")
    kathmandu_today = dt.datetime.now(ZoneInfo("Asia/Kathmandu")).date()
    expect(date).to_have_attribute("min", kathmandu_today.isoformat())
    expect(date).to_have_attribute("max", (kathmandu_today + dt.timedelta(days=366)).isoformat())
    zone.select_option("America/St_Johns")
    expect(line).to_contain_text("that is Thu 1 Jul 2027, 04:30 your time (Europe/Paris)")
    # Beside the native picker (which shows the browser's own format), the day in the page's one style.
    expect(date).to_have_accessible_description(re.compile(r"^Wed 30 Jun 2027, end of day in America/St_Johns"))
    token = create(page, "kathmandu-less", expires_on="2027-06-30")
    assert token
    created = stack.tokens(user)[0]
    assert (created["expiresOn"], created["timeZone"], created["expiresAt"]) == ("2027-06-30", "America/St_Johns", "2027-07-01T02:30:00Z")

    # After a create, the next one starts afresh: no name, the person's zone, the default date.
    dismiss_reveal(page)
    open_create(page)
    expect(page.get_by_label("Name", exact=True)).to_have_value("")
    expect(zone).to_have_value("Europe/Paris")
    expect(date).to_have_value(in_days(30))
    expect(page.get_by_role("button", name="30 days", exact=True)).to_have_attribute("aria-pressed", "true")


def test_quick_picks_set_the_date_in_the_chosen_zone(open_page, site, stack, user):
    page, _ = open_page()
    sign_in(page, site.url, user)
    open_create(page)
    page.get_by_label("Time zone", exact=True).select_option("Pacific/Kiritimati")
    base = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    date = page.get_by_label("Expiration date", exact=True)
    for label, days in [("7 days", 7), ("90 days", 90), ("30 days", 30)]:
        page.get_by_role("button", name=label, exact=True).click()
        expect(date).to_have_value((base + dt.timedelta(days=days)).isoformat())
        expect(page.get_by_role("button", name=label, exact=True)).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="1 year", exact=True).click()
    try:
        year = base.replace(year=base.year + 1)
    except ValueError:  # 29 February
        year = base.replace(year=base.year + 1, day=28)
    expect(date).to_have_value(year.isoformat())


# ---------------------------------------------------------------- keyboard only


@pytest.mark.parametrize("width", [1280, 360])
def test_create_and_revoke_by_keyboard_alone(open_page, site, stack, user, width):
    page, _ = open_page(width=width)
    stack.revoke_all("demo-user")
    page.goto(f"{site.url}/")
    # Sign in with the picker, by keyboard.
    tab_to(page, "input:")  # the first demo user radio
    page.keyboard.press("ArrowDown")  # demo-user is preselected; move to demo-manager and back
    page.keyboard.press("ArrowUp")
    tab_to(page, "button:Sign in")
    page.keyboard.press("Enter")
    expect(element(page)).to_have_attribute("data-state", "ready")
    assert page.evaluate("document.activeElement.id") == "main"

    # "Create new token", upper right, opens the dialog on its Name field.
    tab_to(page, "create-new")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    page.keyboard.type("typed-by-keyboard")
    tab_to(page, "description")
    page.keyboard.type("no mouse involved")
    # A quick pick, by keyboard.
    for _ in range(12):
        page.keyboard.press("Tab")
        if shadow_active_id(page) == "button:90 days":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_label("Expiration date", exact=True)).to_have_value(in_days(90))
    tab_to(page, "create-submit")
    page.keyboard.press("Enter")

    expect(page.get_by_label("New token", exact=True)).to_be_focused()
    token = page.get_by_label("New token", exact=True).input_value()
    tab_to(page, "button:Copy")
    page.keyboard.press("Enter")
    assert page.evaluate("navigator.clipboard.readText()") == token
    tab_to(page, "button:Done")
    page.keyboard.press("Enter")
    new_row = row(page, "typed-by-keyboard")
    expect(new_row).to_be_focused()

    page.keyboard.press("Tab")
    expect(new_row.get_by_role("button", name="Rotate", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(new_row.get_by_role("button", name="Revoke", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Revoke token")).to_be_focused()
    page.keyboard.press("Enter")
    expect(new_row).to_have_count(0)
    expect(page.locator("#list-heading")).to_be_focused()
    expect(page.get_by_role("status").filter(has_text="“typed-by-keyboard” revoked")).to_have_count(1)
    deadline = time.monotonic() + 5
    while stack.tokens("demo-user"):
        assert time.monotonic() < deadline, "the revoke did not reach the API"
        time.sleep(0.1)
    assert stack.call_api(token).status_code == 401


# ---------------------------------------------------------------- hosting


def test_sign_out_and_expired_session(open_page, site, stack, user):
    page, watch = open_page()
    watch.allow_status(401)
    sign_in(page, site.url, user)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    expect(element(page)).to_have_count(0)

    # A session the API refuses sends the person back to sign-in.
    sign_in(page, site.url, user)
    fake_answer(page, f"{stack.base_url}/tokens", "GET", 401, {"message": "Unauthorized"}, site.url)
    page.get_by_role("button", name="Refresh", exact=True).click()
    expect(page.get_by_text("Your session has ended. Please sign in again.")).to_be_visible()


def test_the_element_in_another_host_page(open_page, site, stack, user):
    """The element alone (dist/patgate-tokens.js) in a host page of its own
    (tests/web/host), which signs in by itself and hands the element a getSession."""
    page, _ = open_page()
    stack.create_token(user, "from-the-api", in_days(5))
    page.goto(f"{site.url}/host.html?api={stack.base_url}&user={user}")
    expect(page.get_by_text("Rendered 1 token(s).")).to_be_visible()
    expect(element(page)).to_have_attribute("data-state", "ready")
    expect(row(page, "from-the-api").get_by_text("Expires soon")).to_be_visible()
    check_axe(page, "host-page")


def test_axe_sees_inside_the_element(open_page, site, user):
    """Guards the accessibility checks above: axe must look into the shadow root."""
    page, _ = open_page()
    sign_in(page, site.url, user)
    page.evaluate(
        """() => {
            const input = document.createElement('input');
            input.id = 'unlabelled-probe';
            document.querySelector('patgate-tokens').shadowRoot.append(input);
        }"""
    )
    findings = harness.run_axe(page)
    assert any(v["id"] == "label" and any("unlabelled-probe" in n for n in v["nodes"]) for v in findings), findings


# ---------------------------------------------------------------- Cognito mode


def test_cognito_sign_in_with_pkce(open_page, site, stack, user):
    """Cognito mode: hosted UI and token endpoint answered by route interception; the
    "ID token" handed back is a local session, which the local stack accepts."""
    page, _ = open_page()
    stack.create_token(user, "seen-through-cognito", in_days(12))
    domain = f"https://{COGNITO_DOMAIN}"
    page_url = f"{site.url}/cognito/"
    sent: dict = {}

    def authorize(route):
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(route.request.url).query))
        sent["authorize"] = query
        back = f"{query['redirect_uri']}?code=the-code&state={urllib.parse.quote(query['state'])}"
        # Back to the page as the hosted UI sends the browser back, with a navigation of
        # its own: the target of a redirect answered here would skip route interception,
        # which serves the page in Cognito mode.
        route.fulfill(
            status=200,
            headers={"Content-Type": "text/html"},
            body=f'<!doctype html><meta http-equiv="refresh" content="0; url={html.escape(back)}">',
        )

    def token(route):
        form = dict(urllib.parse.parse_qsl(route.request.post_data or ""))
        sent["token"] = form
        route.fulfill(
            status=200,
            headers={"Content-Type": "application/json", "Access-Control-Allow-Origin": site.url},
            body=json.dumps({"id_token": stack.session(user), "access_token": "a.b.c", "token_type": "Bearer", "expires_in": 3600}),
        )

    page.route(f"{domain}/oauth2/authorize*", authorize)
    page.route(f"{domain}/oauth2/token", token)
    page.goto(page_url)
    page.get_by_role("button", name="Sign in").click()
    expect(element(page)).to_have_attribute("data-state", "ready")
    expect(row(page, "seen-through-cognito")).to_be_visible()
    assert page.url == page_url, "the code and state leave the address bar"

    auth = sent["authorize"]
    assert (auth["response_type"], auth["client_id"], auth["redirect_uri"], auth["scope"]) == ("code", "webclient", page_url, "openid")
    assert auth["code_challenge_method"] == "S256"
    form = sent["token"]
    assert (form["grant_type"], form["code"], form["client_id"], form["redirect_uri"]) == ("authorization_code", "the-code", "webclient", page_url)
    digest = hashlib.sha256(form["code_verifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == auth["code_challenge"]
    # (the fixture checks that sessionStorage is empty again: the verifier is gone)


def test_cognito_callback_with_a_forged_state_is_refused(open_page, site):
    page, _ = open_page()
    exchanged = []
    page.route(f"https://{COGNITO_DOMAIN}/oauth2/token", lambda route: (exchanged.append(1), route.abort()))
    page.goto(f"{site.url}/cognito/?code=stolen&state=forged")
    expect(page.get_by_text("does not match this sign-in attempt")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert not exchanged
    assert "code=" not in page.url
