"""Prints the web UI's figures (see measure.sh):

- bundle size of dist/page.js (page + element) and dist/patgate-tokens.js (the
  element alone), raw and gzipped (level 9);
- time from navigation start to the `patgate-tokens:rendered` event (list on
  screen) on the standalone page against the local stack, signed in with
  `?user=` (so it includes the session call, the list call and its CORS preflight),
  over N loads in one browser context after 2 warm-up loads: median, min, p90;
- axe-core findings in every state the browser tests walk, at 1280 and 360 px.

Needs what tests/web/setup.sh prepares; reuses tests/web/harness.py and flows.py.
"""

from __future__ import annotations

import argparse
import gzip
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
}, { once: true });
"""


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
