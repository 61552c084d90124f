"""Browser tests of the web UI: Playwright (Debian's chromium) against the real local
stack, which serves the page (infra/web/dist) on an origin of its own with its strict
CSP and generated config.json.

One local stack per test session (see harness.py), and a second one with other limits
for the tests that need them; every test signs in as a fresh user of its own, so
tests do not see each other's tokens. Each page records console errors (CSP
violations included), uncaught exceptions and every request it makes: at the end of
each test there must be no error the test did not expect, no request to any origin
but the page's and the API's, and nothing in localStorage, sessionStorage or cookies.
(Cognito mode also talks to the user pool's domain, answered by route interception.)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

import harness

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
HOST = Path(__file__).resolve().parent / "host"
BROWSER_ZONE = "Europe/Paris"
COGNITO_DOMAIN = "auth.patgate.test"  # answered by route interception in the tests, never reached
AXE_FINDINGS: dict[str, list[dict]] = {}
# The second stack's settings: a shorter longest lifetime, and room for more tokens
# than one page of `GET /tokens` (50) holds.
OTHER_LIMITS = {"MaxTokenLifetimeDays": "30", "MaxTokensPerUser": "60"}


@dataclass(frozen=True)
class Site:
    """Where the page is (the stack's web origin) and the API it calls."""

    url: str
    api: str


def started(tmp_path_factory, name: str, params: dict[str, str] | None = None) -> harness.Stack:
    if not harness.DIST.joinpath("page.js").is_file():
        pytest.fail(f"{harness.DIST} is not built: run `npm ci && npm run build` in infra/web (tests/web/run.sh does)")
    try:
        return harness.start_stack(tmp_path_factory.mktemp(name) / "patgate-local.log", params)
    except harness.StackError as error:
        pytest.fail(str(error))


def stopped(stack: harness.Stack) -> None:
    code = harness.stop_stack(stack)
    assert code == 0, f"patgate-local exited {code}:\n{stack.log()[-3000:]}"


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    stack = started(tmp_path_factory, "stack")
    yield stack
    stopped(stack)


@pytest.fixture(scope="session")
def other_stack(tmp_path_factory):
    """A stack with OTHER_LIMITS (started by the first test that asks for it)."""
    stack = started(tmp_path_factory, "other-stack", OTHER_LIMITS)
    yield stack
    stopped(stack)


@pytest.fixture(scope="session")
def site(stack) -> Site:
    return Site(stack.web_url, stack.base_url)


@pytest.fixture(scope="session")
def other_site(other_stack) -> Site:
    return Site(other_stack.web_url, other_stack.base_url)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = harness.launch_browser(playwright)
        yield browser
        browser.close()


@dataclass
class Watch:
    """What a page did: console errors, page errors, requests."""

    site: str
    api: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    allowed_statuses: set[int] = field(default_factory=set)

    def allow_status(self, *statuses: int) -> None:
        """The test provokes these HTTP statuses: Chrome's "Failed to load resource" lines for them are expected."""
        self.allowed_statuses.update(statuses)

    def unexpected(self) -> list[str]:
        def expected(text: str) -> bool:
            match = re.search(r"Failed to load resource: the server responded with a status of (\d+)", text)
            return bool(match) and int(match.group(1)) in self.allowed_statuses

        return [e for e in self.errors if not expected(e)]


@pytest.fixture
def open_page(browser, site):
    """open_page(width=1280, color_scheme="light", on=site) -> (page, watch); checked at teardown."""
    opened: list[tuple] = []

    def open_(width: int = 1280, color_scheme: str = "light", height: int = 900, on: Site = site) -> tuple[Page, Watch]:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            timezone_id=BROWSER_ZONE,
            locale="en-GB",
            color_scheme=color_scheme,
            # local-network-access: for the pages serve_test_pages makes up (see there).
            permissions=["clipboard-read", "clipboard-write", "local-network-access"],
        )
        harness.serve_test_pages(
            context,
            on.url,
            extra={"/host.html": HOST / "host.html", "/host.js": HOST / "host.js"},
            cognito_domain=COGNITO_DOMAIN,
        )
        page = context.new_page()
        watch = Watch(on.url, on.api)
        page.on("console", lambda m: watch.errors.append(f"console: {m.text} ({m.location.get('url', '')})") if m.type == "error" else None)
        page.on("pageerror", lambda e: watch.errors.append(f"page error: {e}"))
        page.on("request", lambda r: watch.requests.append(r.url))
        opened.append((context, page, watch, on))
        return page, watch

    yield open_

    for context, page, watch, on in opened:
        try:
            if not page.is_closed() and page.url.startswith(on.url):
                stored = page.evaluate("() => [localStorage.length, sessionStorage.length, document.cookie]")
                assert stored == [0, 0, ""], f"the page stored something: {stored}"
        finally:
            context.close()
        assert not watch.unexpected(), "browser console errors:\n" + "\n".join(watch.unexpected())
        allowed = (on.url + "/", on.api + "/", f"https://{COGNITO_DOMAIN}/oauth2/", "data:")
        foreign = [u for u in watch.requests if not u.startswith(allowed)]
        assert not foreign, f"requests to other origins: {foreign}"


@pytest.fixture
def user(stack) -> str:
    """A fresh user (role User, zone Europe/Paris) with no tokens."""
    return stack.new_user()


def sign_in(page: Page, site, user_id: str) -> None:
    """Opens the page signed in as user_id and waits for the list."""
    page.goto(f"{site.url}/?user={user_id}")
    page.wait_for_selector("patgate-tokens[data-state=ready]")


def screenshot(page: Page, state: str, full_page: bool = True) -> Path:
    """The whole page (the viewport only with `full_page=False`, or while a dialog is open)."""
    width = page.viewport_size["width"]
    scheme = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") and "-dark" or ""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{state}-{width}{scheme}.png"
    # A modal dialog's backdrop covers the viewport only: show the viewport then.
    page.screenshot(path=str(path), full_page=full_page and page.get_by_role("dialog").count() == 0)
    return path


def check_axe(page: Page, state: str) -> list[dict]:
    """axe-core in this state: no violation at all, whatever its impact. Findings are kept for the report."""
    width = page.viewport_size["width"]
    scheme = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") and "-dark" or ""
    violations = harness.run_axe(page)
    AXE_FINDINGS[f"{state}-{width}{scheme}"] = violations
    assert not violations, f"axe in state {state}: " + json.dumps(violations, indent=2)
    return violations


def pytest_sessionfinish(session, exitstatus):
    if AXE_FINDINGS:
        SCREENSHOTS.mkdir(exist_ok=True)
        (SCREENSHOTS / "axe.json").write_text(json.dumps(AXE_FINDINGS, indent=2, sort_keys=True))
