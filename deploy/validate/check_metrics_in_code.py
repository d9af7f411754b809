"""Compares deploy/validate/metrics.yaml with the metric names the Rust sources record
(`counter!`, `gauge!`, `histogram!`): each listed metric should be recorded somewhere, and each
recorded one listed. Names only, not labels. Exits 1 on a difference, which scripts/validate-deploy
reports as a warning: the list is the contract the dashboard and the alerts are written against.
"""

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
listed = set(yaml.safe_load((ROOT / "deploy/validate/metrics.yaml").read_text())["metrics"])
recorded = set()
for rs in [*ROOT.glob("src/**/*.rs"), *ROOT.glob("*/src/**/*.rs")]:
    if rs.parts[len(ROOT.parts)] in ("target", "bench", "tests"):
        continue
    recorded |= set(re.findall(r'(?:counter|gauge|histogram)!\(\s*"([a-z_:][a-z0-9_:]*)"', rs.read_text()))
missing = sorted(listed - recorded)
unlisted = sorted(recorded - listed)
for name in missing:
    print(f"{name}: listed in metrics.yaml, recorded nowhere in the Rust sources")
for name in unlisted:
    print(f"{name}: recorded in the Rust sources, not listed in metrics.yaml")
print(f"metrics: {len(listed)} listed, {len(recorded)} recorded: {'differ' if missing or unlisted else 'the same'}")
sys.exit(1 if missing or unlisted else 0)
