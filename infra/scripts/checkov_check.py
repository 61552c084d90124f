"""checkov on the template as CloudFormation deploys it, against the accepted findings.

    python3 infra/scripts/checkov_check.py transform OUT.json
        (SAM CLI's Python: aws-sam-translator) writes the SAM transform of
        template.yaml with every optional part switched on, so that checkov sees every
        resource: each boolean parameter's default becomes "true" and each optional
        parameter below gets a value (checkov evaluates conditions with the defaults).

    python3 infra/scripts/checkov_check.py compare CHECKOV.json BASELINE
        reads checkov's JSON report and the baseline (infra/checkov/baseline.txt) and
        fails on any finding the baseline does not accept, and on any baseline entry
        that no longer matches a finding (a fixed finding leaves the baseline).

Baseline lines: `CHECK_ID  RESOURCE_PATTERN  reason`, the pattern an fnmatch glob
over checkov's resource name (`AWS::Lambda::Function.*`), the reason one line that
says why the finding is accepted. Lines starting with `#` are comments.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Values that switch optional resources on (beyond every boolean parameter's "true").
OPTIONAL_VALUES = {
    "AlarmEmail": "oncall@example.com",
    "AuthorizerClientApiArns": "arn:aws:execute-api:us-east-1:210987654321:a1b2c3d4e5/authorizers/*",
    "AuthorizerClientAccounts": "210987654321",
    "ExpiryNotificationTopicArn": "arn:aws:sns:us-east-1:123456789012:token-expiry",
    "AuthorizerReservedConcurrency": "50",
    "LeakReportReservedConcurrency": "2",
}


def transform(out_path: str) -> None:
    sys.path.insert(0, str(REPO / "infra" / "scripts"))
    import sam_transform_check as sam  # SAM CLI's Python: aws-sam-translator

    template = sam.packaged(sam.yaml_parse((REPO / "template.yaml").read_text(encoding="utf-8")))
    parameters = template.get("Parameters", {})
    for name in sam.boolean_parameters(template):
        parameters[name]["Default"] = "true"
    values = {**sam.SAMPLE_VALUES, **OPTIONAL_VALUES}
    for name, value in values.items():
        if name in parameters:
            parameters[name]["Default"] = value
    given = {name: value for name, value in values.items() if name in parameters}
    output = sam.transform(copy.deepcopy(template), given, sam.NoManagedPolicies())
    Path(out_path).write_text(json.dumps(output, indent=1, default=str), encoding="utf-8")


def read_baseline(path: Path) -> list[tuple[str, str, str, int]]:
    entries = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 3 or not parts[2].strip():
            sys.exit(f"{path}:{number}: want `CHECK_ID  RESOURCE_PATTERN  reason`, got: {raw}")
        entries.append((parts[0], parts[1], parts[2].strip(), number))
    return entries


def compare(report_path: str, baseline_path: str) -> int:
    report = json.loads(Path(report_path).read_text(encoding="utf-8"))
    reports = report if isinstance(report, list) else [report]
    failed = [
        (check["check_id"], check["resource"], check["check_name"])
        for part in reports
        for check in part["results"]["failed_checks"]
    ]
    passed = sum(part["summary"]["passed"] for part in reports)
    entries = read_baseline(Path(baseline_path))
    used = set()
    new = []
    for check_id, resource, name in failed:
        match = next(
            (e for e in entries if e[0] == check_id and fnmatch.fnmatchcase(resource, e[1])),
            None,
        )
        if match is None:
            new.append(f"  {check_id} {resource}: {name}")
        else:
            used.add(match[3])
    stale = [f"  line {e[3]}: {e[0]} {e[1]}" for e in entries if e[3] not in used]
    print(
        f"checkov: {passed} passed, {len(failed)} failed, of which {len(failed) - len(new)} "
        f"accepted by {Path(baseline_path).name} ({len(used)} of its {len(entries)} entries in use)"
    )
    if new:
        print("findings the baseline does not accept (fix them, or accept each with a reason):")
        print("\n".join(new))
    if stale:
        print("baseline entries that match no finding any more (remove them):")
        print("\n".join(stale))
    return 1 if new or stale else 0


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "transform":
        transform(argv[2])
        return 0
    if len(argv) == 4 and argv[1] == "compare":
        return compare(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
