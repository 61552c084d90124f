"""Runs CloudFormation's SAM transform (the aws-sam-translator library that the
`AWS::Serverless-2016-10-31` transform runs) on a template for every combination of
its boolean parameters, and writes each distinct output as JSON for cfn-lint.

    python3 infra/scripts/sam_transform_check.py OUT_DIR TEMPLATE [TEMPLATE...]

A boolean parameter is one whose AllowedValues are exactly "true" and "false". Each
combination is transformed from a fresh copy of the template (the translator edits
its input). Parameters without a default get the sample values below. Code locations
are replaced by an S3 location, as `sam package` does. The outputs go to
OUT_DIR/<template stem>-<n>.json, one file per distinct output (many combinations
transform alike: conditions stay in the output for CloudFormation to evaluate); a
summary line per template says how many combinations were transformed and how many
distinct outputs were written. Any transform error fails the run and names the
combination. A transformed output that gives a role an account-wide managed policy SAM
adds on its own (AWSLambdaDynamoDBExecutionRole reads every stream of the account)
fails too. Offline.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samtranslator.model.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

# The translator warns about feature toggles it has no configuration for.
logging.disable(logging.WARNING)

# Values for parameters that have no default (or an empty one a rule refuses).
SAMPLE_VALUES = {
    "WebUserPoolArn": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEf123",
    "WebOrigin": "https://portal.example.com",
    "CognitoDomain": "portal-auth.auth.us-east-1.amazoncognito.com",
    "CognitoAppClientId": "1example23456789",
    "AlarmEmail": "oncall@example.com",
}

CODE_LOCATION = "s3://patgate-artifacts/patgate/0123456789abcdef"

# Managed policies SAM attaches for stream and queue event sources: every stream or
# queue of the account. The templates grant their own, scoped statements instead.
ACCOUNT_WIDE_POLICIES = (
    "AWSLambdaDynamoDBExecutionRole",
    "AWSLambdaKinesisExecutionRole",
    "AWSLambdaSQSQueueExecutionRole",
)


class NoManagedPolicies:
    """The translator asks for the account's managed policy names only to expand a
    bare policy name in Policies; the templates use ARNs or statements."""

    def load(self):
        return {}


def boolean_parameters(template: dict) -> list[str]:
    return sorted(
        name
        for name, spec in template.get("Parameters", {}).items()
        if sorted(str(v) for v in spec.get("AllowedValues", [])) == ["false", "true"]
    )


def packaged(template: dict) -> dict:
    """The template as `sam package` uploads it: code and layer content in S3."""
    packaged = copy.deepcopy(template)
    packaged.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for resource in packaged.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = CODE_LOCATION
        elif resource.get("Type") == "AWS::Serverless::LayerVersion":
            resource.setdefault("Properties", {})["ContentUri"] = CODE_LOCATION
    return packaged


def label(path: Path) -> str:
    """patgate for ./template.yaml, the folder's name for an example's template."""
    return path.parent.name if path.parent.name else "patgate"


def combinations(names: list[str]):
    for values in itertools.product(["true", "false"], repeat=len(names)):
        yield dict(zip(names, values))


def check(path: Path, out_dir: Path) -> int:
    template = packaged(yaml_parse(path.read_text(encoding="utf-8")))
    names = boolean_parameters(template)
    parameters = template.get("Parameters", {})
    base = {name: value for name, value in SAMPLE_VALUES.items() if name in parameters}
    seen: dict[str, Path] = {}
    failures = []
    count = 0
    for combo in combinations(names):
        count += 1
        try:
            output = transform(copy.deepcopy(template), {**base, **combo}, NoManagedPolicies())
        except InvalidDocumentException as error:
            causes = "; ".join(str(cause) for cause in error.causes)
            failures.append(f"{path.name} {combo}: {causes}")
            continue
        except Exception as error:  # the translator raises several types
            failures.append(f"{path.name} {combo}: {type(error).__name__}: {error}")
            continue
        for logical_id, resource in output.get("Resources", {}).items():
            arns = json.dumps(resource.get("Properties", {}).get("ManagedPolicyArns", []))
            for policy in ACCOUNT_WIDE_POLICIES:
                if policy in arns:
                    failures.append(f"{path.name} {combo}: {logical_id} gets {policy}")
        text = json.dumps(output, indent=1, sort_keys=True, default=str)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest not in seen:
            target = out_dir / f"{label(path)}-{len(seen) + 1}.json"
            target.write_text(text, encoding="utf-8")
            seen[digest] = target
    for failure in failures:
        print(f"transform FAILED: {failure}", file=sys.stderr)
    print(
        f"{path}: {count} combinations of {len(names)} boolean parameters "
        f"({', '.join(names) or 'none'}) transformed, {len(seen)} distinct outputs"
    )
    return len(failures)


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = Path(argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.json"):
        old.unlink()
    failed = sum(check(Path(p), out_dir) for p in argv[2:])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
