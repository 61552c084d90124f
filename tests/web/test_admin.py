"""The organisation's page (admin.html, <patgate-admin-tokens>) in a real browser
against the real local stack: who may see it, the inventory with its filters, counts,
paging and permission drift from a real role change, an administrator's revoke that
the API then refuses, and service accounts with their tokens."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from playwright.sync_api import Page, expect

from conftest import check_axe, screenshot
from flows import TOKEN_RE, cell, in_days, row, sign_in
from test_table import look

WIDTHS = [1280, 390]


def admin(page: Page):
    return page.locator("patgate-admin-tokens")


def inventory(page: Page):
    return page.get_by_role("table", name="Organisation tokens", exact=True)


def inventory_row(page: Page, name: str):
    return inventory(page).get_by_role("row", name=name, exact=True)


def inventory_names(page: Page) -> list[str]:
    return inventory(page).locator("tbody th .name").all_inner_texts()


def tokens_heading(page: Page):
    return page.locator("patgate-admin-tokens #inventory-heading")


def open_admin(page: Page, site_url: str, user_id: str = "demo-admin", state: str = "ready") -> None:
    page.goto(f"{site_url}/admin.html?user={user_id}")
    expect(admin(page)).to_have_attribute("data-state", state)


def show_owner(page: Page, owner: str, count: int) -> None:
    """Filters the inventory to one owner's tokens (the server's filter) and waits for them."""
    page.get_by_label("Owner", exact=True).fill(owner)
    page.get_by_role("button", name="Apply filters", exact=True).click()
    expect(inventory(page).locator("tbody").get_by_role("row")).to_have_count(count)
    expect(tokens_heading(page)).to_contain_text(f"({count})")


def tab_until(page: Page, target, limit: int = 60, key: str = "Tab") -> None:
    """Presses Tab (or `key`) until `target` (in whichever shadow root) has focus."""
    for _ in range(limit):
        if target.evaluate("el => el.getRootNode().activeElement === el"):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{target} not reached with Tab")


def settled_summary(stack, admin_id: str = "demo-admin") -> dict:
    """The summary once the stream consumer's counters stop moving (they follow writes by a moment)."""
    last = None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        response = stack.org(admin_id, "GET", "/org/tokens/summary")
        assert response.status_code == 200, response.text
        summary = response.json()
        if summary == last:
            return summary
        last = summary
        time.sleep(0.5)
    raise AssertionError(f"the inventory counters kept moving: {last}")


def figure(page: Page, figure_id: str) -> int:
    text = page.locator(f"patgate-admin-tokens [data-figure={figure_id}] dd").inner_text()
    return int(text.replace(",", ""))


# ---------------------------------------------------------------- who may see it


@pytest.mark.parametrize("who", ["demo-user", "fresh-manager"])
def test_someone_whose_roles_do_not_grant_admin_is_told_so(open_page, site, stack, who):
    page, watch = open_page()
    watch.allow_status(403)
    user = stack.new_user(roles=("Manager",)) if who == "fresh-manager" else who
    open_admin(page, site.url, user, state="forbidden")
    expect(page.get_by_role("heading", name="Administrators only")).to_be_visible()
    expect(page.get_by_text("your roles do not grant the permission patgate:admin")).to_be_visible()
    expect(inventory(page)).to_have_count(0)
    expect(page.get_by_role("button", name="Create service account")).to_have_count(0)
    look(page, "admin-forbidden")


# ---------------------------------------------------------------- inventory


@pytest.mark.parametrize("width", WIDTHS)
def test_the_inventory_shows_an_owners_tokens_with_counts_and_real_drift(open_page, site, stack, width):
    owner = stack.new_user(roles=("Manager",))
    stack.create_token(owner, "editor-bot", in_days(60), permissions=["catalog:read", "entity:edit"])
    stack.create_token(owner, "catalog-only", in_days(5), permissions=["catalog:read"])
    stack.create_token(owner, "everything", in_days(30))
    # The backend takes Manager away: the directory's fan-out marks what each token relied on and lost.
    stack.put_user(owner, ["Viewer"])
    summary = settled_summary(stack)

    page, _ = open_page(width=width)
    open_admin(page, site.url)
    assert figure(page, "total") == summary["total"]
    assert figure(page, "never") == summary["neverUsed"]
    assert figure(page, "expiring-7") == summary["expiringWithinDays"]["7"]
    show_owner(page, owner, 3)
    # Ordered by expiry, soonest first (the table's default here).
    assert inventory_names(page) == ["catalog-only", "everything", "editor-bot"]
    editor = inventory_row(page, "editor-bot")
    expect(cell(editor, "owner")).to_contain_text(owner)
    expect(cell(editor, "permissions")).to_contain_text("catalog:read, entity:edit")
    expect(cell(editor, "permissions")).to_contain_text("A role change took: entity:edit (lost")
    expect(cell(inventory_row(page, "everything"), "permissions")).to_contain_text("all of the owner's")
    expect(cell(inventory_row(page, "everything"), "permissions")).to_contain_text("entity:edit (lost")
    expect(cell(inventory_row(page, "everything"), "permissions")).to_contain_text("scorecard:edit (lost")
    expect(cell(inventory_row(page, "catalog-only"), "permissions")).not_to_contain_text("Lost")
    expect(cell(inventory_row(page, "catalog-only"), "expires")).to_contain_text("Expires soon")
    look(page, "admin-inventory")

    # The server's filters: limited permissions only, then expiring within 7 days.
    page.get_by_label("Permissions", exact=True).select_option(label="Limited (own list)")
    page.get_by_role("button", name="Apply filters", exact=True).click()
    expect(inventory(page).locator("tbody").get_by_role("row")).to_have_count(2)
    assert sorted(inventory_names(page)) == ["catalog-only", "editor-bot"]
    page.get_by_label("Expiring within", exact=True).select_option(label="7 days")
    page.get_by_role("button", name="Apply filters", exact=True).click()
    expect(inventory(page).locator("tbody").get_by_role("row")).to_have_count(1)
    assert inventory_names(page) == ["catalog-only"]
    # The page's own narrowing: the drift filter over what is on screen.
    page.get_by_role("button", name="Clear filters", exact=True).click()
    show_owner(page, owner, 3)
    page.get_by_role("group", name="Show only").get_by_role("checkbox", name="Lost permissions").check()
    assert sorted(inventory_names(page)) == ["editor-bot", "everything"]


def test_a_combination_the_api_refuses_is_said_before_any_call(open_page, site, stack):
    stack.create_token(stack.new_user(), "somebodys", in_days(10))
    page, watch = open_page()
    open_admin(page, site.url)
    before = len(watch.requests)
    page.get_by_label("Expiring within", exact=True).select_option(label="7 days")
    page.get_by_label("Never used", exact=True).check()
    page.get_by_role("button", name="Apply filters", exact=True).click()
    alert = page.get_by_role("alert").filter(has_text="only for one owner")
    expect(alert).to_be_visible()
    expect(alert).to_be_focused()
    assert len(watch.requests) == before
    look(page, "admin-filter-refused", full_page=False)
    # What only the API can judge: its own words, and no rows of other filters.
    watch.allow_status(400)
    page.get_by_role("button", name="Clear filters", exact=True).click()
    expect(inventory(page)).to_be_visible()
    page.get_by_label("Owner", exact=True).fill("not an id!")
    page.get_by_role("button", name="Apply filters", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="is not a user or service account id")).to_be_visible()
    expect(inventory(page)).to_have_count(0)
    expect(admin(page)).to_have_attribute("data-state", "error")


def test_load_more_brings_the_next_page_of_the_inventory(open_page, other_site, other_stack):
    owner = other_stack.new_user()
    session = other_stack.session(owner)
    for i in range(53):
        other_stack.create_token(owner, f"batch-{i:02d}", in_days(5 + i % 20), session=session)
    page, _ = open_page(on=other_site)
    open_admin(page, other_site.url)
    page.get_by_label("Owner", exact=True).fill(owner)
    page.get_by_role("button", name="Apply filters", exact=True).click()
    expect(tokens_heading(page)).to_contain_text("(50+)")
    more = page.get_by_role("button", name="Load more tokens", exact=True)
    more.click()
    expect(inventory(page).locator("tbody").get_by_role("row")).to_have_count(53)
    expect(more).to_have_count(0)
    assert sorted(inventory_names(page)) == [f"batch-{i:02d}" for i in range(53)]
    expect(tokens_heading(page)).to_contain_text("(53)")


# ---------------------------------------------------------------- an administrator's revoke


def revoked_item(stack, owner: str, token_id: str) -> dict:
    """The revoked record as stored (DynamoDB Local's GetItem)."""
    import requests

    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "DynamoDB_20120810.GetItem",
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0",
        "X-Amz-Date": "20260101T000000Z",
    }
    key = {"pk": {"S": f"TOKENS#{owner}"}, "sk": {"S": f"REVOKED#{token_id}"}}
    response = requests.post(stack.dynamodb_url, json={"TableName": "patgate-local", "Key": key, "ConsistentRead": True}, headers=headers, timeout=10)
    response.raise_for_status()
    return response.json().get("Item", {})


def test_an_administrator_revokes_a_token_by_keyboard_and_the_api_refuses_it(open_page, site, stack):
    owner = stack.new_user()
    created = stack.create_token(owner, "ci-deploy", in_days(30))
    stack.create_token(owner, "laptop", in_days(40))
    assert stack.call_api(created["token"]).status_code == 200

    page, _ = open_page()
    open_admin(page, site.url)
    owner_field = page.get_by_label("Owner", exact=True)
    owner_field.focus()
    page.keyboard.type(owner)
    page.keyboard.press("Enter")  # submits the filters
    expect(inventory(page).locator("tbody").get_by_role("row")).to_have_count(2)
    target = inventory_row(page, "ci-deploy")
    revoke = target.get_by_role("button", name="Revoke", exact=True)
    tab_until(page, revoke)
    expect(revoke).to_be_focused()

    # Esc cancels, and focus comes back to the row's Revoke.
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=f"Revoke “ci-deploy” of {owner}?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(revoke).to_be_focused()
    assert stack.call_api(created["token"]).status_code == 200

    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Shift+Tab")
    note = dialog.get_by_label("Note for the record (optional)")
    expect(note).to_be_focused()
    page.keyboard.type("Left in a public CI log")
    look(page, "admin-revoke-dialog", full_page=False)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Revoke token")).to_be_focused()
    # The row leaves at once; the API's answer follows.
    with page.expect_response(lambda r: r.url.endswith("/revoke") and r.request.method == "POST") as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 204
    expect(dialog).to_have_count(0)
    expect(inventory_row(page, "ci-deploy")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text=f"Token “ci-deploy” of {owner} revoked.")).to_be_attached()
    expect(inventory_row(page, "laptop")).to_be_focused()

    # Refused at once (the local stack's authorizer cache is off), and recorded as an administrator's.
    assert stack.call_api(created["token"]).status_code in (401, 403)
    revoked = stack.tokens(owner, status="revoked")
    assert [(t["name"], t["revokedReason"]) for t in revoked] == [("ci-deploy", "admin")]
    item = revoked_item(stack, owner, created["id"])
    assert item["revoked_by"] == {"S": "demo-admin"}
    assert item["revoked_note"] == {"S": "Left in a public CI log"}

    # The owner sees who revoked it.
    owner_page, _ = open_page()
    sign_in(owner_page, site.url, owner)
    owner_page.get_by_role("button", name="Show recently revoked tokens").click()
    recent = owner_page.get_by_role("list", name="Recently revoked tokens").get_by_role("listitem", name="ci-deploy")
    expect(recent).to_contain_text("Revoked by an administrator")


# ---------------------------------------------------------------- service accounts


@pytest.mark.parametrize("scheme,width", [("light", 1280), ("dark", 390)])
def test_an_administrator_creates_a_service_account_and_its_token(open_page, site, stack, scheme, width):
    owner = stack.new_user()
    name = f"deploy-bot-{uuid.uuid4().hex[:6]}"
    page, watch = open_page(color_scheme=scheme, width=width)
    open_admin(page, site.url)
    page.get_by_role("button", name="Create service account", exact=True).click()
    dialog = page.get_by_role("dialog", name="Create a service account")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Name", exact=True)).to_be_focused()
    # Nothing typed: each required field says so, focus on the first.
    dialog.get_by_role("button", name="Create service account").click()
    expect(dialog.get_by_text("Enter a name.")).to_be_visible()
    expect(dialog.get_by_text("Name at least one owner (a user id).")).to_be_visible()
    expect(dialog.get_by_label("Name", exact=True)).to_be_focused()
    look(page, "admin-account-errors", full_page=False)
    # An owner the directory does not know: the API's refusal, on its field.
    watch.allow_status(400, 404)
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("Description (optional)").fill("Deploys the catalog")
    dialog.get_by_label("Owners", exact=True).fill(f"{owner}, nobody-{uuid.uuid4().hex[:6]}")
    dialog.get_by_label("Roles", exact=True).fill("Viewer")
    dialog.get_by_role("button", name="Create service account").click()
    expect(dialog.get_by_label("Owners", exact=True)).to_be_focused()
    expect(dialog.locator(".field-error, [role=alert]").first).to_be_visible()
    dialog.get_by_label("Owners", exact=True).fill(owner)
    dialog.get_by_role("button", name="Create service account").click()
    expect(dialog).to_have_count(0)

    accounts = page.get_by_role("table", name="Service accounts")
    account = accounts.get_by_role("row", name=name)
    expect(account).to_contain_text(owner)
    expect(account).to_contain_text("Viewer")
    create_token = account.get_by_role("button", name="Create token")
    expect(create_token).to_be_focused()
    create_token.click()
    form = page.get_by_role("dialog", name=f"Create a token for {name}")
    expect(form).to_be_visible()
    form.get_by_label("Name", exact=True).fill("ci")
    form.get_by_role("button", name="Create token", exact=True).click()
    revealed = page.get_by_label("New token", exact=True)
    expect(revealed).to_be_focused()
    secret = revealed.input_value()
    assert TOKEN_RE.match(secret), secret
    expect(page.get_by_role("heading", name=f"Copy the new token “ci” of {name}")).to_be_visible()
    expect(page.get_by_text(f"It may do what {name} may do")).to_be_visible()
    look(page, "admin-account-token", full_page=False)
    # The service account's token works with the account's roles (Viewer: catalog:read).
    assert stack.call_api(secret).status_code == 200
    page.get_by_role("button", name="Done", exact=True).click()
    expect(revealed).to_have_count(0)
    expect(create_token).to_be_focused()

    # In the inventory, as a service account's token, created by the administrator.
    page.get_by_label("Owned by", exact=True).select_option(label="Service accounts")
    page.get_by_label("Owner", exact=True).fill(account.locator("code").inner_text())
    page.get_by_role("button", name="Apply filters", exact=True).click()
    expect(inventory(page).locator("tbody").get_by_role("row")).to_have_count(1)
    ci = inventory_row(page, "ci")
    expect(cell(ci, "owner")).to_contain_text("Service account")
    expect(cell(ci, "owner")).to_contain_text("created by demo-admin")
    look(page, "admin-service-accounts")


def test_service_accounts_by_keyboard_only(open_page, site, stack):
    owner = stack.new_user()
    name = f"kb-bot-{uuid.uuid4().hex[:6]}"
    page, _ = open_page()
    open_admin(page, site.url)
    create = page.get_by_role("button", name="Create service account", exact=True)
    tab_until(page, create)
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Create a service account")
    expect(dialog.get_by_label("Name", exact=True)).to_be_focused()
    page.keyboard.type(name)
    page.keyboard.press("Tab")  # Description
    page.keyboard.press("Tab")
    expect(dialog.get_by_label("Owners", exact=True)).to_be_focused()
    page.keyboard.type(owner)
    page.keyboard.press("Tab")
    page.keyboard.type("Viewer")
    page.keyboard.press("Enter")  # submits
    expect(dialog).to_have_count(0)
    create_token = page.get_by_role("table", name="Service accounts").get_by_role("row", name=name).get_by_role("button", name="Create token")
    expect(create_token).to_be_focused()
    page.keyboard.press("Enter")
    form = page.get_by_role("dialog", name=f"Create a token for {name}")
    expect(form.get_by_label("Name", exact=True)).to_be_focused()
    page.keyboard.type("kb-token")
    page.keyboard.press("Enter")
    revealed = page.get_by_label("New token", exact=True)
    expect(revealed).to_be_focused()
    secret = revealed.input_value()
    assert stack.call_api(secret).status_code == 200
    done = page.get_by_role("button", name="Done", exact=True)
    tab_until(page, done)
    page.keyboard.press("Enter")
    expect(revealed).to_have_count(0)
    expect(create_token).to_be_focused()
    # Esc leaves the account dialog without creating anything; focus goes back to its button.
    tab_until(page, create, key="Shift+Tab")
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.type("never-created")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(create).to_be_focused()
    response = stack.org("demo-admin", "GET", "/org/service-accounts")
    assert "never-created" not in [a["name"] for a in response.json()["serviceAccounts"]]


def test_the_end_of_the_session_leads_back_to_sign_in(open_page, site, stack):
    """A real short session: the sign-in call asks the stack for a 6-second one (its
    `ttlSeconds`); the gateway's authorizer then refuses it (401)."""
    page, watch = open_page()
    watch.allow_status(401)

    def short_session(route) -> None:
        body = json.loads(route.request.post_data or "{}")
        route.continue_(post_data=json.dumps({**body, "ttlSeconds": 6}))

    page.route(f"{stack.base_url}/local/session", short_session)
    started = time.monotonic()
    open_admin(page, site.url)
    page.unroute(f"{stack.base_url}/local/session", short_session)
    time.sleep(max(0.0, started + 7 - time.monotonic()))
    page.get_by_role("button", name="Refresh", exact=True).click()
    expect(page.get_by_text("Your session has ended. Please sign in again.")).to_be_visible()
    expect(admin(page)).to_have_count(0)
    picker = page.get_by_role("group", name="Demo user")
    expect(picker.get_by_role("radio", name="demo-admin (Admin)")).to_be_checked()
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(admin(page)).to_have_attribute("data-state", "ready")
