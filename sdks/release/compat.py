"""Whether openapi/public.json still serves what each SDK's last release was built against.

    python3 sdks/release/compat.py check OPENAPI     # each SDK against its baseline; exit 1 on a break
    python3 sdks/release/compat.py selftest OPENAPI  # proves check fails on breaks and passes additions
    python3 sdks/release/compat.py record OPENAPI [SDK...]  # after a release of those SDKs (default all)

The baseline (baseline/releases.json) names, per SDK, the version last released and the document it
was released against (baseline/public.<sha256 prefix>.json). Optic (`optic diff --check`, its
breaking-changes rules) compares the baseline document with the current one. Optic checks paths
only, so each webhook event is also given to it as the response of a `POST /webhooks/<event>`: an
SDK receives an event as it receives a response, and the same changes break it (a property
removed, made optional, of another type). A breaking change needs a new major version (below
1.0.0, a new minor version: see manifests.is_incompatible_bump).
"""

import argparse
import copy
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from manifests import SDKS, SDKS_DIR, is_incompatible_bump, parse_semver

RELEASE_DIR = SDKS_DIR / "release"
BASELINE_DIR = RELEASE_DIR / "baseline"
RELEASES = BASELINE_DIR / "releases.json"
OPTIC = RELEASE_DIR / "node_modules" / ".bin" / "optic"

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
OPERATION_LINE = re.compile(r"^[x✔] ((?:GET|PUT|POST|DELETE|OPTIONS|HEAD|PATCH|TRACE) \S+):\s*$")
LOCATION_LINE = re.compile(r"^\s+- (.+?):\s*\w*\s*$")
FAILED_CHECK_LINE = re.compile(r"^\s+x \[([^\]]+)\] (.+?)\s*$")


@dataclass(frozen=True)
class Finding:
    """One breaking change Optic reports: the operation, where in it, the rule and its message."""

    operation: str
    location: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.operation} ({self.location}): {self.message}"


class OpticFailed(Exception):
    pass


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def with_webhooks_as_paths(document: dict) -> dict:
    """The document with each webhook event also served as the response of POST /webhooks/<event>."""
    document = copy.deepcopy(document)
    for event, item in sorted(document.pop("webhooks", {}).items()):
        for method in METHODS:
            operation = item.get(method)
            if operation is None or "requestBody" not in operation:
                continue
            document.setdefault("paths", {})[f"/webhooks/{event}"] = {
                "post": {
                    "operationId": f"receive_{event}",
                    "summary": f"The `{event}` event as an SDK receives it",
                    "responses": {
                        "200": {
                            "description": f"The `{event}` event",
                            "content": operation["requestBody"]["content"],
                        }
                    },
                }
            }
    return document


def parse_optic_report(report: str) -> List[Finding]:
    findings = []
    operation, location = "", ""
    for line in report.splitlines():
        if OPERATION_LINE.match(line):
            operation, location = OPERATION_LINE.match(line)[1], ""
        elif FAILED_CHECK_LINE.match(line):
            match = FAILED_CHECK_LINE.match(line)
            findings.append(Finding(operation, location, match[1], match[2].replace(" This is a breaking change.", "")))
        elif LOCATION_LINE.match(line):
            location = LOCATION_LINE.match(line)[1]
    return findings


def breaking_changes(base: dict, head: dict) -> List[Finding]:
    """The breaking changes from `base` to `head`, as `optic diff --check` finds them."""
    with tempfile.TemporaryDirectory(prefix="herald-compat-") as work:
        for name, document in (("base.json", base), ("head.json", head)):
            Path(work, name).write_text(json.dumps(with_webhooks_as_paths(document), indent=1), encoding="utf-8")
        env = dict(os.environ, OPTIC_TELEMETRY_LEVEL="off", NO_COLOR="1", HOME=work)
        run = subprocess.run(
            [str(OPTIC), "diff", "base.json", "head.json", "--check"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )
    report = run.stdout + run.stderr
    findings = parse_optic_report(report)
    if run.returncode == 0:
        return []
    if not findings:
        raise OpticFailed(f"optic diff exited {run.returncode} without naming a breaking change:\n{report}")
    return findings


def next_incompatible(released: str) -> str:
    major, minor, _ = parse_semver(released)
    return f"0.{minor + 1}.0" if major == 0 else f"{major + 1}.0.0"


def verdict(sdk: str, released: str, current: str, findings: List[Finding]) -> Tuple[bool, str]:
    """Whether `current` of `sdk` may ship given the breaking changes since `released`, and why."""
    if parse_semver(current) < parse_semver(released):
        return False, f"{sdk} {current} is older than its last release {released}"
    if not findings:
        return True, f"{sdk} {current} (released {released}): compatible"
    if is_incompatible_bump(released, current):
        return True, f"{sdk} {current} (released {released}): {len(findings)} breaking changes, allowed by the new version"
    return False, (
        f"{sdk} {current} (released {released}): {len(findings)} breaking changes need at least "
        f"{next_incompatible(released)}"
    )


def releases() -> Dict[str, dict]:
    return load(RELEASES)


def baseline_document(release: dict) -> dict:
    path = BASELINE_DIR / release["openapi"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if release["openapi"] != f"public.{digest[:16]}.json":
        raise SystemExit(f"{path} does not match its name (sha256 {digest})")
    return load(path)


def check(openapi: Path) -> int:
    current = load(openapi)
    recorded = releases()
    findings_by_baseline: Dict[str, List[Finding]] = {}
    failed_baselines = set()
    for sdk in SDKS:
        release = recorded.get(sdk.name)
        if release is None:
            print(f"  FAIL {sdk.name}: no release recorded in {RELEASES.relative_to(SDKS_DIR.parent)}")
            failed_baselines.add(None)
            continue
        if release["openapi"] not in findings_by_baseline:
            findings_by_baseline[release["openapi"]] = breaking_changes(baseline_document(release), current)
        allowed, reason = verdict(sdk.name, release["version"], sdk.manifest_version(), findings_by_baseline[release["openapi"]])
        print(f"  {'ok  ' if allowed else 'FAIL'} {reason}")
        if not allowed:
            failed_baselines.add(release["openapi"])
    for baseline in sorted(b for b in failed_baselines if b and findings_by_baseline[b]):
        print(f"  breaking changes of {openapi} since baseline/{baseline}:")
        for finding in findings_by_baseline[baseline]:
            print(f"    {finding}")
    return 1 if failed_baselines else 0


def record(openapi: Path, names: List[str]) -> int:
    """Records the SDKs named (all when none is) as released now, against `openapi`."""
    content = openapi.read_bytes()
    name = f"public.{hashlib.sha256(content).hexdigest()[:16]}.json"
    (BASELINE_DIR / name).write_bytes(content)
    recorded = releases() if RELEASES.exists() else {}
    for sdk in SDKS:
        if not names or sdk.name in names:
            recorded[sdk.name] = {"version": sdk.manifest_version(), "openapi": name}
            print(f"  {sdk.name} {sdk.manifest_version()} released against baseline/{name}")
    RELEASES.write_text(json.dumps(recorded, indent=2) + "\n", encoding="utf-8")
    for stale in BASELINE_DIR.glob("public.*.json"):
        if stale.name not in {release["openapi"] for release in recorded.values()}:
            stale.unlink()
    return 0


# --- the self-test ---------------------------------------------------------------------------------


def json_body_schema(content: dict) -> Optional[str]:
    """The component name of an application/json body that is a $ref, else None."""
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref.startswith("#/components/schemas/") else None


def is_scalar(schema: dict) -> bool:
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    return any(k in ("string", "integer", "number", "boolean") for k in kinds)


def first_operation_schema(document: dict, body: Callable[[dict], Optional[dict]]) -> str:
    for path in sorted(document["paths"]):
        for method in METHODS:
            operation = document["paths"][path].get(method)
            content = body(operation) if operation else None
            name = json_body_schema(content) if content else None
            if name:
                return name
    raise SystemExit("the self-test found no operation with a JSON body to change")


def response_target(document: dict) -> Tuple[str, str]:
    """A required scalar property of the first operation's success response."""
    schemas = document["components"]["schemas"]

    def success(operation: dict) -> Optional[dict]:
        for status, response in sorted(operation.get("responses", {}).items()):
            if status.startswith("2") and "content" in response:
                return response["content"]
        return None

    name = first_operation_schema(document, success)
    required = schemas[name].get("required", [])
    return name, next(p for p in required if is_scalar(schemas[name]["properties"][p]))


def request_target(document: dict) -> Tuple[str, str]:
    """An optional property of the first request body that has one."""
    schemas = document["components"]["schemas"]
    for path in sorted(document["paths"]):
        for method in METHODS:
            operation = document["paths"][path].get(method) or {}
            name = json_body_schema(operation.get("requestBody", {}).get("content", {}))
            if name:
                optional = [p for p in schemas[name]["properties"] if p not in schemas[name].get("required", [])]
                if optional:
                    return name, optional[0]
    raise SystemExit("the self-test found no request body with an optional property")


def webhook_target(document: dict) -> Tuple[str, str]:
    """A required scalar property of the first webhook event's schema."""
    schemas = document["components"]["schemas"]
    event = document["webhooks"][sorted(document["webhooks"])[0]]["post"]
    name = json_body_schema(event["requestBody"]["content"])
    required = schemas[name].get("required", [])
    return name, next(p for p in required if is_scalar(schemas[name]["properties"][p]))


def remove_property(document: dict, target: Tuple[str, str]) -> None:
    schema = document["components"]["schemas"][target[0]]
    del schema["properties"][target[1]]
    schema["required"] = [p for p in schema.get("required", []) if p != target[1]]


def make_required(document: dict, target: Tuple[str, str]) -> None:
    document["components"]["schemas"][target[0]].setdefault("required", []).append(target[1])


def add_everywhere(document: dict) -> None:
    """Additions only: an optional property on a request, a response and an event; a new operation."""
    schemas = document["components"]["schemas"]
    for name in {request_target(document)[0], response_target(document)[0], webhook_target(document)[0]}:
        schemas[name]["properties"]["selfTestAddition"] = {"type": "string", "description": "Added by the self-test."}
    document["paths"]["/v1/public/self-test-addition"] = {
        "get": {
            "operationId": "self_test_addition",
            "summary": "An operation the self-test adds",
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}},
        }
    }


def selftest(openapi: Path) -> int:
    current = load(openapi)
    response, request, webhook = response_target(current), request_target(current), webhook_target(current)
    cases = [
        (f"response property {'.'.join(response)} removed", lambda d: remove_property(d, response), response[1]),
        (f"optional request property {'.'.join(request)} made required", lambda d: make_required(d, request), request[1]),
        (f"webhook event property {'.'.join(webhook)} removed", lambda d: remove_property(d, webhook), webhook[1]),
        ("additions only (request, response and event properties, an operation)", add_everywhere, None),
    ]
    failures = []
    for title, mutate, changed in cases:
        head = copy.deepcopy(current)
        mutate(head)
        findings = breaking_changes(current, head)
        if changed is None:
            expectations = [(not findings, "no breaking change is reported")]
            expectations += [(verdict("sdk", "0.1.0", "0.1.0", findings)[0], "0.1.0 may ship unchanged")]
        else:
            named = [f for f in findings if changed in f.location or f"'{changed}'" in f.message]
            expectations = [
                (bool(named), f"a breaking change naming {changed} is reported"),
                (not verdict("sdk", "0.1.0", "0.1.0", findings)[0], "0.1.0 -> 0.1.0 fails"),
                (not verdict("sdk", "0.1.0", "0.1.1", findings)[0], "0.1.0 -> 0.1.1 fails"),
                (verdict("sdk", "0.1.0", "0.2.0", findings)[0], "0.1.0 -> 0.2.0 passes"),
                (not verdict("sdk", "1.4.2", "1.5.0", findings)[0], "1.4.2 -> 1.5.0 fails"),
                (verdict("sdk", "1.4.2", "2.0.0", findings)[0], "1.4.2 -> 2.0.0 passes"),
            ]
        missed = [expectation for holds, expectation in expectations if not holds]
        example = f"; e.g. {findings[0]}" if findings else ""
        print(f"  {'ok  ' if not missed else 'FAIL'} {title}: {len(findings)} breaking changes{example}")
        failures += [f"{title}: expected {expectation}" for expectation in missed]
    for failure in failures:
        print(f"  {failure}")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("check", "selftest", "record"))
    parser.add_argument("openapi", type=Path)
    parser.add_argument("sdks", nargs="*", help="record: the SDKs released (python js react go php)")
    args = parser.parse_args()
    if args.sdks and args.command != "record":
        parser.error("only record takes SDK names")
    unknown = set(args.sdks) - {sdk.name for sdk in SDKS}
    if unknown:
        parser.error(f"unknown SDKs: {' '.join(sorted(unknown))}")
    try:
        if args.command == "record":
            return record(args.openapi, args.sdks)
        return {"check": check, "selftest": selftest}[args.command](args.openapi)
    except OpticFailed as error:
        print(error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
