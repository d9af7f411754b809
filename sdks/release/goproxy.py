"""Lays the Go module out as the Go module proxy serves it.

    python3 sdks/release/goproxy.py MODULE_DIR VERSION OUT_DIR

writes OUT_DIR/<module>/@v/{list, v<version>.info, v<version>.mod, v<version>.zip}: the zip holds
the module's files (those git tracks or would add: not what .gitignore excludes) under
`<module>@v<version>/`, as `go mod download` extracts it. OUT_DIR is then a GOPROXY=file://…
directory. The archive is reproducible: sorted entries, fixed dates, the .info's time that of the
last commit (or SOURCE_DATE_EPOCH).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from manifests import parse_semver

ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def module_path(module_dir: Path) -> str:
    match = re.search(r"^module\s+(\S+)", (module_dir / "go.mod").read_text(encoding="utf-8"), re.MULTILINE)
    if not match:
        raise SystemExit(f"{module_dir}/go.mod names no module")
    return match[1]


def check_major_suffix(module: str, version: str) -> None:
    """From v2 on, Go requires the major version at the end of the module path (`…/v2`)."""
    major = parse_semver(version)[0]
    suffix = re.search(r"/v(\d+)$", module)
    if major >= 2 and (not suffix or int(suffix[1]) != major):
        raise SystemExit(f"version {version} needs the module path to end in /v{major}, it is {module}")
    if major < 2 and suffix:
        raise SystemExit(f"version {version} cannot have a module path ending in /v{suffix[1]}")


def module_files(module_dir: Path) -> list:
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],
        cwd=module_dir,
        check=True,
        capture_output=True,
    ).stdout.decode()
    files = sorted(name for name in listing.split("\0") if name and (module_dir / name).is_file())
    nested = {str(Path(name).parent) for name in files if Path(name).name == "go.mod" and "/" in name}
    files = [name for name in files if not any(name.startswith(prefix + "/") for prefix in nested)]
    folded = {}
    for name in files:
        if name.lower() in folded:
            raise SystemExit(f"{name} and {folded[name.lower()]} differ only in case, which a module zip refuses")
        folded[name.lower()] = name
    return files


def release_time() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        epoch = subprocess.run(["git", "log", "-1", "--format=%ct"], check=True, capture_output=True, text=True).stdout
    return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_proxy(module_dir: Path, version: str, out_dir: Path) -> Path:
    module = module_path(module_dir)
    check_major_suffix(module, version)
    tag = f"v{version}"
    at_v = out_dir / module / "@v"
    at_v.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(at_v / f"{tag}.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for name in module_files(module_dir):
            entry = zipfile.ZipInfo(f"{module}@{tag}/{name}", ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, (module_dir / name).read_bytes())
    (at_v / f"{tag}.mod").write_bytes((module_dir / "go.mod").read_bytes())
    (at_v / f"{tag}.info").write_text(json.dumps({"Version": tag, "Time": release_time()}, separators=(",", ":")) + "\n")
    (at_v / "list").write_text(tag + "\n")
    return at_v


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("module_dir", type=Path)
    parser.add_argument("version")
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    print(write_proxy(args.module_dir.resolve(), args.version, args.out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
