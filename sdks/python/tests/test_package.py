"""The package itself: Python 3.9 syntax, and what it exports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import herald_sdk

SOURCES = sorted((Path(__file__).parents[1] / "src" / "herald_sdk").glob("*.py"))


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_modules_parse_as_python_3_9(source):
    tree = ast.parse(source.read_text(), feature_version=(3, 9))
    assert not any(isinstance(node, ast.Match) for node in ast.walk(tree))


@pytest.mark.parametrize(
    "source", [s for s in SOURCES if s.name not in ("__init__.py", "_version.py")], ids=lambda p: p.name
)
def test_annotations_are_postponed(source):
    # `X | None` and `list[str]` in annotations stay strings on 3.9.
    assert "from __future__ import annotations" in source.read_text()


def test_everything_exported_exists():
    for name in herald_sdk.__all__:
        assert hasattr(herald_sdk, name), name
