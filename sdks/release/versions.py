"""Each SDK's version: its manifest, its copy in code, and the top entry of its CHANGELOG agree.

    python3 sdks/release/versions.py check      # a table; exit 1 when any disagree
    python3 sdks/release/versions.py get NAME   # the manifest version of one SDK
"""

import argparse
import sys

from manifests import SDKS, by_name, parse_semver


def problems_of(sdk) -> list:
    version = sdk.manifest_version()
    if version is None:
        return [f"no version in {sdk.manifest}"]
    problems = []
    try:
        parse_semver(version)
    except ValueError as error:
        problems.append(f"{sdk.manifest}: {error}")
    if sdk.code is not None and sdk.code_version() != version:
        problems.append(f"{sdk.code} says {sdk.code_version()}, {sdk.manifest} says {version}")
    if sdk.changelog_version() != version:
        problems.append(f"the top entry of CHANGELOG.md is {sdk.changelog_version()}, {sdk.manifest} says {version}")
    return problems


def check() -> int:
    failed = False
    for sdk in SDKS:
        problems = problems_of(sdk)
        state = "ok" if not problems else "MISMATCH"
        manifest = f"sdks/{sdk.name}/{sdk.manifest}"
        print(f"  {sdk.name:<7} {sdk.manifest_version() or '-':<10} {manifest:<38} {state}")
        for problem in problems:
            print(f"            {problem}")
        failed = failed or bool(problems)
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check")
    get = commands.add_parser("get")
    get.add_argument("name")
    args = parser.parse_args()
    if args.command == "check":
        return check()
    version = by_name(args.name).manifest_version()
    if version is None:
        return 1
    print(version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
