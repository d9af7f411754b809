"""Reading openapi/public.json, the document the SDK's models and operations must follow."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Set

REPO = Path(__file__).resolve().parents[3]
DOCUMENT = REPO / "openapi" / "public.json"
VECTORS = REPO / "vectors" / "signatures.json"


@lru_cache(maxsize=None)
def document() -> Dict[str, Any]:
    return json.loads(DOCUMENT.read_text())


def schema(name: str) -> Dict[str, Any]:
    return document()["components"]["schemas"][name]


def ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def properties(name: str) -> Dict[str, Any]:
    """A schema's properties, those of its allOf parts included."""
    found: Dict[str, Any] = {}
    spec = schema(name)
    for part in spec.get("allOf", [spec]):
        if "$ref" in part:
            found.update(properties(ref_name(part["$ref"])))
        else:
            found.update(part.get("properties", {}))
    return found


def required(name: str) -> Set[str]:
    spec = schema(name)
    names: Set[str] = set()
    for part in spec.get("allOf", [spec]):
        names |= required(ref_name(part["$ref"])) if "$ref" in part else set(part.get("required", []))
    return names


def example(name: str) -> Dict[str, Any]:
    """An instance of a schema built from the examples of its properties."""
    return {field: _example_of(spec) for field, spec in properties(name).items()}


def _example_of(spec: Dict[str, Any]) -> Any:
    if "$ref" in spec:
        return example(ref_name(spec["$ref"]))
    if "example" in spec:
        return spec["example"]
    if "examples" in spec:
        return spec["examples"][0]
    for choice in spec.get("oneOf", []):
        if "$ref" in choice:
            return example(ref_name(choice["$ref"]))
    if spec.get("type") == "array":
        return [_example_of(spec["items"])]
    raise AssertionError(f"no example in {spec}")


def operations() -> List[Dict[str, Any]]:
    """Every operation: method, path, operationId, query parameter names, whether it takes an
    Idempotency-Key, and the schema of its success answer."""
    found = []
    for path, item in document()["paths"].items():
        for method, op in item.items():
            params = op.get("parameters", [])
            success = next(code for code in op["responses"] if code.startswith("2"))
            answer = op["responses"][success]["content"]["application/json"]["schema"]
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "operationId": op["operationId"],
                    "query": {p["name"] for p in params if p["in"] == "query"},
                    "idempotency": any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in params),
                    "status": int(success),
                    "answer": ref_name(answer["$ref"]),
                }
            )
    return found


def webhook_schemas() -> Dict[str, str]:
    """Event type → the schema of its body."""
    return {
        event: ref_name(item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"])
        for event, item in document()["webhooks"].items()
    }


@lru_cache(maxsize=None)
def vectors() -> Dict[str, Any]:
    return json.loads(VECTORS.read_text())
