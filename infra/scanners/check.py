#!/usr/bin/env python3
"""Runs the real scanners with patgate's rules on the fixture tree (tests/scanners).

    python3 infra/scanners/check.py

For two deployments, the default one (`pgt_`) and one that moved to `acme_pgt_` and
still accepts `pgt_`, it generates the rules (generate.py), then runs:

- detect-secrets (PyPI, pinned in requirements.txt) with the checksum-aware plugin:
  every planted valid token of an accepted prefix is found, nothing else is (no
  look-alike with a bad checksum, no decoy, no token of a prefix not accepted);
- secretlint (npm, pinned in package.json) with the pattern rule: every planted valid
  token is found; being a regex, it also reports the look-alikes, and nothing else;
- the gitleaks rule's regex, with its keywords, under RE2 (PyPI google-re2, the engine
  family gitleaks uses; gitleaks itself is in neither Debian nor PyPI): as secretlint.

It also checks that rules/ is what generate.py gives for `pgt_`, prints what each
scanner found, and ends with "N passed, N failed".
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import re2

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FIXTURES = REPO / "tests" / "scanners" / "fixtures"
PLANTED = json.loads((REPO / "tests" / "scanners" / "planted.json").read_text())
SECRETLINT = HERE / "node_modules" / ".bin" / "secretlint"
DEPLOYMENTS = [("pgt_", []), ("acme_pgt_", ["pgt_"])]

sys.path.insert(0, str(HERE))
import generate  # noqa: E402


def of_prefixes(tokens: list[str], prefixes: list[str]) -> set[str]:
    """The tokens whose own prefix (up to the last `_`) is one of `prefixes`."""
    return {t for t in tokens if t[: t.rindex("_") + 1] in prefixes}


def detect_secrets(rules: Path) -> set[str]:
    """Secrets the patgate plugin reported, mapped back from detect-secrets' SHA-1s."""
    output = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan", "--all-files",
         "--plugin", str(rules / "patgate_detect_secrets.py"), "."],
        cwd=FIXTURES, capture_output=True, text=True, check=True,
    ).stdout
    by_sha1 = {
        hashlib.sha1(s.encode()).hexdigest(): s
        for kind in ("valid", "look_alike", "decoy") for s in PLANTED[kind]
    }
    found = set()
    for results in json.loads(output)["results"].values():
        for result in results:
            if result["type"] == "patgate personal access token":
                found.add(by_sha1.get(result["hashed_secret"], "<unplanted>"))
    return found


def secretlint(rules: Path) -> set[str]:
    """Credentials the pattern rule reported (unmasked)."""
    result = subprocess.run(
        [str(SECRETLINT), "--secretlintrc", str(rules / "secretlintrc.json"),
         "--format", "json", "--no-maskSecrets", "**/*", "**/.*"],
        cwd=FIXTURES, capture_output=True, text=True,
    )
    if result.returncode not in (0, 1):  # 1: something was found
        sys.exit(f"secretlint failed ({result.returncode}): {result.stderr}")
    found = set()
    for file in json.loads(result.stdout):
        for message in file["messages"]:
            if message["ruleId"] == "@secretlint/secretlint-rule-pattern":
                found.add(message["data"]["CREDENTIAL"])
    return found


def gitleaks_regex(rules: Path) -> set[str]:
    """What the gitleaks rule matches under RE2, with gitleaks' keyword pre-filter."""
    config = tomllib.loads((rules / "gitleaks.toml").read_text())
    found = set()
    for rule in config["rules"]:
        pattern = re2.compile(rule["regex"])
        keywords = [k.lower() for k in rule.get("keywords", [])]
        for path in sorted(p for p in FIXTURES.rglob("*") if p.is_file()):
            text = path.read_text()
            if keywords and not any(k in text.lower() for k in keywords):
                continue
            for match in pattern.finditer(text):
                found.add(match.group(rule.get("secretGroup", 0)))
    return found


def main() -> None:
    passed, failed = 0, 0

    def check(name: str, ok: bool, detail: str = "") -> None:
        nonlocal passed, failed
        passed, failed = passed + ok, failed + (not ok)
        print(f"  {'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}")

    stale = [
        name for name, text in generate.render([generate.DEFAULT_PREFIX]).items()
        if (generate.SHIPPED / name).read_text() != text
    ]
    print("shipped rules")
    check("infra/scanners/rules is what generate.py gives for pgt_", not stale, ", ".join(stale))

    for current, earlier in DEPLOYMENTS:
        prefixes = [current, *earlier]
        valid = of_prefixes(PLANTED["valid"], prefixes)
        look_alike = of_prefixes(PLANTED["look_alike"], prefixes)
        with tempfile.TemporaryDirectory() as out:
            rules = Path(out)
            generate.write(prefixes, rules)
            results = {
                "detect-secrets (checksum-aware plugin)": (detect_secrets(rules), valid),
                "secretlint (pattern rule)": (secretlint(rules), valid | look_alike),
                "gitleaks rule under RE2": (gitleaks_regex(rules), valid | look_alike),
            }
        print(f"\nprefix {current}" + (f", earlier {', '.join(earlier)}" if earlier else ""))
        print(f"  planted: {len(valid)} valid tokens and {len(look_alike)} look-alikes of "
              f"these prefixes, {len(PLANTED['valid']) - len(valid)} valid tokens of "
              f"another prefix, {len(PLANTED['decoy'])} decoys")
        for tool, (found, expected) in results.items():
            print(f"  {tool}: found {len(found & valid)}/{len(valid)} valid, "
                  f"{len(found & look_alike)}/{len(look_alike)} look-alikes, "
                  f"{len(found - valid - look_alike)} other")
            check(f"{tool} finds exactly the expected strings", found == expected,
                  f"missed {sorted(expected - found)}, extra {sorted(found - expected)}")

    print(f"\n{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    main()
