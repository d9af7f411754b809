"""Where each SDK declares its version, and semantic-version arithmetic.

Each SDK has one manifest version (what its registry publishes), a copy of it in code (the
User-Agent's version) where the SDK has one, and a CHANGELOG.md whose top entry is that version.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Tuple

SDKS_DIR = Path(__file__).resolve().parent.parent

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


def parse_semver(version: str) -> Tuple[int, int, int]:
    match = SEMVER.match(version)
    if not match:
        raise ValueError(f"{version!r} is no semantic version")
    return int(match[1]), int(match[2]), int(match[3])


def is_incompatible_bump(released: str, current: str) -> bool:
    """Whether `current` may break what `released` promised.

    That is a new major version; below 1.0.0 a new minor version, as npm's and Composer's caret
    ranges, Cargo and pip's `~=` read 0.x versions (`^0.1.0` never installs 0.2.0).
    """
    old, new = parse_semver(released), parse_semver(current)
    if old[0] == 0 and new[0] == 0:
        return new[1] > old[1]
    return new[0] > old[0]


def _search(path: Path, pattern: str) -> Optional[str]:
    match = re.search(pattern, path.read_text(encoding="utf-8"), re.MULTILINE)
    return match[1] if match else None


def _json_version(path: Path) -> Optional[str]:
    return json.loads(path.read_text(encoding="utf-8")).get("version")


@dataclass(frozen=True)
class Sdk:
    name: str
    manifest: str
    read_manifest: Callable[[Path], Optional[str]]
    code: Optional[str] = None
    code_pattern: Optional[str] = None

    @property
    def directory(self) -> Path:
        return SDKS_DIR / self.name

    def manifest_version(self) -> Optional[str]:
        return self.read_manifest(self.directory / self.manifest)

    def code_version(self) -> Optional[str]:
        if self.code is None:
            return None
        return _search(self.directory / self.code, self.code_pattern)

    def changelog_version(self) -> Optional[str]:
        """The version of the CHANGELOG's first `## ` heading (`## 1.2.0`, `## [1.2.0] - date`)."""
        return _search(self.directory / "CHANGELOG.md", r"\A(?:.*\n)*?## \[?v?([^\]\s]+)")


SDKS = (
    Sdk(
        "python",
        "src/herald_sdk/_version.py",
        lambda path: _search(path, r'^__version__ = "([^"]+)"'),
    ),
    Sdk("js", "package.json", _json_version, "src/version.ts", r'^export const VERSION = "([^"]+)";'),
    Sdk("react", "package.json", _json_version),
    Sdk("go", "herald.go", lambda path: _search(path, r'^const Version = "([^"]+)"')),
    Sdk("php", "composer.json", _json_version, "src/Client.php", r"public const VERSION = '([^']+)';"),
)


def by_name(name: str) -> Sdk:
    for sdk in SDKS:
        if sdk.name == name:
            return sdk
    raise KeyError(name)
