"""A realistic permission configuration for benchmarks: 10 roles (the demo's 4 and 6
more), 24 permissions, 200 routes in 5 tables (the demo's table patgate and 4 team
APIs pinned to their API ids), valid for `patgate-config check`.

    python3 infra/scripts/large_config.py OUT.json
"""
from __future__ import annotations

import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(REPO, "infra", "config", "permissions.json")


def large_config(routes: int = 200) -> dict:
    demo = json.load(open(DEMO))
    perms = {f"area{i}:{verb}": f"{verb} area {i}" for i in range(10) for verb in ("read", "edit")}
    perms.update(demo["permissions"])
    grantable = sorted(p for p in perms if p != "token:rotate-self")
    roles = {f"Role{r}": [p for p in grantable if (len(p) + r) % 3 != 0] for r in range(6)}
    roles.update(demo["roles"])
    apis = {"patgate": {"routes": list(demo["apis"]["patgate"]["routes"])}}
    methods = ["GET", "PUT", "POST", "DELETE"]
    count = len(apis["patgate"]["routes"])
    t = 0
    while count < routes:
        name = f"team{t % 4}"
        table = apis.setdefault(name, {"apiIds": [f"team{t % 4}api00"], "routes": []})
        i = len(table["routes"])
        path = f"/r{i // 8}" + ("/{id}" if i % 2 else "") + (f"/sub{i // 2 % 4}" if i % 8 >= 4 else "")
        permission = f"area{i % 10}:{'read' if i % 4 == 0 else 'edit'}"
        table["routes"].append({"method": methods[i % 4], "path": path, "permission": permission})
        count += 1
        t += 1
    return {"version": 1, "permissions": perms, "roles": roles, "apis": apis}


if __name__ == "__main__":
    json.dump(large_config(), open(sys.argv[1], "w"), indent=2)
