"""Checks deploy/grafana/herald.json: it parses; it is an importable dashboard with the
${DS_PROMETHEUS} input; its rows are the expected ones, each with panels; panel ids are unique and
panels fit the 24-column grid; every panel queries ${DS_PROMETHEUS}; every query passes the PromQL
lint (promql_lint.py) against deploy/validate/metrics.yaml; and every Herald metric is shown.

With --promtool-rules FILE it also writes every query (Grafana's variables replaced) as a recording
rule, for `promtool check rules` to parse with Prometheus' own parser.
With --typescript FILE it writes the dashboard as a TypeScript value of @grafana/schema's Dashboard
type, for `tsc` to check against Grafana's published schema.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from promql_lint import Catalogue, lint, without_grafana_variables

ROWS = ["HTTP", "Queues", "Providers", "Receipts", "Webhooks", "Messages", "Scheduler"]
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
# The export envelope Grafana's import reads; not part of the dashboard model itself.
ENVELOPE = ("__inputs", "__requires", "__elements")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dashboard", type=Path)
    ap.add_argument("--metrics", type=Path, required=True)
    ap.add_argument("--promtool-rules", type=Path)
    ap.add_argument("--typescript", type=Path)
    args = ap.parse_args()

    errors: list[str] = []
    try:
        d = json.loads(args.dashboard.read_text())
    except json.JSONDecodeError as e:
        print(f"{args.dashboard}: not JSON: {e}")
        return 1

    if not any(i.get("name") == "DS_PROMETHEUS" and i.get("pluginId") == "prometheus" for i in d.get("__inputs", [])):
        errors.append("__inputs: no DS_PROMETHEUS input of the prometheus plugin")
    if not isinstance(d.get("schemaVersion"), int) or not 36 <= d["schemaVersion"] <= 41:
        errors.append(f"schemaVersion {d.get('schemaVersion')!r}: expected 36 to 41")
    for key in ("title", "uid"):
        if not d.get(key):
            errors.append(f"no {key}")
    variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
    for name, v in variables.items():
        if v.get("type") == "query":
            if v.get("datasource") != DATASOURCE:
                errors.append(f"variable {name}: datasource is not ${{DS_PROMETHEUS}}")

    catalogue = Catalogue(args.metrics, allow_prometheus=False)
    panels = d.get("panels", [])
    ids: set[int] = set()
    rows: list[str] = []
    in_row: dict[str, int] = {}
    used: set[str] = set()
    rules: list[dict] = []
    current_row = None
    for p in panels:
        pid = p.get("id")
        where = f"panel {pid} {p.get('title')!r}"
        if not isinstance(pid, int) or pid in ids:
            errors.append(f"{where}: id missing or repeated")
        ids.add(pid)
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in "hwxy") or g["x"] + g["w"] > 24 or g["w"] <= 0:
            errors.append(f"{where}: gridPos {g} does not fit the 24-column grid")
        if p.get("type") == "row":
            current_row = p.get("title")
            rows.append(current_row)
            in_row[current_row] = 0
            if p.get("collapsed") and not p.get("panels"):
                errors.append(f"{where}: a collapsed row with no panels")
            continue
        if current_row is None:
            errors.append(f"{where}: before the first row")
        else:
            in_row[current_row] += 1
        if p.get("datasource") != DATASOURCE:
            errors.append(f"{where}: datasource is not ${{DS_PROMETHEUS}}")
        targets = p.get("targets") or []
        if not targets:
            errors.append(f"{where}: no query")
        for t in targets:
            tw = f"{where} query {t.get('refId')}"
            if t.get("datasource", DATASOURCE) != DATASOURCE:
                errors.append(f"{tw}: datasource is not ${{DS_PROMETHEUS}}")
            expr = t.get("expr", "")
            if not expr:
                errors.append(f"{tw}: no expr")
                continue
            plain = without_grafana_variables(expr)
            result = lint(plain, catalogue, tw)
            errors.extend(result.errors)
            used |= result.used
            rules.append({"record": f"herald:panel_{pid}_{t.get('refId')}", "expr": plain})

    if rows != ROWS:
        errors.append(f"rows {rows}, expected {ROWS}")
    for r, n in in_row.items():
        if n == 0:
            errors.append(f"row {r!r} has no panel")
    for name in sorted(catalogue.herald - used):
        errors.append(f"{name} is on no panel")

    if args.promtool_rules:
        args.promtool_rules.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    if args.typescript:
        model = {k: v for k, v in d.items() if k not in ENVELOPE}
        args.typescript.write_text(
            "import type { Dashboard } from '@grafana/schema';\n\n"
            f"export const dashboard: Dashboard = {json.dumps(model, indent=2)};\n"
        )

    for e in errors:
        print(e)
    print(
        f"{args.dashboard}: {len(panels) - len(rows)} panels in {len(rows)} rows, {len(rules)} queries, "
        f"{len(used)} metrics shown: {'FAILED' if errors else 'ok'}"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
