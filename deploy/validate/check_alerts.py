"""Checks deploy/prometheus/alerts.yaml beyond what promtool checks: every rule is an alert with a
CamelCase name starting with Herald, a `for` (or none, on purpose), a severity of warning or critical,
and the annotations summary, description and runbook; each runbook is
docs/operations.md#<the alert's name in lower case> and that section exists; every alert section of
docs/operations.md has its alert; every expression passes the PromQL lint (promql_lint.py) against
deploy/validate/metrics.yaml, Prometheus' own `up` included.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

from promql_lint import Catalogue, lint

ANNOTATIONS = {"summary", "description", "runbook"}
SEVERITIES = {"warning", "critical"}


def github_anchors(markdown: str) -> dict[str, str]:
    """Heading anchors as GitHub makes them: lower case, punctuation dropped, spaces to hyphens."""
    anchors = {}
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        m = None if in_code else re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if m:
            text = re.sub(r"`", "", m.group(2))
            slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
            anchors[slug] = m.group(2)
    return anchors


def alert_sections(markdown: str) -> set[str]:
    """The headings under "## Alerts" that name an alert (### HeraldSomething)."""
    names, inside = set(), False
    for line in markdown.splitlines():
        if line.startswith("## "):
            inside = line.strip() == "## Alerts"
        elif inside and (m := re.match(r"^### (Herald\w+)\s*$", line)):
            names.add(m.group(1))
    return names


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("rules", type=Path)
    ap.add_argument("--metrics", type=Path, required=True)
    ap.add_argument("--docs", type=Path, required=True)
    args = ap.parse_args()

    errors: list[str] = []
    doc = args.docs.read_text()
    anchors = github_anchors(doc)
    catalogue = Catalogue(args.metrics, allow_prometheus=True)
    data = yaml.safe_load(args.rules.read_text())
    alerts: list[str] = []
    for group in data.get("groups", []):
        for rule in group.get("rules", []):
            name = rule.get("alert")
            where = f"alert {name or rule.get('record')}"
            if not name:
                errors.append(f"{where}: not an alert")
                continue
            alerts.append(name)
            if not re.fullmatch(r"Herald[A-Z][A-Za-z]+", name):
                errors.append(f"{where}: name is not HeraldCamelCase")
            severity = rule.get("labels", {}).get("severity")
            if severity not in SEVERITIES:
                errors.append(f"{where}: severity {severity!r}, expected one of {sorted(SEVERITIES)}")
            missing = ANNOTATIONS - set(rule.get("annotations", {}))
            if missing:
                errors.append(f"{where}: annotations missing: {sorted(missing)}")
            runbook = rule.get("annotations", {}).get("runbook", "")
            expected = f"{args.docs.as_posix()}#{name.lower()}"
            if runbook != expected:
                errors.append(f"{where}: runbook {runbook!r}, expected {expected!r}")
            elif name.lower() not in anchors:
                errors.append(f"{where}: {args.docs} has no section {name} (#{name.lower()})")
            result = lint(rule.get("expr", ""), catalogue, where, raw_counters=True)
            errors.extend(result.errors)

    if len(set(alerts)) != len(alerts):
        errors.append("an alert name is used twice")
    for name in sorted(alert_sections(doc) - set(alerts)):
        errors.append(f"{args.docs}: section {name} names no alert of {args.rules}")

    for e in errors:
        print(e)
    print(f"{args.rules}: {len(alerts)} alerts, each with its section in {args.docs}: {'FAILED' if errors else 'ok'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
