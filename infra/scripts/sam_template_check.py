"""Reads a template the way `sam build` does before it builds anything: SAM CLI's
parser, then the SAM translator plugins it runs locally. `sam validate --lint` runs
cfn-lint only, which accepts templates this step refuses (Fn::ForEach in Resources,
aws/aws-sam-cli#5647), so the lint checks this too. Offline; run with SAM CLI's
own Python.

    python3 infra/scripts/sam_template_check.py template.yaml
"""

import sys

from samcli.lib.samlib.wrapper import SamTranslatorWrapper
from samcli.yamlhelper import yaml_parse


def main(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    SamTranslatorWrapper(template).run_plugins()
    print(f"sam build can read {path}")


if __name__ == "__main__":
    main(sys.argv[1])
