"""Prints the web UI's figures (see measure.sh):

- bundle size of dist/page.js (page + element) and dist/patgate-tokens.js (the
  element alone), raw and gzipped (level 9), and what each element (the parts of
  <patgate-tokens>) costs a page that loads it alone (`node build.mjs --sizes`);
- time from navigation start to the `patgate-tokens:rendered` event (list on
  screen) on the standalone page against the local stack, signed in with
  `?user=` (so it includes the session call, the list call and its CORS preflight),
  over N loads in one browser context after 2 warm-up loads: median, min, p90;
- a list of 200 tokens rendered: the first `GET /tokens` answered with 200 real
  tokens of the local stack (one answer, route interception), time from its response
  to the `rendered` event (DOM committed) and to the next frame after it (style,
  layout, paint), median of N loads; then a re-sort and a search over the 200;
- axe-core findings in every state the browser tests walk, at 1280 and 360 px.

Needs what tests/web/setup.sh prepares; reuses tests/web/harness.py and flows.py.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "web"))

import flows  # noqa: E402
import harness  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

RENDERED_AT = """
document.addEventListener('patgate-tokens:rendered', () => {
  window.__renderedAt = performance.now();
  requestAnimationFrame(() => setTimeout(() => { window.__paintedAt = performance.now(); }));
}, { once: true });
"""

# Time for the table to show a change of its view, to the frame after it.
TABLE_CHANGE = """async ([what, value]) => {
  const table = document.querySelector('patgate-tokens').shadowRoot.querySelector('patgate-token-table');
  const start = performance.now();
  table[what] = value;
  await table.updateComplete;
  await new Promise((done) => requestAnimationFrame(() => setTimeout(done)));
  return [performance.now() - start, table.visible.length];
}"""

LIST_TOKENS = 200


BREAKDOWN = """() => {
  const calls = performance.getEntriesByType('resource');
  const call = (suffix) => calls.find((r) => r.name.endsWith(suffix));
  const session = call('/local/session'), list = call('/tokens');
  return {
    total: window.__renderedAt,
    script: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
    session: session.responseEnd - session.startTime,
    list: list.responseEnd - list.startTime,
    afterList: window.__renderedAt - list.responseEnd,
  };
}"""


def kb(n: int) -> str:
    return f"{n / 1024:.1f} KB"


def bundle_sizes() -> None:
    print("Bundle (infra/web/dist, minified ES modules)")
    for name, what in [("page.js", "page + element"), ("patgate-tokens.js", "element alone")]:
        data = (harness.DIST / name).read_bytes()
        print(f"  {name:<19} {what:<15} raw {kb(len(data)):>9}   gzip {kb(len(gzip.compress(data, 9))):>8}")
    css = (harness.DIST / "page.css").read_bytes()
    html = (harness.DIST / "index.html").read_bytes()
    print(f"  {'page.css + index.html':<35} raw {kb(len(css) + len(html)):>9}   gzip {kb(len(gzip.compress(css, 9)) + len(gzip.compress(html, 9))):>8}")


def element_sizes() -> None:
    print("\nEach element alone (minified ES module, Lit included; `node build.mjs --sizes`)")
    out = subprocess.run(["node", "build.mjs", "--sizes"], cwd=harness.WEB, check=True, capture_output=True, text=True)
    for row in json.loads(out.stdout):
        print(f"  {row['element']:<52} raw {kb(row['raw']):>9}   gzip {kb(row['gzip']):>8}")


def render_200(browser, site: str, stack, loads: int) -> None:
    """The table with LIST_TOKENS real tokens in one answer."""
    user = stack.new_user()
    session = stack.session(user)
    for i in range(LIST_TOKENS):
        token = stack.create_token(user, f"svc-{i:03}", flows.in_days(1 + i % 360), session=session,
                                   permissions=["catalog:read"] if i % 4 == 0 else None)
        if i % 3 == 0:
            stack.call_api(token["token"], user_agent="deploy-bot/2.1")
    everything = stack.tokens(user)
    first = stack.page_of(user)
    answer = json.dumps({**first, "tokens": everything, "nextToken": None})
    assert len(everything) == LIST_TOKENS, len(everything)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Europe/Paris", locale="en-GB")
    context.add_init_script(RENDERED_AT)

    def one_answer(route) -> None:
        if route.request.method != "GET" or "?" in route.request.url:
            route.fallback()
            return
        route.fulfill(status=200, body=answer, headers={
            "Content-Type": "application/json", "Access-Control-Allow-Origin": site, "Cache-Control": "no-store"})

    context.route(f"{stack.base_url}/tokens", one_answer)
    page = context.new_page()
    committed, painted, resort, search = [], [], [], []
    for i in range(loads + 2):
        page.goto(f"{site}/?user={user}")
        page.wait_for_function("() => window.__paintedAt !== undefined")
        listed = page.evaluate("""() => {
            const list = performance.getEntriesByType('resource').filter((r) => r.name.endsWith('/tokens')).pop();
            return [list.responseEnd, window.__renderedAt, window.__paintedAt];
        }""")
        rows = page.evaluate("() => document.querySelector('patgate-tokens').shadowRoot.querySelector('patgate-token-table').visible.length")
        assert rows == LIST_TOKENS, rows
        if i < 2:
            continue
        committed.append(listed[1] - listed[0])
        painted.append(listed[2] - listed[0])
        resort.append(page.evaluate(TABLE_CHANGE, ["order", "expiring"])[0])
        took, shown = page.evaluate(TABLE_CHANGE, ["query", "svc-1"])
        assert 0 < shown < LIST_TOKENS
        search.append(took)
    context.close()
    print(f"\n{LIST_TOKENS} tokens rendered (1280 px, {len(committed)} loads after 2 warm-up; list response end to ...)")
    for label, values in [("... rendered event (DOM committed)", committed), ("... the frame after (layout, paint)", painted),
                          ("re-sort (expiring soonest), to the frame after", resort),
                          ("search \"svc-1\", to the frame after", search)]:
        print(f"  {label:<48} median {statistics.median(values):6.1f} ms   max {max(values):6.1f} ms")


def load_times(browser, site: str, stack, loads: int) -> list[float]:
    user = stack.new_user()
    for i, days in enumerate([3, 30, 90]):
        stack.create_token(user, f"measure-{i}", flows.in_days(days))
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Europe/Paris", locale="en-GB")
    context.add_init_script(RENDERED_AT)
    page = context.new_page()
    times: list[dict] = []
    for i in range(loads + 2):
        page.goto(f"{site}/?user={user}")
        page.wait_for_function("() => window.__renderedAt !== undefined")
        if i >= 2:
            times.append(page.evaluate(BREAKDOWN))
    context.close()
    return times


def axe_per_state(browser, site: str, stack) -> dict[str, list[dict]]:
    findings: dict[str, list[dict]] = {}
    for width in (1280, 360):
        context = browser.new_context(
            viewport={"width": width, "height": 900},
            timezone_id="Europe/Paris",
            locale="en-GB",
            permissions=["clipboard-read", "clipboard-write"],
        )
        page = context.new_page()
        flows.walk_states(page, site, stack, stack.new_user(), lambda state: findings.__setitem__(f"{state} @{width}", harness.run_axe(page)))
        context.close()
    return findings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loads", type=int, default=20)
    args = parser.parse_args()

    bundle_sizes()
    element_sizes()
    stack = harness.start_stack(Path(tempfile.mkdtemp()) / "patgate-local.log")
    site = stack.web_url  # the page as the local stack serves it
    try:
        with sync_playwright() as playwright:
            browser = harness.launch_browser(playwright)
            times = load_times(browser, site, stack, args.loads)
            totals = [t["total"] for t in times]
            print(f"\nPage load to list rendered ({len(times)} loads, local stack debug build, 3 tokens)")
            print(f"  median {statistics.median(totals):.0f} ms   min {min(totals):.0f} ms   "
                  f"p90 {statistics.quantiles(totals, n=10)[-1]:.0f} ms   max {max(totals):.0f} ms")
            median = {key: statistics.median(t[key] for t in times) for key in times[0]}
            print(f"  medians of the parts: HTML + page.js until DOMContentLoaded {median['script']:.0f} ms, "
                  f"POST /local/session {median['session']:.0f} ms, GET /tokens {median['list']:.0f} ms, "
                  f"list response to rendered {median['afterList']:.0f} ms")
            # A stack with room for the 200-token list (the default cap is 50).
            big = harness.start_stack(Path(tempfile.mkdtemp()) / "patgate-local.log", {"MaxTokensPerUser": str(LIST_TOKENS)})
            try:
                render_200(browser, big.web_url, big, min(args.loads, 10))
            finally:
                harness.stop_stack(big)
            findings = axe_per_state(browser, site, stack)
            browser.close()
    finally:
        harness.stop_stack(stack)

    print("\naxe-core findings per state (violations by impact; 0 = none)")
    for state, violations in findings.items():
        impacts = Counter(v["impact"] for v in violations)
        summary = ", ".join(f"{k} {n}" for k, n in sorted(impacts.items())) or "0"
        ids = ", ".join(sorted({v["id"] for v in violations}))
        print(f"  {state:<22} {summary}{'  (' + ids + ')' if ids else ''}")


if __name__ == "__main__":
    main()
