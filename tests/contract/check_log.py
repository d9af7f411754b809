#!/usr/bin/env python3
"""Fails when the server's log shows trouble: an ERROR-level line, a response with a 5xx status, or a
panic; and, when given the /metrics text, a 5xx counted there (responses the log may not show).

    check_log.py HERALD_LOG [METRICS_TEXT]

The log is Herald's JSON format (LOG_FORMAT=json); lines that are not JSON (a panic message on
stderr) are read as text. Prints what it found, and counts of WARN lines for information.
"""

import json
import re
import sys
from collections import Counter

PANIC = re.compile(r"panicked at|RUST_BACKTRACE")
METRIC_5XX = re.compile(r'^http_requests_total\{([^}]*)\}\s+(\d+)', re.M)


def main(log_path, metrics_path=None):
    errors, server_errors, panics = [], [], []
    warns = Counter()
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                if PANIC.search(line) or line.startswith("herald:"):
                    panics.append(f"{n}: {line}")
                continue
            level = str(entry.get("level", "")).upper()
            if level == "ERROR":
                errors.append(f"{n}: {line}")
            elif level == "WARN":
                warns[entry.get("message", "")] += 1
            status = entry.get("status")
            if isinstance(status, str) and status.isdigit():
                status = int(status)
            if isinstance(status, int) and status >= 500:
                server_errors.append(f"{n}: {line}")

    metric_5xx = []
    if metrics_path:
        with open(metrics_path, encoding="utf-8") as f:
            text = f.read()
        for labels, count in METRIC_5XX.findall(text):
            m = re.search(r'status="(\d+)"', labels)
            if m and int(m.group(1)) >= 500 and int(count) > 0:
                metric_5xx.append(f"{labels} {count}")

    for title, found in (("ERROR lines", errors), ("5xx responses", server_errors),
                         ("panics and fatal messages", panics), ("5xx counted in /metrics", metric_5xx)):
        if found:
            print(f"server log: {len(found)} {title}:")
            for x in found[:50]:
                print(f"  {x[:2000]}")
            if len(found) > 50:
                print(f"  … and {len(found) - 50} more")
    if warns:
        print(f"server log: {sum(warns.values())} WARN lines (not failures):")
        for msg, count in warns.most_common(10):
            print(f"  {count:5d}  {msg[:200]}")
    if errors or server_errors or panics or metric_5xx:
        return 1
    print("server log: no ERROR line, no 5xx, no panic")
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
